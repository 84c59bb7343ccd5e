//! Rootful podman (with conmon) on state of its own: storage, run root,
//! tmp dir, file locks, events file, network config dir, a cgroup parent
//! named for the test. The runtime is the wrapper of `RuntimeBinary`.
use super::host::{self, Leftovers};
use super::runtime::{Runtime, RuntimeBinary};
use crate::common::text;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long one podman command may take before the test fails.
const LIMIT: Duration = Duration::from_secs(60);

static SEQ: AtomicUsize = AtomicUsize::new(0);

pub struct Podman {
    dir: PathBuf,
    /// podman refuses a run root longer than 50 characters: one in /run
    runroot: PathBuf,
    pub runtime: RuntimeBinary,
    /// the cgroup every container goes under (removed by the guard)
    cgroup_parent: String,
    cleaned: bool,
}

impl Podman {
    /// Writes podman's configuration under `dir/podman` for `runtime`.
    pub fn new(dir: &Path, runtime: Runtime) -> Podman {
        let dir = dir.join("podman");
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let runroot = PathBuf::from(format!("/run/bocker-podman-{}-{seq}", std::process::id()));
        for sub in ["root", "tmp", "volumes", "networks"] {
            std::fs::create_dir_all(dir.join(sub)).expect("podman dirs");
        }
        std::fs::create_dir_all(&runroot).expect("podman run root");
        let runtime = RuntimeBinary::install(runtime, &dir);
        let storage = format!(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"{root}\"\nrunroot = \"{run}\"\n",
            root = dir.join("root").display(),
            run = runroot.display()
        );
        std::fs::write(dir.join("storage.conf"), storage).expect("storage.conf");
        // file locks: the default shm locks are one segment for every rootful
        // podman, and a fresh tmp dir makes podman free all of them.
        // runtime_supports_json: podman (conmon) passes `--log FILE
        // --log-format=json` only to runtimes named there, and reads the
        // runtime's errors from that file; bocker-runc gets what runc gets.
        let conf = format!(
            "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nevents_logfile_path = \"{dir}/events.log\"\n\
             tmp_dir = \"{dir}/tmp\"\nstatic_dir = \"{dir}/root/libpod\"\nvolume_path = \"{dir}/volumes\"\nlock_type = \"file\"\n\
             runtime_supports_json = [\"crun\", \"runc\", \"kata\", \"runsc\", \"krun\", \"bocker-runc\"]\n\
             [network]\nnetwork_config_dir = \"{dir}/networks\"\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("containers.conf"), conf).expect("containers.conf");
        let cgroup_parent = format!("/bocker-podman-{}-{seq}", std::process::id());
        Podman { dir, runroot, runtime, cgroup_parent, cleaned: false }
    }

    /// `podman` with this instance's global flags and configuration.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.dir.join("storage.conf"))
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(&self.runroot)
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .arg("--runtime")
            .arg(&self.runtime.path)
            .args(["--cgroup-manager", "cgroupfs", "--events-backend", "file", "--storage-driver", "overlay"])
            .args(args);
        c
    }

    /// The flags every `run` of these tests takes: no network, this test's
    /// cgroup parent, rlimits within this host's hard limits.
    fn run_flags(&self) -> Vec<String> {
        ["--network", "none", "--cgroup-parent", &self.cgroup_parent, "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=20000:20000"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// `podman run RUN_FLAGS ARGS`, not started.
    pub fn run_cmd(&self, args: &[&str]) -> Command {
        let mut c = self.cmd(&["run"]);
        c.args(self.run_flags()).args(args);
        c
    }

    /// `podman run RUN_FLAGS ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        host::output_within(&mut self.run_cmd(args), LIMIT)
    }

    pub fn output(&self, args: &[&str]) -> Output {
        host::output_within(&mut self.cmd(args), LIMIT)
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.output(args);
        assert!(o.status.success(), "podman {args:?}: {}\n{}\n{}", o.status, text(&o.stderr), self.calls());
        text(&o.stdout)
    }

    /// Loads an OCI archive; returns the image name podman gave it.
    pub fn load(&self, archive: &Path) -> String {
        let out = self.ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
        out.lines()
            .find_map(|l| l.strip_prefix("Loaded image: "))
            .unwrap_or_else(|| panic!("no 'Loaded image:' in {out}"))
            .trim()
            .to_string()
    }

    /// The runtime calls logged so far, for failure messages.
    pub fn calls(&self) -> String {
        format!("{} calls:\n{}", self.runtime.runtime.name(), self.runtime.calls())
    }

    /// Removes every container and image (`system reset`), then whatever
    /// podman left: mounts under its folder, the cgroup parent, processes
    /// still naming the folder. Returns what had to be removed by hand
    /// (conmon's own cgroup below the parent is podman's design, not counted).
    pub fn cleanup(&mut self) -> Leftovers {
        if self.cleaned {
            return Leftovers::default();
        }
        self.cleaned = true;
        let _ = self.output(&["rm", "-a", "-f", "-t", "0"]);
        let _ = self.output(&["system", "reset", "-f"]);
        let mut left = Leftovers::default();
        left.processes = host::processes_with(&self.dir.to_string_lossy());
        left.processes.extend(host::processes_with(&self.runroot.to_string_lossy()));
        for (pid, _) in &left.processes {
            host::kill_pid(*pid);
        }
        left.mounts = host::unmount_under(&self.dir);
        left.mounts.extend(host::unmount_under(&self.runroot));
        let conmon = format!("{}/conmon", self.cgroup_parent);
        left.cgroups = host::cgroup_children(&self.cgroup_parent)
            .into_iter()
            .filter(|p| !p.to_string_lossy().ends_with(&conmon))
            .collect();
        let stuck = host::remove_cgroup_tree(&self.cgroup_parent);
        left.cgroups.extend(stuck);
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(&self.runroot);
        left
    }

    /// Cleans up and fails the test if anything was left behind.
    pub fn finish(mut self) {
        let calls = self.calls();
        // shown with --nocapture: the runtime calls this client made
        eprintln!("podman {calls}");
        let left = self.cleanup();
        assert!(left.is_empty(), "podman left behind: {left:?}\n{calls}");
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.cleanup();
    }
}
