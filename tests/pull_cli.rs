//! `bocker pull` and `bocker run` against a real registry, from the CLI.
mod common;
#[path = "regsupport/mod.rs"]
mod reg;
use common::{text, Env};
use std::process::Command;

#[test]
fn pull_then_run_and_image_config_is_honoured() {
    let registry = reg::Registry::start(None);
    let d = tempfile::tempdir().unwrap();
    let mk = reg::script("mkimage.sh");
    reg::run(Command::new(&mk).arg("rootfs").arg(d.path().join("rootfs")));
    let lay = d.path().join("layout");
    reg::run(Command::new(&mk).arg("layout").arg(&lay).arg("bb").arg("linux/amd64").arg(d.path().join("rootfs")));
    let cfg = r#"{"Entrypoint":["/bin/sh","-c"],"Cmd":["echo $GREETING from $(pwd) as $(id -u)"],"Env":["PATH=/bin:/usr/bin","GREETING=hello"],"WorkingDir":"/tmp","User":"www","ExposedPorts":{"8080/tcp":{}}}"#;
    reg::run(Command::new(&mk).env("IMAGE_CONFIG", cfg).arg("layout").arg(&lay).arg("app").arg("linux/amd64").arg(d.path().join("rootfs")));
    let host = registry.host();
    reg::run(Command::new(&mk).arg("push").arg(&lay).arg("bb").arg(format!("{host}/busybox:latest")));
    reg::run(Command::new(&mk).arg("push").arg(&lay).arg("app").arg(format!("{host}/app:1")).arg("--v2s2"));

    let e = Env::new();
    let busybox = format!("{host}/busybox:latest");
    let out = e.ok(&["pull", &busybox]);
    assert!(out.starts_with("Created: img_"), "{out}");
    assert!(e.ok(&["images"]).contains(&busybox));
    assert_eq!(e.ok(&["run", &busybox, "echo", "hi"]), "hi\n");
    // the seed's form, and a second pull fetches nothing
    let o = e.run(&["pull", &format!("{host}/busybox"), "latest"]);
    assert!(o.status.success());
    assert!(text(&o.stderr).contains("already exists"), "{}", text(&o.stderr));
    // run pulls what is not in the store; the config is applied
    let app = format!("{host}/app:1");
    let o = e.run(&["run", &app]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("Unable to find image"));
    assert_eq!(text(&o.stdout), "hello from /tmp as 33\n");
    let j: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", &app])).unwrap();
    assert_eq!(j[0]["Bocker"]["config"]["exposed_ports"][0], "8080/tcp");
    assert!(j[0]["Config"]["ExposedPorts"]["8080/tcp"].is_object(), "Docker's shape: {j}");
    // bad references and missing images: one line, exit 1
    let o = e.run(&["pull", "Bad//Ref"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stderr).lines().count(), 1);
    let o = e.run(&["pull", &format!("{host}/nope:1")]);
    assert_eq!(o.status.code(), Some(1));
    // rmi refuses an image in use unless -f, and removes unused layers
    assert_eq!(e.run(&["rmi", &busybox]).status.code(), Some(1));
    for id in e.ok(&["ps", "-q"]).lines() {
        e.ok(&["rm", id]);
    }
    e.ok(&["rmi", &busybox]);
    e.ok(&["rmi", &app]);
    assert!(std::fs::read_dir(e.root().join("layers")).unwrap().next().is_none(), "layers left");
}
