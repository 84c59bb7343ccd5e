//! A running `bocker system service` on a socket of the test's own, and
//! curl to talk to it as any HTTP client would.
use super::{text, Env};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running `bocker system service`, killed on drop.
pub struct Service {
    pub child: Child,
    pub socket: PathBuf,
}

impl Service {
    pub fn start(e: &Env, extra_env: &[(&str, &Path)]) -> Service {
        let socket = e.dir.path().join("api.sock");
        let mut c = e.cmd(&["system", "service", "--socket", socket.to_str().unwrap()]);
        for (k, v) in extra_env {
            c.env(k, v);
        }
        let child = c.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("start the service");
        for _ in 0..200 {
            if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                return Service { child, socket };
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("the service did not come up on {}", socket.display());
    }

    /// (status, body) of a request.
    pub fn curl(&self, method: &str, path: &str) -> (u16, String) {
        let o = Command::new("curl")
            .args(["-s", "-X", method, "--unix-socket", self.socket.to_str().unwrap(), "-w", "\n%{http_code}"])
            .arg(format!("http://bocker{path}"))
            .output()
            .expect("curl is installed by scripts/test.sh");
        let out = text(&o.stdout);
        let (body, code) = out.rsplit_once('\n').unwrap_or(("", &out));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    pub fn json(&self, path: &str) -> serde_json::Value {
        let (code, body) = self.curl("GET", path);
        assert_eq!(code, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

