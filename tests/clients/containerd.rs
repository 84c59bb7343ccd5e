//! A containerd started for one test: its own config, socket, root and
//! state dirs, the CRI plugin off, a namespace of its own; ctr drives it
//! and the runc v2 shim (containerd's default runtime) calls the runtime
//! under test (`ctr run --runc-binary`, runc state under `--runc-root`).
use super::host::{self, Leftovers};
use super::runtime::{Runtime, RuntimeBinary};
use crate::common::text;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long one ctr command may take before the test fails.
const LIMIT: Duration = Duration::from_secs(60);

static SEQ: AtomicUsize = AtomicUsize::new(0);

pub struct Containerd {
    dir: PathBuf,
    daemon: Option<Child>,
    socket: PathBuf,
    /// the containerd namespace; also the cgroup ctr puts containers under
    pub namespace: String,
    pub runtime: RuntimeBinary,
    cleaned: bool,
}

impl Containerd {
    /// Starts containerd under `dir/containerd` and waits until it answers.
    pub fn start(dir: &Path, runtime: Runtime) -> Containerd {
        let dir = dir.join("containerd");
        std::fs::create_dir_all(&dir).expect("containerd dir");
        let runtime = RuntimeBinary::install(runtime, &dir);
        let socket = dir.join("containerd.sock");
        let config = format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{s}\"\n[ttrpc]\n  address = \"{s}.ttrpc\"\n[debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n\
             [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{d}/opt\"\n",
            d = dir.display(),
            s = socket.display()
        );
        std::fs::write(dir.join("config.toml"), config).expect("containerd config");
        let log = std::fs::File::create(dir.join("containerd.log")).expect("containerd log");
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("containerd is installed by scripts/test.sh");
        let namespace = format!("bocker-ctd-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        let mut me = Containerd { dir, daemon: Some(daemon), socket, namespace, runtime, cleaned: false };
        let up = host::wait_until(Duration::from_secs(20), || me.ctr(&["version"]).output().map(|o| o.status.success()).unwrap_or(false));
        if !up {
            let log = std::fs::read_to_string(me.dir.join("containerd.log")).unwrap_or_default();
            me.cleanup();
            panic!("containerd did not answer on {}:\n{log}", me.socket.display());
        }
        me
    }

    /// `ctr -a SOCKET -n NAMESPACE ARGS`.
    pub fn ctr(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ctr");
        c.arg("-a").arg(&self.socket).arg("-n").arg(&self.namespace).args(args);
        c
    }

    /// `ctr run --runc-binary WRAPPER --runc-root DIR --fifo-dir DIR ARGS`, not started.
    pub fn run_cmd(&self, args: &[&str]) -> Command {
        let mut c = self.ctr(&["run", "--runc-binary"]);
        c.arg(&self.runtime.path).arg("--runc-root").arg(self.dir.join("runc")).arg("--fifo-dir").arg(self.dir.join("fifo")).args(args);
        c
    }

    /// `ctr run ...` (see `run_cmd`).
    pub fn run(&self, args: &[&str]) -> Output {
        host::output_within(&mut self.run_cmd(args), LIMIT)
    }

    /// `ctr task exec --fifo-dir DIR --exec-id EXEC_ID [FLAGS] ID CMD...`, not started.
    pub fn exec_cmd(&self, exec_id: &str, flags: &[&str], id: &str, cmd: &[&str]) -> Command {
        let mut c = self.ctr(&["task", "exec", "--fifo-dir"]);
        c.arg(self.dir.join("fifo")).args(["--exec-id", exec_id]).args(flags).arg(id).args(cmd);
        c
    }

    /// `ctr task exec ...` (see `exec_cmd`) without flags.
    pub fn exec(&self, exec_id: &str, id: &str, cmd: &[&str]) -> Output {
        host::output_within(&mut self.exec_cmd(exec_id, &[], id, cmd), LIMIT)
    }

    pub fn output(&self, args: &[&str]) -> Output {
        host::output_within(&mut self.ctr(args), LIMIT)
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.output(args);
        assert!(o.status.success(), "ctr {args:?}: {}\n{}\n{}", o.status, text(&o.stderr), self.calls());
        text(&o.stdout)
    }

    /// `ctr image import` of an OCI archive.
    pub fn import(&self, archive: &Path) {
        self.ok(&["image", "import", archive.to_str().expect("utf-8 path")]);
    }

    /// The STATUS column of `ctr task ls` for task `id`, if listed.
    pub fn task_status(&self, id: &str) -> Option<String> {
        let out = self.ok(&["task", "ls"]);
        out.lines().skip(1).find_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.first() == Some(&id)).then(|| cols.get(2).unwrap_or(&"").to_string())
        })
    }

    /// The PID column of `ctr task ls` for task `id`.
    pub fn task_pid(&self, id: &str) -> Option<u32> {
        let out = self.ok(&["task", "ls"]);
        out.lines().skip(1).find_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.first() == Some(&id)).then(|| cols.get(1).and_then(|p| p.parse().ok())).flatten()
        })
    }

    pub fn calls(&self) -> String {
        format!("{} calls:\n{}", self.runtime.runtime.name(), self.runtime.calls())
    }

    /// Deletes tasks and containers, stops containerd, then removes what it
    /// left: shims still serving this socket, mounts under its folder, the
    /// namespace's cgroup (containerd keeps the empty parent by design: not
    /// counted). Returns what had to be removed by hand.
    pub fn cleanup(&mut self) -> Leftovers {
        let mut left = Leftovers::default();
        if self.cleaned {
            return left;
        }
        self.cleaned = true;
        if let Some(daemon) = self.daemon.as_mut() {
            if matches!(daemon.try_wait(), Ok(None)) {
                for id in text(&self.output(&["task", "ls", "-q"]).stdout).lines() {
                    let _ = self.output(&["task", "delete", "-f", id]);
                }
                for id in text(&self.output(&["container", "ls", "-q"]).stdout).lines() {
                    let _ = self.output(&["container", "delete", id]);
                }
            }
        }
        if let Some(mut daemon) = self.daemon.take() {
            // SAFETY: kill(2) of the containerd this guard spawned (still a child, not reaped).
            unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
            let gone = host::wait_until(Duration::from_secs(10), || !matches!(daemon.try_wait(), Ok(None)));
            if !gone {
                let _ = daemon.kill();
            }
            let _ = daemon.wait();
        }
        // shims are started with the daemon's address on their command line
        left.processes = host::processes_with(&self.socket.to_string_lossy());
        for (pid, _) in &left.processes {
            host::kill_pid(*pid);
        }
        left.mounts = host::unmount_under(&self.dir);
        let ns = format!("/{}", self.namespace);
        left.cgroups = host::cgroup_children(&ns);
        left.cgroups.extend(host::remove_cgroup_tree(&ns));
        let _ = std::fs::remove_dir_all(&self.dir);
        left
    }

    /// Cleans up and fails the test if anything was left behind.
    pub fn finish(mut self) {
        let calls = self.calls();
        // shown with --nocapture: the runtime calls this client made
        eprintln!("containerd {calls}");
        let left = self.cleanup();
        assert!(left.is_empty(), "containerd left behind: {left:?}\n{calls}");
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.cleanup();
    }
}
