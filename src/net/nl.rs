//! rtnetlink plumbing: run a future with a fresh netlink connection, either in
//! the caller's network namespace or inside the netns of a process.
//!
//! A netlink socket belongs to the netns of the thread that opened it
//! (rust-netlink/rtnetlink#68), so namespace-side work runs on a dedicated
//! std::thread that has `setns`'d into `/proc/PID/ns/net` and owns its own
//! tokio current_thread runtime. The caller's thread never changes namespace.

use super::error::{NetError, Result};
use futures::TryStreamExt;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::{Handle, LinkUnspec};
use std::fs::File;
use std::future::Future;

/// Negative errno carried by a netlink error, e.g. `-libc::EEXIST`.
pub fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(m.raw_code()),
        _ => None,
    }
}

/// True when the error is the given errno (positive value, e.g. `libc::EEXIST`).
pub fn is_errno(e: &rtnetlink::Error, code: i32) -> bool {
    errno(e).map(|c| c == -code || c == code).unwrap_or(false)
}

/// Runs `f(handle)` on a current_thread runtime with a new netlink
/// connection bound to the current thread's netns.
pub fn run<F, Fut, T>(f: F) -> Result<T>
where
    F: FnOnce(Handle) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| NetError::io("creating tokio runtime", e))?;
    rt.block_on(async move {
        let (conn, handle, _) =
            rtnetlink::new_connection().map_err(|e| NetError::io("opening netlink socket", e))?;
        let task = tokio::spawn(conn);
        let r = f(handle).await;
        task.abort();
        r
    })
}

/// Opens `/proc/PID/ns/net`.
pub fn open_netns(pid: u32) -> Result<File> {
    let p = format!("/proc/{pid}/ns/net");
    File::open(&p).map_err(|e| NetError::io(format!("opening {p}"), e))
}

/// Runs `f(handle)` on a new thread that joined the netns `ns` first.
pub fn run_in_netns<F, Fut, T>(ns: &File, f: F) -> Result<T>
where
    F: FnOnce(Handle) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T>>,
    T: Send + 'static,
{
    let ns = ns.try_clone().map_err(|e| NetError::io("duplicating netns fd", e))?;
    let h = std::thread::Builder::new()
        .name("bocker-netns".into())
        .spawn(move || {
            // only this thread changes namespace
            crate::sys::ns::setns(&ns, libc::CLONE_NEWNET).map_err(|e| NetError::io("setns into container netns", e))?;
            run(f)
        })
        .map_err(|e| NetError::io("spawning netns thread", e))?;
    h.join().map_err(|_| NetError::Config("netns thread panicked".into()))?
}

/// Finds a link by name; `Ok(None)` when it does not exist.
pub async fn link_by_name(h: &Handle, name: &str) -> Result<Option<LinkMessage>> {
    let mut s = h.link().get().match_name(name.to_string()).execute();
    match s.try_next().await {
        Ok(m) => Ok(m),
        Err(e) if is_errno(&e, libc::ENODEV) => Ok(None),
        Err(e) => Err(NetError::nl(format!("looking up link {name}"), e)),
    }
}

/// Whether the link is administratively up.
pub fn is_up(m: &LinkMessage) -> bool {
    m.header.flags.contains(LinkFlags::Up)
}

/// Whether the link is a Linux bridge.
pub fn is_bridge(m: &LinkMessage) -> bool {
    use rtnetlink::packet_route::link::{InfoKind, LinkInfo};
    m.attributes.iter().any(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().any(|i| matches!(i, LinkInfo::Kind(InfoKind::Bridge))),
        _ => false,
    })
}

/// Name of a link message.
pub fn link_name(m: &LinkMessage) -> Option<&str> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.as_str()),
        _ => None,
    })
}

/// Sets link `index` up.
pub async fn set_up(h: &Handle, index: u32, what: &str) -> Result<()> {
    h.link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(|e| NetError::nl(format!("setting {what} up"), e))
}

/// Deletes the link called `name`; a missing link is fine. Returns whether
/// something was deleted.
pub async fn delete_link(h: &Handle, name: &str) -> Result<bool> {
    let Some(m) = link_by_name(h, name).await? else { return Ok(false) };
    match h.link().del(m.header.index).execute().await {
        Ok(()) => Ok(true),
        Err(e) if is_errno(&e, libc::ENODEV) => Ok(false),
        Err(e) => Err(NetError::nl(format!("deleting link {name}"), e)),
    }
}
