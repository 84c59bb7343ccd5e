//! The docker CLI finds the service and reads the engine.
use super::Docker;

#[test]
fn the_docker_cli_negotiates_and_lists() {
    let d = Docker::new();
    let img = d.env.busybox();
    let v = d.docker_ok(&["version", "--format", "{{.Server.APIVersion}}"]);
    assert_eq!(v.trim(), "1.41");
    let id = d.bocker_ok(&["run", "-d", "--name", "smoke", &img, "sleep", "30"]);
    let ps = d.docker_ok(&["ps", "--no-trunc", "--format", "{{.Names}} {{.Image}}"]);
    assert_eq!(ps.trim(), format!("smoke {img}"), "{ps}");
    let pid = d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", id.trim()]);
    assert!(std::path::Path::new(&format!("/proc/{}", pid.trim())).exists(), "State.Pid {pid}");
}
