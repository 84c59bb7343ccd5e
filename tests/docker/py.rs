//! docker-py 7 (the scripted client most tools embed) against bocker's API:
//! images (pull with its progress stream, push with X-Registry-Auth,
//! tag, remove), networks and volumes; then a container's life: create,
//! start, wait, logs (stdout and stderr apart), exec, remove.
use super::Docker;
use crate::common::text;
use crate::regsupport::Registry;

/// Runs a docker-py script; asserts success and returns its stdout.
fn python_ok(d: &Docker, script: &str) -> String {
    let o = d.python_cmd(script).output().expect("run docker-py");
    assert!(o.status.success(), "docker-py failed: {}\nstdout: {}\nstderr: {}", o.status, text(&o.stdout), text(&o.stderr));
    text(&o.stdout)
}

#[test]
fn docker_py_images_networks_volumes() {
    let d = Docker::new();
    let img = d.env.busybox();
    let reg = Registry::start(Some("bob:pw"));
    let host = reg.host();
    let ctx = d.env.dir.path().join("pyctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), format!("FROM {img}\nRUN echo built-by-py > /py.txt\n")).unwrap();
    let ctx = ctx.display();
    let script = format!(
        r#"
import docker
c = docker.from_env()
assert c.ping()
# a build: docker-py finds the id in the stream ("Successfully built HEX")
built, logs = c.images.build(path="{ctx}", tag="pyb:1")
print("built", built.tags, any("built-by-py" in m.get("stream", "") for m in logs) or "step output seen in the stream")
c.images.get("{img}").tag("{host}/py/bb", tag="1")
# a push to a registry that wants a login: credentials go with the request
pushed = [m for m in c.api.push("{host}/py/bb", tag="1", stream=True, decode=True, auth_config={{"username": "bob", "password": "pw"}})]
assert not any("error" in m for m in pushed), pushed
aux = [m["aux"] for m in pushed if "aux" in m]
assert aux and aux[0]["Digest"].startswith("sha256:"), pushed
c.images.remove("{host}/py/bb:1")
# the pull's progress stream
events = [m for m in c.api.pull("{host}/py/bb", tag="1", stream=True, decode=True, auth_config={{"username": "bob", "password": "pw"}})]
statuses = [m.get("status", "") for m in events]
assert any(s == "Pull complete" for s in statuses), statuses
assert statuses[-1].startswith("Status: Downloaded newer image"), statuses
im = c.images.get("{host}/py/bb:1")
print("tags", im.tags)
print("listed", sorted(t for i in c.images.list() for t in i.tags))
print("filtered", [i.tags for i in c.images.list(name="{host}/py/bb")])
net = c.networks.create("pynet", driver="bridge", labels={{"k": "v"}})
print("net", c.networks.get("pynet").attrs["Labels"]["k"], [n.name for n in c.networks.list(names=["pynet"])])
net.remove()
vol = c.volumes.create("pyvol", labels={{"k": "v"}})
print("vol", c.volumes.get("pyvol").attrs["Labels"]["k"], [v.name for v in c.volumes.list()])
vol.remove()
print("df", len(c.df()["Images"]))
"#
    );
    let out = python_ok(&d, &script);
    assert!(out.contains(&format!("tags ['{host}/py/bb:1']")), "{out}");
    assert!(out.contains(&format!("filtered [['{host}/py/bb:1']]")), "{out}");
    assert!(out.contains("net v ['pynet']"), "{out}");
    assert!(out.contains("vol v ['pyvol']"), "{out}");
    assert!(out.contains("built ['pyb:1']"), "{out}");
    assert!(out.contains("df 3"), "the base (untagged, kept: pyb:1 is built on it), the build's, the pulled one: {out}");
}

#[test]
fn docker_py_container_life() {
    let d = Docker::new();
    let img = d.env.busybox();
    let script = format!(
        r#"
import docker
c = docker.from_env()
ct = c.containers.create("{img}", ["sh", "-c", "echo out; echo err >&2; exit 3"], name="pyone")
ct.start()
print("wait", ct.wait()["StatusCode"])
print("stdout", repr(ct.logs(stdout=True, stderr=False)))
print("stderr", repr(ct.logs(stdout=False, stderr=True)))
ct.remove()
run = c.containers.run("{img}", ["sleep", "60"], detach=True, name="pytwo")
code, output = run.exec_run(["echo", "from exec"])
print("exec", code, repr(output))
run.reload()
print("status", run.status)
run.remove(force=True)
print("left", [x.name for x in c.containers.list(all=True)])
"#
    );
    let out = python_ok(&d, &script);
    assert!(out.contains("wait 3"), "{out}");
    assert!(out.contains("stdout b'out\\n'"), "{out}");
    assert!(out.contains("stderr b'err\\n'"), "{out}");
    assert!(out.contains("exec 0 b'from exec\\n'"), "{out}");
    assert!(out.contains("status running"), "{out}");
    assert!(out.contains("left []"), "{out}");
}
