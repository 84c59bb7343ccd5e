//! The Docker Engine API on a unix socket (`bocker system service`),
//! driven with curl as any HTTP client would.
mod common;
use common::service::Service;
use common::{text, Env};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

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
