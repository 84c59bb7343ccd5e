//! The shim (monitor): `bocker __shim ROOT ID fg|detach` (or `__shim ROOT
//! ID_SLOT pending CONTROL REPORT`, started ahead: `super::pending`). A fresh,
//! single-threaded process per container: it creates the cgroup, clones the
//! container's init into new namespaces, keeps the log, forwards signals,
//! records the exit status and cleans up. With `detach` it starts its own
//! session, reports `Message::Started` (or the failure) on stdout and
//! outlives the CLI.
use crate::state::containers::Status;
use crate::runtime::init::InitSpec;
use crate::runtime::rootfs::RootSource;
use crate::runtime::message::Message;
use crate::runtime::term::{copy_winsize, pump, Pump, RawMode};
use crate::runtime::{network, RuntimeError};
use crate::cgroup::ContainerCgroup;
use crate::state::containers::NsMode;
use crate::state::containers::{process_start_time, ContainerRecord, ContainerState};
use crate::state::supervision::Backoff;
use crate::state::Store;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

fn pipe() -> Result<(OwnedFd, OwnedFd), RuntimeError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| RuntimeError::Setup(format!("pipe: {e}")))
}

pub fn main(args: &[String]) -> u8 {
    if args.get(4).map(String::as_str) == Some("pending") {
        return match super::pending::wait_for_container(args) {
            super::pending::Told::Run(args) => main(&args),
            super::pending::Told::Nothing => 0,
            super::pending::Told::Broken(e) => {
                eprintln!("bocker: monitor: {e}");
                125
            }
        };
    }
    let (Some(root), Some(id)) = (args.get(2), args.get(3)) else {
        eprintln!("bocker: __shim ROOT ID [fg|detach]");
        return 125;
    };
    crate::trace::mark("monitor start");
    let detach = args.get(4).map(|s| s == "detach").unwrap_or(false);
    if detach {
        let _ = nix::unistd::setsid();
    }
    let mut report = if detach { None } else { exit_report_pipe(args) };
    let store = match Store::open(root) {
        Ok(s) => s,
        Err(e) => return report_failure(detach, 125, &e.to_string()),
    };
    let c = match store.load_container(id) {
        Ok(c) => c,
        Err(e) => return report_failure(detach, 125, &e.to_string()),
    };
    // the restart policy's loop: each run is a start again (fresh
    // namespaces, same rootfs, cgroup and network set up anew)
    let mut c = c;
    // the attach socket lives as long as the monitor, across restarts
    let mut attach = match super::attach::Attachments::bind(&store.container_dir(&c.id), c.tty, c.stdin_once) {
        Ok(a) => Some(a),
        Err(e) => {
            if !detach {
                eprintln!("bocker: attach socket: {e}");
            }
            None
        }
    };
    let mut restarts = 0u32;
    let mut backoff = Backoff::default();
    loop {
        let began = std::time::Instant::now();
        let (code, restarting, trash) = match run(&store, &c, detach, restarts, attach.as_mut()) {
            Ok(exit) => (exit.code, exit.restarting, exit.trash),
            Err(e) => {
                let code = e.0;
                let r = failed(&store, &c, detach, restarts, e);
                finish_attached(attach.as_mut(), code);
                break r;
            }
        };
        if !restarting {
            finish_attached(attach.as_mut(), code);
            if let Some(pipe) = report.take() {
                report_exit(pipe, code);
            }
            if let Some(t) = trash {
                let _ = crate::storage::remove_tree(&t);
            }
            return code as u8;
        }
        if !wait_backoff(&store, &c.id, backoff.next(began.elapsed())) {
            // the user stopped it meanwhile: it stays stopped
            if let Ok(mut st) = store.load_state(&c.id) {
                st.status = Status::Exited;
                let _ = store.save_state(&c.id, &st);
            }
            return code as u8;
        }
        // removed meanwhile (`rm -f`): nothing to run
        match store.load_container(&c.id) {
            Ok(rec) => c = rec,
            Err(_) => return code as u8,
        }
        restarts += 1;
        crate::container::events::emit(&store, &c, "restart", &[]);
    }
}

/// The container ended for good: the attached clients get what they are
/// owed, then their connection ends.
fn finish_attached(attach: Option<&mut super::attach::Attachments>, status: i32) {
    if let Some(a) = attach {
        a.finish(std::time::Duration::from_secs(2), Some(status));
    }
}

/// Sleeps out a restart's backoff, watching for a stop by the user;
/// false if one came.
fn wait_backoff(store: &Store, id: &str, delay: std::time::Duration) -> bool {
    let end = std::time::Instant::now() + delay;
    loop {
        if store.user_stopped(id) || !store.container_config_path(id).exists() {
            return false;
        }
        let now = std::time::Instant::now();
        if now >= end {
            return true;
        }
        std::thread::sleep((end - now).min(std::time::Duration::from_millis(20)));
    }
}

/// A run that failed before its process ran: recorded as exited with
/// the error, reported to the CLI.
fn failed(store: &Store, c: &ContainerRecord, detach: bool, restarts: u32, (code, msg): (i32, String)) -> u8 {
    let st = ContainerState {
        status: Status::Exited,
        finished: Some(crate::state::now()),
        exit_code: Some(code),
        error: Some(msg.clone()),
        restart_count: restarts,
        ..Default::default()
    };
    crate::container::events::emit(store, c, "die", &[("exitCode", code.to_string())]);
    let _ = store.save_state(&c.id, &st);
    if c.auto_remove {
        let _ = store.delete_container(c);
    }
    report_failure(detach, code, &msg)
}

/// How a run ended: the exit status, whether the restart policy runs it
/// again (the state says `restarting` then), and the folder of a --rm
/// container, already out of the store, still to be deleted.
struct Exit {
    code: i32,
    restarting: bool,
    trash: Option<std::path::PathBuf>,
}

/// The pipe on which a foreground monitor tells the CLI the exit
/// (`Message::Exited`), so that the CLI returns before the monitor's last
/// deletes and its own exit: the descriptor named by `__shim`'s 6th
/// argument, inherited from the CLI (`launch::start`). None without one, or
/// when it is not a pipe.
fn exit_report_pipe(args: &[String]) -> Option<std::fs::File> {
    let fd: RawFd = args.get(5)?.parse().ok().filter(|fd| *fd > 2)?;
    let owned = crate::sys::fd::adopt(fd).ok()?;
    // the container's init is cloned from this process: not its to keep
    let _ = nix::fcntl::fcntl(&owned, nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC));
    let file = std::fs::File::from(owned);
    use std::os::unix::fs::FileTypeExt;
    file.metadata().ok().filter(|m| m.file_type().is_fifo())?;
    Some(file)
}

/// Tells the CLI the exit, after giving up the terminal (the CLI's caller
/// waits for the end of its output, which this process holds too).
fn report_exit(pipe: std::fs::File, code: i32) {
    let null = dev_null();
    for fd in 0..3 {
        let _ = crate::sys::fd::dup2(null.as_raw_fd(), fd);
    }
    let _ = Message::Exited { code }.send(pipe);
}

pub(super) fn report_failure(detach: bool, code: i32, msg: &str) -> u8 {
    if detach {
        let _ = Message::failed(code, msg).send(std::io::stdout());
    } else {
        eprintln!("bocker: {msg}");
    }
    code.clamp(0, 255) as u8
}

/// Files bind-mounted over the image's /etc/hostname and /etc/hosts.
fn write_etc_files(store: &Store, c: &ContainerRecord, extra: &[(String, String)]) -> Result<Vec<(String, std::path::PathBuf)>, RuntimeError> {
    let dir = store.container_dir(&c.id);
    let mut out = Vec::new();
    let mut files = vec![("/etc/hostname".to_string(), format!("{}\n", c.hostname))];
    files.extend(extra.iter().cloned());
    if !files.iter().any(|(n, _)| n == "/etc/hosts") {
        files.push((
            "/etc/hosts".into(),
            format!("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{}\n", c.hostname),
        ));
    }
    for (name, content) in files {
        let host = dir.join(name.trim_start_matches("/etc/"));
        std::fs::write(&host, content).map_err(|e| RuntimeError::Setup(format!("{}: {e}", host.display())))?;
        out.push((name, host));
    }
    Ok(out)
}

enum Stdio {
    Pipes { out_r: OwnedFd, err_r: OwnedFd, in_w: Option<OwnedFd>, child: [OwnedFd; 3] },
    Pty { console: OwnedFd, child_console: OwnedFd },
}

enum ParentIo {
    /// `in_w`: the container's stdin pipe, fed from ours with -i
    Pipes { out_r: OwnedFd, err_r: OwnedFd, in_w: Option<OwnedFd> },
    /// waiting for the pty master from the container
    Console(OwnedFd),
    Pty { master: OwnedFd },
}

/// Receives the pty master that init sends over the console socket.
fn receive_master(sock: &OwnedFd) -> Option<OwnedFd> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut buf = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC).ok()?;
    for c in msg.cmsgs().ok()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(fd) = fds.first() {
                return crate::sys::fd::adopt(*fd).ok(); // just received: ours alone
            }
        }
    }
    None
}

fn run(store: &Store, c: &ContainerRecord, detach: bool, restarts: u32, mut attach: Option<&mut super::attach::Attachments>) -> Result<Exit, (i32, String)> {
    let fail = |e: RuntimeError| (125, e.to_string());
    crate::crashpoint::hit("start.monitor");
    let cdir = store.container_dir(&c.id);
    let upper = cdir.join("upper");
    let work = cdir.join("work");
    let rootfs = cdir.join("rootfs");
    for d in [&upper, &work, &rootfs] {
        std::fs::create_dir_all(d).map_err(|e| (125, format!("{}: {e}", d.display())))?;
    }
    let mount_options = crate::storage::overlay::mount_options(
        &c.layers,
        &upper.to_string_lossy(),
        &work.to_string_lossy(),
    )
    .map_err(|e| (125, e))?;
    let mut log = crate::logs::LogWriter::open_with(&store.container_log_path(&c.id), &c.log).map_err(|e| (125, format!("open log: {e}")))?;

    let net_files = network::etc_files(store, c).map_err(fail)?;
    write_etc_files(store, c, &net_files).map_err(fail)?;
    let policy = crate::runtime::devices::cgroup_policy(&c.security).map_err(|e| (125, e))?;
    crate::trace::mark("monitor: etc files written");
    let cgroup = ContainerCgroup::create(&c.id, &c.limits, &policy).map_err(|e| (125, e.to_string()))?;
    let guard = Cleanup { cgroup: Some(&cgroup) };
    crate::trace::mark("monitor: cgroup made");
    crate::crashpoint::hit("start.cgroup");

    // our own stdin feeds the container's in the foreground; attached
    // clients do whenever it is open (Docker's OpenStdin)
    let attach_stdin = c.interactive && !detach;
    let stdio = if c.tty {
        // the terminal is made inside the container's own devpts by init,
        // which sends its master end back over this socket (as runc does)
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC)
            .map_err(|e| (125, format!("console socket: {e}")))?;
        Stdio::Pty { console: ours, child_console: theirs }
    } else {
        let (out_r, out_w) = pipe().map_err(fail)?;
        let (err_r, err_w) = pipe().map_err(fail)?;
        // never our own stdin (it may be the caller's terminal): a pipe
        // fed from it with -i, /dev/null otherwise
        let (stdin, in_w) = if c.interactive {
            let (in_r, in_w) = pipe().map_err(fail)?;
            let _ = crate::sys::fd::set_nonblocking(std::os::fd::AsFd::as_fd(&in_w));
            (in_r, Some(in_w))
        } else {
            (std::fs::File::open("/dev/null").map_err(|e| (125, e.to_string()))?.into(), None)
        };
        Stdio::Pipes { out_r, err_r, in_w, child: [stdin, out_w, err_w] }
    };
    // the configuration (what `inspect --spec` prints, made the same way
    // from the record), carried out by the init
    let (mut config, filter) = crate::oci::bundle::config_and_filter_of(store, c).map_err(|e| (125, e.to_string()))?;
    // --ipc shareable: a /dev/shm on the host others can bind;
    // container:X: X's (Docker's way)
    let shm_guard = match &c.ipc {
        NsMode::Shareable => {
            let dir = crate::container::shm::mount_shareable(store, c).map_err(|e| (125, e))?;
            Some(ShmGuard { store, id: &c.id, dir })
        }
        _ => None,
    };
    let shared_shm = match (&c.ipc, &shm_guard) {
        (NsMode::Container(donor), _) => Some(crate::container::shm::donor_source(store, donor).map_err(|e| (125, e))?),
        (_, Some(g)) => Some(g.dir.clone()),
        _ => None,
    };
    if let Some(src) = &shared_shm {
        crate::container::shm::bind_in_config(&mut config, src).map_err(|e| (125, e))?;
    }
    crate::trace::mark("monitor: spec made");
    let mut plan = crate::runtime::plan::from_value(config, &cdir).map_err(|e| (125, e.to_string()))?;
    plan.seccomp = filter;
    crate::trace::mark("monitor: plan made");
    let layers_dir = store.layers_dir();
    let fills: Vec<crate::runtime::mounts::BindPlan> =
        crate::runtime::mounts::plans_for(store, c).into_iter().filter(|b| b.fill_marker.is_some()).collect();
    let init_spec = InitSpec {
        plan: &plan,
        source: RootSource::Overlay { layers_dir: &layers_dir, options: &mount_options, fills: &fills },
        stdio: match &stdio {
            Stdio::Pty { .. } => None,
            Stdio::Pipes { child, .. } => Some([child[0].as_raw_fd(), child[1].as_raw_fd(), child[2].as_raw_fd()]),
        },
        console: match &stdio {
            Stdio::Pty { child_console, .. } => Some(child_console.as_raw_fd()),
            _ => None,
        },
        exec_fifo: None,
        preserve_fds: 0,
        no_pivot: false,
        hooks: false,
        reaper: c.init,
    };
    // on v2 the init is born in its cgroup: moving it there afterwards
    // waits for an RCU grace period whenever no other move happened
    // lately (~14 ms here, docs/BENCHMARKS.md)
    let born_in = cgroup.v2_dir_fd();
    let mut spawned = crate::runtime::spawn::clone_init(&init_spec, born_in.as_ref().map(std::os::fd::AsFd::as_fd)).map_err(|e| (125, e))?;
    drop(born_in);
    crate::trace::mark("monitor: init cloned");
    let child = spawned.pid;
    let pid = child.as_raw();
    drop(init_spec);
    // keep only the parent's ends of stdio
    let stdio = match stdio {
        Stdio::Pty { console, child_console } => {
            drop(child_console);
            ParentIo::Console(console)
        }
        Stdio::Pipes { out_r, err_r, in_w, child } => {
            drop(child);
            ParentIo::Pipes { out_r, err_r, in_w }
        }
    };
    crate::runtime::process::forward_signals(pid, &[libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2, libc::SIGWINCH]);

    let kill_child = |msg: String| {
        let _ = crate::sys::process::kill(pid, libc::SIGKILL);
        let _ = nix::sys::wait::waitpid(child, None);
        (125, msg)
    };
    if !spawned.in_cgroup {
        if let Err(e) = cgroup.add_process(pid) {
            return Err(kill_child(e.to_string()));
        }
    }
    crate::trace::mark("monitor: cgroup joined");
    let net = match network::setup(store, c, pid, &super::StorePeers { store, id: &c.id }) {
        Ok(n) => n,
        Err(e) => return Err(kill_child(e.to_string())),
    };
    crate::crashpoint::hit("start.network");
    crate::trace::mark("monitor: network set up");
    let mut state = ContainerState {
        status: Status::Running,
        pid: Some(pid),
        pid_start: process_start_time(pid),
        monitor_pid: Some(std::process::id() as i32),
        started: Some(crate::state::now()),
        net: net.clone(),
        restart_count: restarts,
        // "starting" from the first moment it runs
        health: super::health::initial(c),
        ..Default::default()
    };
    if let Err(e) = store.save_state(&c.id, &state) {
        network::release(store, c, net.as_ref());
        return Err(kill_child(e.to_string()));
    }
    crate::crashpoint::hit("start.running");
    crate::trace::mark("monitor: state saved, go");
    // who waited for this start gets the output from its first byte
    if let Some(a) = attach.as_deref_mut() {
        a.adopt_waiting();
    }
    // go: the init builds the root and reports ready (or its failure)
    let ready = spawned.go().map_err(|m| (125, m)).and_then(|()| spawned.wait_ready(&mut || Ok(None)));
    let stdio = match stdio {
        ParentIo::Console(sock) if ready.is_ok() => match receive_master(&sock) {
            Some(master) => {
                if !detach {
                    copy_winsize(0, master.as_raw_fd());
                }
                ParentIo::Pty { master }
            }
            None => ParentIo::Console(sock), // init failed; its error follows
        },
        other => other,
    };
    let failure = match ready {
        Err(f) => Some(f),
        Ok(()) => spawned.wait_exec(),
    };
    crate::trace::mark("monitor: init ready and exec'd");
    if let Some((code, msg)) = failure {
        let _ = nix::sys::wait::waitpid(child, None);
        network::release(store, c, net.as_ref());
        drop(guard);
        return Err((code, msg));
    }
    if detach {
        let _ = Message::Started.send(std::io::stdout());
        let null = dev_null();
        for fd in 0..3 {
            let _ = crate::sys::fd::dup2(null.as_raw_fd(), fd);
        }
        // from here on it only pumps, waits and cleans up, for as long as
        // the container lives: what the setup touched is given back once
        // the pump has been idle a moment (`shed_when_idle`, below)
        drop((plan, fills, mount_options));
    }
    crate::container::events::emit(store, c, "start", &[]);
    let checker = super::health::Checker::start(store, c);
    let raw = if c.tty && !detach && crate::sys::fd::isatty(0) { RawMode::enter(0) } else { None };
    let mut stdio = stdio;
    let stdin_pipe = match &mut stdio {
        ParentIo::Pipes { in_w, .. } => in_w.take(),
        _ => None,
    };
    let outputs: Vec<(RawFd, RawFd)> = match &stdio {
        ParentIo::Pipes { out_r, err_r, .. } => vec![(out_r.as_raw_fd(), 1), (err_r.as_raw_fd(), 2)],
        ParentIo::Pty { master } => vec![(master.as_raw_fd(), 1)],
        ParentIo::Console(_) => Vec::new(),
    };
    let master = match &stdio {
        ParentIo::Pty { master } => Some(master.as_raw_fd()),
        _ => None,
    };
    let leftovers = (!c.pid.is_private()).then(|| kill_leftovers_at_exit(child, c.id.clone()));
    let attached = attach.map(|a| a as &mut dyn crate::runtime::term::Attached);
    pump(Pump { outputs, master, stdin_pipe, forward_stdin: attach_stdin, log: Some(&mut log), to_terminal: !detach, attach: attached, shed_when_idle: detach }, &crate::runtime::process::WINCH);
    if !c.auto_remove {
        // the log outlives the process (`bocker logs`); a --rm one is
        // deleted in a moment: no fsync to wait for
        let _ = log.sync();
    }
    drop(raw);
    crate::trace::mark("monitor: output closed");
    let status = crate::runtime::process::wait_exit(child).unwrap_or(125);
    crate::trace::mark("monitor: process reaped");
    if let Some(t) = leftovers {
        let _ = t.join();
    }
    // single-threaded again before anything else (a restart clones)
    if let Some(checker) = checker {
        checker.stop();
    }
    crate::crashpoint::hit("start.exited");
    state.oom_killed = cgroup.oom_killed();
    // without a pid namespace of its own nothing ended the processes it
    // left (as runc, they are killed, so the cgroup can go)
    if !c.pid.is_private() {
        for p in cgroup.processes() {
            let _ = crate::sys::process::kill(p as i32, libc::SIGKILL);
        }
    }
    // `network connect`/`disconnect` change the recorded links while it runs
    let net = store.load_state(&c.id).ok().and_then(|s| s.net).filter(|n| n.container_id == c.id).or(net);
    state.net = net.clone();
    network::release(store, c, net.as_ref());
    drop(guard);
    drop(shm_guard);
    crate::trace::mark("monitor: network and cgroup released");
    // the user's stop or kill left its marker before the signal
    // in the foreground, so is a signal from the terminal (Ctrl-C)
    let user_stopped = store.user_stopped(&c.id) || (!detach && crate::sys::signal::forwarded_any());
    // `update` may have changed the policy while it ran
    let policy = store.load_container(&c.id).map(|r| r.restart).unwrap_or_else(|_| c.restart.clone());
    let restarting = policy.should_restart(status, restarts, user_stopped);
    state.status = if restarting { Status::Restarting } else { Status::Exited };
    state.finished = Some(crate::state::now());
    state.exit_code = Some(status);
    state.health = store.load_state(&c.id).ok().and_then(|s| s.health);
    // before the state: whoever sees it exited finds its die event
    crate::container::events::emit(store, c, "die", &[("exitCode", status.to_string())]);
    let _ = store.save_state(&c.id, &state);
    crate::trace::mark("monitor: state saved");
    // --rm: out of the store now, its files deleted after the report
    let trash = if c.auto_remove { store.trash_container(c).ok().flatten() } else { None };
    crate::trace::mark("monitor: done");
    Ok(Exit { code: status, restarting, trash })
}

/// A container without a pid namespace of its own (`--pid host`,
/// `--pid container:X`): nothing ends what its command leaves running when
/// the command exits, and those processes hold its output open. A thread
/// waits for the exit without reaping (WNOWAIT: the main thread reaps)
/// and then kills what is left in its cgroup, as runc does; joined
/// before the monitor forks again.
fn kill_leftovers_at_exit(child: nix::unistd::Pid, id: String) -> std::thread::JoinHandle<()> {
    use nix::sys::wait::{waitid, Id, WaitPidFlag};
    std::thread::spawn(move || {
        if waitid(Id::Pid(child), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT).is_err() {
            return; // already reaped: the main thread kills what is left
        }
        for p in ContainerCgroup::load(&id).processes() {
            if p as i32 != child.as_raw() {
                let _ = crate::sys::process::kill(p as i32, libc::SIGKILL);
            }
        }
    })
}

fn dev_null() -> OwnedFd {
    match std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        Ok(f) => f.into(),
        Err(_) => crate::sys::fd::dup(2).expect("dup of stderr"),
    }
}

/// Unmounts a shareable container's /dev/shm when its run ends.
struct ShmGuard<'a> {
    store: &'a Store,
    id: &'a str,
    dir: std::path::PathBuf,
}
impl Drop for ShmGuard<'_> {
    fn drop(&mut self) {
        crate::container::shm::unmount(self.store, self.id);
    }
}

struct Cleanup<'a> {
    cgroup: Option<&'a ContainerCgroup>,
}
impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Some(cg) = self.cgroup.take() {
            if let Err(e) = cg.delete() {
                eprintln!("bocker: {e}");
            }
        }
    }
}

