//! The Docker Engine API on a unix socket (`bocker system service`),
//! driven with curl as any HTTP client would.
mod common;
use common::{text, Env};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running `bocker system service`, killed on drop.
struct Service {
    child: Child,
    socket: PathBuf,
}

impl Service {
    fn start(e: &Env, extra_env: &[(&str, &Path)]) -> Service {
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
    fn curl(&self, method: &str, path: &str) -> (u16, String) {
        let o = Command::new("curl")
            .args(["-s", "-X", method, "--unix-socket", self.socket.to_str().unwrap(), "-w", "\n%{http_code}"])
            .arg(format!("http://bocker{path}"))
            .output()
            .expect("curl is installed by scripts/test.sh");
        let out = text(&o.stdout);
        let (body, code) = out.rsplit_once('\n').unwrap_or(("", &out));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    fn json(&self, path: &str) -> serde_json::Value {
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

#[test]
fn ping_version_and_containers_in_docker_shapes() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["run", "-d", "--name", "apiweb", &img, "sleep", "60"]).trim().to_string();
    let s = Service::start(&e, &[]);
    let mode = std::fs::metadata(&s.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the socket is root's only");
    assert_eq!(s.curl("GET", "/_ping"), (200, "OK".to_string()));
    let v = s.json("/v1.41/version");
    assert_eq!(v["ApiVersion"], "1.41");
    assert_eq!(v["Version"], env!("CARGO_PKG_VERSION"));
    let list = s.json("/v1.41/containers/json");
    let rows = list.as_array().expect("a list");
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["Id"], id.as_str());
    assert_eq!(rows[0]["Names"][0], "/apiweb");
    assert_eq!(rows[0]["State"], "running");
    assert!(rows[0]["Labels"].is_object(), "Labels is a map even when empty: {list}");
    let ins = s.json("/v1.41/containers/apiweb/json");
    let pid = ins["State"]["Pid"].as_i64().unwrap();
    assert!(Path::new(&format!("/proc/{pid}")).exists(), "State.Pid {pid} is the container's process");
    assert_eq!(ins["Config"]["Cmd"], serde_json::json!(["sleep", "60"]));
    e.ok(&["stop", "-t", "0", &id]);
    assert_eq!(s.json("/containers/json").as_array().unwrap().len(), 0, "a stopped container is listed only with all=1");
    let all = s.json("/containers/json?all=1");
    assert_eq!(all[0]["State"], "exited", "{all}");
    let images = s.json("/images/json");
    assert_eq!(images[0]["Id"], img.as_str());
    let (code, body) = s.curl("GET", "/containers/nope/json");
    assert_eq!(code, 404);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["message"], "No such container: nope");
    assert_eq!(s.curl("GET", "/no/such/route").0, 404);
}

#[test]
fn a_second_server_on_a_live_socket_is_refused_and_user_routes_override() {
    let e = Env::new();
    let api_dir = e.dir.path().join("api");
    std::fs::create_dir_all(&api_dir).unwrap();
    std::fs::write(api_dir.join("mine.lua"), r#"return {
  { "GET", "/_ping", function(_, res) res:send("MINE") end },
  { "GET", "/hello/{who}", function(req, res, p) res:json({ hello = p.who, q = req.query.x }) end },
}"#).unwrap();
    let s = Service::start(&e, &[("BOCKER_API", &api_dir)]);
    assert_eq!(s.curl("GET", "/_ping"), (200, "MINE".to_string()));
    let hello = s.json("/v1.41/hello/world?x=a%20b");
    assert_eq!(hello, serde_json::json!({ "hello": "world", "q": "a b" }));
    let o = e.run(&["system", "service", "--socket", s.socket.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("in use"), "{}", text(&o.stderr));
    // still serving
    assert_eq!(s.curl("GET", "/_ping").0, 200);
}
