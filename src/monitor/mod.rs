//! Running a container of the store: `launch` (the CLI side of `bocker
//! run`/`start`: reclaims what a dead run held, re-executes bocker as the
//! monitor) and `shim` (the monitor: the record turned into an OCI spec by
//! `crate::oci`, the network, the init spawned by `crate::runtime`, stdio,
//! the exit status; `slim`: what a detached container's monitor gives back
//! once the container runs). It sits above `container`, `oci` and `runtime`,
//! which it drives.
pub mod attach;
pub mod attach_client;
pub mod detach_keys;
pub mod exec_session;
pub mod health;
pub mod launch;
pub mod pending;
pub mod relay;
pub mod shim;
pub mod slim;

use crate::state::Store;

/// Hidden subcommands run by re-executing the binary: the monitor's
/// `__shim`, then the runtime's own.
pub fn hidden_entry(args: &[String]) -> Option<u8> {
    match args.get(1).map(String::as_str) {
        Some("__shim") => Some(shim::main(args)),
        _ => crate::runtime::hidden_entry(args),
    }
}

/// The entry of `bocker-monitor`: the hidden entry points, once the
/// caller is known to be bocker of the same build (its id in the
/// environment); a stale monitor beside a newer bocker refuses.
pub fn monitor_binary_entry(args: &[String]) -> u8 {
    // started as /proc/self/fd/N: its name in ps would be "N"
    let _ = nix::sys::prctl::set_name(c"bocker-monitor");
    let caller = std::env::var(crate::runtime::sealed_exe::BUILD_ID_ENV).unwrap_or_default();
    if caller != crate::BUILD_ID {
        let msg = format!(
            "bocker-monitor (build {}) was started by bocker of build {:?}: install both from one build",
            crate::BUILD_ID,
            caller
        );
        let detached = args.get(1).map(String::as_str) == Some("__shim") && args.get(4).map(String::as_str) == Some("detach");
        return shim::report_failure(detached, 125, &msg);
    }
    // kept in the environment: the helpers the monitor starts from its
    // own binary (the port proxies) pass the same check; the container's
    // process gets the environment of its spec, not this one
    match hidden_entry(args) {
        Some(code) => code,
        None => {
            eprintln!("bocker-monitor: not a monitor entry point (bocker starts this binary)");
            125
        }
    }
}

/// The other containers of the store, as networking sees them.
struct StorePeers<'a> {
    store: &'a Store,
    /// The container being set up (not its own neighbour).
    id: &'a str,
}

impl crate::runtime::network::Peers for StorePeers<'_> {
    fn is_alive(&self, holder: &crate::net::ipam::Holder) -> bool {
        crate::container::lease_holder_alive(self.store, holder)
    }

    fn neighbours(&self, bridge: &str) -> Vec<(std::net::Ipv4Addr, String)> {
        let mut out = Vec::new();
        let Ok(all) = crate::container::list(self.store) else { return out };
        for other in all {
            if other.record.id == self.id || !other.running {
                continue;
            }
            let Some(st) = &other.state.net else { continue };
            if st.bridge.as_deref() != Some(bridge) {
                continue;
            }
            if let Some(ip) = st.ip {
                if let Some(n) = &other.record.name {
                    out.push((ip, n.clone()));
                }
                out.push((ip, other.record.hostname.clone()));
            }
        }
        out
    }
}
