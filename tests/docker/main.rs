//! #16's external checks: Docker's own clients, unchanged, against
//! `bocker system service`. The docker CLI of Debian's docker.io (20.10),
//! Debian's docker-compose 1.29 and docker-py 7, all installed by
//! scripts/test.sh (`ensure_docker_clients`) under $BOCKER_CLIENTS_DIR.
//! Each area has its file; the harness is here.
#[path = "../common/mod.rs"]
mod common;
#[path = "../regsupport/mod.rs"]
mod regsupport;

mod attach;
mod containers;
mod compose;
mod images;
mod logs;
mod py;
mod smoke;

use common::service::Service;
use common::{text, Env};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// Where scripts/test.sh put the clients.
pub fn clients_dir() -> PathBuf {
    PathBuf::from(std::env::var("BOCKER_CLIENTS_DIR").unwrap_or_else(|_| "/opt/bocker-clients".into()))
}

fn client(rel: &str) -> PathBuf {
    let p = clients_dir().join(rel);
    assert!(p.exists(), "{} is missing: scripts/test.sh installs the Docker clients (ensure_docker_clients in scripts/lib.sh)", p.display());
    p
}

/// A test's own bocker (state root, bridge, subnet) with its API service,
/// and the Docker clients pointed at it.
pub struct Docker {
    // the service goes first: dropped before the Env removes what is left
    pub service: Service,
    pub env: Env,
}

impl Docker {
    pub fn new() -> Docker {
        let env = Env::new();
        let service = Service::start(&env, &[]);
        Docker { service, env }
    }

    /// DOCKER_HOST of this test's service.
    pub fn host(&self) -> String {
        format!("unix://{}", self.service.socket.display())
    }

    /// The environment every client gets: this service, a config dir of the test's own.
    fn client_env(&self, c: &mut Command) {
        c.env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.env.home().join(".docker"))
            .env("HOME", self.env.home())
            .env_remove("DOCKER_API_VERSION")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env("DOCKER_BUILDKIT", "0")
            .env("COMPOSE_DOCKER_CLI_BUILD", "0")
            .stdin(Stdio::null());
    }

    /// The docker CLI (Debian's 20.10).
    pub fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(client("docker/bin/docker"));
        c.args(args);
        self.client_env(&mut c);
        c
    }

    pub fn docker(&self, args: &[&str]) -> Output {
        // a client that hangs fails its test instead of holding up the run
        let mut c = Command::new("timeout");
        c.args(["--foreground", "-s", "KILL", "300"]).arg(client("docker/bin/docker")).args(args);
        self.client_env(&mut c);
        c.output().expect("run docker")
    }

    /// Runs docker and asserts success; returns stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let o = self.docker(args);
        assert!(o.status.success(), "docker {args:?} failed: {}\nstdout: {}\nstderr: {}", o.status, text(&o.stdout), text(&o.stderr));
        text(&o.stdout)
    }

    /// Debian's docker-compose 1.29, in DIR.
    pub fn compose_cmd(&self, dir: &std::path::Path, args: &[&str]) -> Command {
        let mut c = Command::new("docker-compose");
        c.current_dir(dir).args(args);
        self.client_env(&mut c);
        c
    }

    /// A python script run by docker-py's venv (docker.from_env() finds the service).
    pub fn python_cmd(&self, script: &str) -> Command {
        let mut c = Command::new(client("venv/bin/python"));
        c.arg("-c").arg(script);
        self.client_env(&mut c);
        c
    }

    /// bocker itself on the same state root.
    pub fn bocker_ok(&self, args: &[&str]) -> String {
        self.env.ok(args)
    }
}
