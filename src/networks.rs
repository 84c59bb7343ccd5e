//! User networks of a state root: `$ROOT/networks/NAME.json`, one record
//! each (name, id, bridge, subnet, gateway, internal, labels). The bridge
//! is host-wide (`net::usernet` keeps the host's claims, so no two roots
//! pick one subnet or bridge). `create` claims, makes the bridge and then
//! links the record into place; a create killed half-way left a claim (and
//! maybe a bridge) without a record, which `prune` removes.
use crate::net::usernet::{self, Claim};
use crate::net::{Ipv4Net, NetConfig};
use crate::state::{atomic, io_err, StateError, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, StateError>;

/// The default network's name.
pub const DEFAULT: &str = "bridge";

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NetworkRecord {
    pub name: String,
    pub id: String,
    pub driver: String,
    /// the Linux bridge (`bk-` + 12 hex digits of the id)
    pub bridge: String,
    pub subnet: String,
    pub gateway: Ipv4Addr,
    pub internal: bool,
    /// forwarding beyond the host (and MASQUERADE): not internal and
    /// `BOCKER_NET_EGRESS` not 0 when the network was created
    #[serde(default)]
    pub egress: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub created: f64,
}

impl NetworkRecord {
    /// What the network code needs to set the bridge up.
    pub fn config(&self) -> Result<NetConfig> {
        let subnet: Ipv4Net = self.subnet.parse().map_err(|e: crate::net::NetError| StateError::Invalid(e.to_string()))?;
        let mut cfg = NetConfig::new(&self.bridge, subnet, self.egress).map_err(|e| StateError::Invalid(e.to_string()))?;
        cfg.gateway = self.gateway;
        cfg.isolated = true;
        Ok(cfg)
    }
}

/// What `network create` asks for.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct CreateOptions {
    pub name: String,
    #[serde(default)]
    pub driver: Option<String>,
    #[serde(default)]
    pub subnet: Option<String>,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl Store {
    pub fn networks_dir(&self) -> PathBuf {
        self.root().join("networks")
    }
    fn network_path(&self, name: &str) -> PathBuf {
        self.networks_dir().join(format!("{name}.json"))
    }
}

fn net_err(e: crate::net::NetError) -> StateError {
    StateError::Invalid(e.to_string())
}

fn env_egress() -> bool {
    !matches!(std::env::var("BOCKER_NET_EGRESS").as_deref().map(str::trim), Ok("0" | "false" | "no"))
}

/// Checks what `create` would be given, without touching anything.
pub fn check_options(o: &CreateOptions) -> Result<(Option<Ipv4Net>, Option<Ipv4Addr>)> {
    if usernet::RESERVED.contains(&o.name.as_str()) {
        return Err(StateError::Conflict(format!("network with name {} already exists (a pre-defined network)", o.name)));
    }
    if !usernet::valid_name(&o.name) {
        return Err(StateError::Invalid(format!("invalid network name \"{}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", o.name)));
    }
    if let Some(d) = o.driver.as_deref().filter(|d| *d != "bridge") {
        return Err(StateError::Invalid(format!("plugin \"{d}\" not found (only the bridge driver is supported)")));
    }
    let subnet = o.subnet.as_deref().map(|s| s.parse::<Ipv4Net>().map_err(net_err)).transpose()?;
    if subnet.is_some_and(|s| s.prefix > 30) {
        return Err(StateError::Invalid(format!("subnet {} is too small: need at least a /30", o.subnet.as_deref().unwrap_or_default())));
    }
    let gateway = match o.gateway.as_deref() {
        None => None,
        Some(g) => {
            let ip: Ipv4Addr = g.parse().map_err(|_| StateError::Invalid(format!("invalid gateway address {g}")))?;
            let Some(sub) = subnet else {
                return Err(StateError::Invalid("--gateway needs --subnet".into()));
            };
            if !sub.contains(ip) || ip == sub.network() || ip == sub.broadcast() {
                return Err(StateError::Invalid(format!("gateway {ip} is not a host address of {sub}")));
            }
            Some(ip)
        }
    };
    Ok((subnet, gateway))
}

/// Creates a network: claim a subnet host-wide, make the bridge and its
/// rules, then put the record in place (a name already taken is refused).
pub fn create(store: &Store, o: &CreateOptions) -> Result<NetworkRecord> {
    let (want, gateway) = check_options(o)?;
    if store.network_path(&o.name).exists() {
        return Err(StateError::Conflict(format!("network with name {} already exists", o.name)));
    }
    let id = crate::state::ids::random_hex(32);
    let bridge = usernet::bridge_name(&id);
    let default = NetConfig::from_env().map(|c| vec![c.subnet]).unwrap_or_default();
    let _lock = usernet::lock().map_err(net_err)?;
    let subnet = usernet::choose(want, &default).map_err(net_err)?;
    let gateway = match gateway {
        Some(g) => g,
        None => subnet.hosts().map(|(first, _)| first).ok_or_else(|| StateError::Invalid(format!("subnet {subnet} is too small")))?,
    };
    let rec = NetworkRecord {
        name: o.name.clone(),
        id: id.clone(),
        driver: "bridge".into(),
        bridge: bridge.clone(),
        subnet: subnet.to_string(),
        gateway,
        internal: o.internal,
        egress: !o.internal && env_egress(),
        labels: o.labels.clone(),
        created: crate::state::now(),
    };
    let cfg = rec.config()?;
    usernet::claim(&Claim { bridge: bridge.clone(), subnet, root: store.root().to_path_buf(), name: o.name.clone() }).map_err(net_err)?;
    crate::crashpoint::hit("network.claimed");
    let undo = |e: StateError| {
        let _ = crate::net::reset(store.root(), &cfg);
        let _ = usernet::unclaim(&bridge);
        e
    };
    crate::net::bridge::ensure_bridge(&cfg).map_err(|e| undo(net_err(e)))?;
    crate::crashpoint::hit("network.bridged");
    std::fs::create_dir_all(store.networks_dir()).map_err(|e| undo(io_err(&store.networks_dir())(e)))?;
    // written aside, then linked into place: a name taken meanwhile fails
    let tmp = store.networks_dir().join(format!(".{}.{}.tmp", o.name, std::process::id()));
    atomic::write_json(&tmp, &rec).map_err(undo)?;
    let linked = std::fs::hard_link(&tmp, store.network_path(&o.name));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(rec),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(undo(StateError::Conflict(format!("network with name {} already exists", o.name))))
        }
        Err(e) => Err(undo(io_err(&store.network_path(&o.name))(e))),
    }
}

/// A network by name, full id or id prefix (not the default one).
pub fn get(store: &Store, name: &str) -> Result<NetworkRecord> {
    if usernet::valid_name(name) {
        if let Some(r) = atomic::read_json_if_exists::<NetworkRecord>(&store.network_path(name))? {
            return Ok(r);
        }
    }
    let by_id: Vec<NetworkRecord> = list(store)?.into_iter().filter(|r| !name.is_empty() && r.id.starts_with(name)).collect();
    match by_id.len() {
        1 => Ok(by_id.into_iter().next().expect("one")),
        0 => Err(StateError::NotFound(format!("No such network: {name}"))),
        _ => Err(StateError::Conflict(format!("network {name} is ambiguous ({} matches)", by_id.len()))),
    }
}

/// Every user network of the root, by name.
pub fn list(store: &Store) -> Result<Vec<NetworkRecord>> {
    let dir = store.networks_dir();
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(&dir)(e)),
    };
    let mut v = Vec::new();
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with('.') || !n.ends_with(".json") {
            continue;
        }
        if let Ok(r) = atomic::read_json::<NetworkRecord>(&e.path()) {
            v.push(r);
        }
    }
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}

/// Who uses a network: this root's containers (running or not) that name
/// it, and running containers of other roots holding an address on its
/// bridge (`ROOT:ID`).
pub fn users(store: &Store, rec: &NetworkRecord) -> Vec<String> {
    let mut out: Vec<String> = store
        .list_containers()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.networks.iter().any(|n| n.name == rec.name))
        .map(|c| c.name.clone().unwrap_or(c.id))
        .collect();
    if let Ok(cfg) = rec.config() {
        let leases = crate::net::ipam::leases(crate::net::ipam::host_base(), &cfg).unwrap_or_default();
        out.extend(leases.into_iter().filter(|(_, h)| h.root != store.root() && runs(h)).map(|(_, h)| format!("{}:{}", h.root.display(), h.id)));
    }
    out
}

/// Whether the holder of a lease (a container of another root) runs.
fn runs(h: &crate::net::ipam::Holder) -> bool {
    Store::open_existing(&h.root)
        .and_then(|s| s.load_state(&h.id).ok())
        .is_some_and(|st| st.status == crate::state::containers::Status::Running && st.alive())
}

/// Removes a network nobody uses: record first, then bridge, rules,
/// leases, stamp and claim (a crash in between leaves a claim without a
/// record: `prune`'s).
pub fn remove(store: &Store, name: &str) -> Result<NetworkRecord> {
    if usernet::RESERVED.contains(&name) {
        return Err(StateError::Conflict(format!("{name} is a pre-defined network and cannot be removed")));
    }
    let rec = get(store, name)?;
    let users = users(store, &rec);
    if !users.is_empty() {
        return Err(StateError::Conflict(format!("network {} is in use by {}", rec.name, users.join(", "))));
    }
    let cfg = rec.config()?;
    let _lock = usernet::lock().map_err(net_err)?;
    let p = store.network_path(&rec.name);
    std::fs::remove_file(&p).map_err(io_err(&p))?;
    crate::crashpoint::hit("network.unrecorded");
    crate::net::reset(store.root(), &cfg).map_err(net_err)?;
    usernet::unclaim(&rec.bridge).map_err(net_err)?;
    Ok(rec)
}

/// Removes every user network nobody uses, and what creates killed
/// half-way left (a claim of this root without a record: its bridge,
/// rules and claim). Returns the names removed.
pub fn prune(store: &Store) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for r in list(store)? {
        if users(store, &r).is_empty() && remove(store, &r.name).is_ok() {
            out.push(r.name);
        }
    }
    let _lock = usernet::lock().map_err(net_err)?;
    let records = list(store)?;
    for c in usernet::claims_of(store.root()) {
        if records.iter().any(|r| r.bridge == c.bridge) {
            continue;
        }
        if let Ok(mut cfg) = NetConfig::new(&c.bridge, c.subnet, false) {
            cfg.isolated = true;
            crate::net::reset(store.root(), &cfg).map_err(net_err)?;
        }
        usernet::unclaim(&c.bridge).map_err(net_err)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    fn opts(name: &str) -> CreateOptions {
        CreateOptions { name: name.into(), ..Default::default() }
    }
    #[test]
    fn options_are_checked() {
        for reserved in ["bridge", "none", "host"] {
            assert!(matches!(check_options(&opts(reserved)), Err(StateError::Conflict(_))), "{reserved}");
        }
        assert!(check_options(&opts("-bad")).is_err());
        assert!(check_options(&opts("good.net_1")).is_ok());
        let mut o = opts("n");
        o.subnet = Some("10.5.0.0/24".into());
        o.gateway = Some("10.5.0.254".into());
        assert_eq!(check_options(&o).unwrap().1, Some("10.5.0.254".parse().unwrap()));
        o.gateway = Some("10.6.0.1".into());
        assert!(check_options(&o).is_err());
        o.gateway = Some("10.5.0.255".into());
        assert!(check_options(&o).is_err());
        o.subnet = None;
        assert!(check_options(&o).is_err(), "gateway without subnet");
        let mut o = opts("n");
        o.driver = Some("overlay".into());
        assert!(check_options(&o).is_err());
        o.driver = None;
        o.subnet = Some("10.5.0.0/31".into());
        assert!(check_options(&o).is_err());
    }
}
