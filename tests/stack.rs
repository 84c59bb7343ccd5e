//! Stacks: `bocker up/down`, `stack ps/logs` on compose.yaml and its Lua twin.
mod common;
use common::{text, Env};
use std::path::{Path, PathBuf};

/// Runs `bocker down -v` of a project when dropped (also on failure).
struct Down<'a> {
    env: &'a Env,
    project: String,
}

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = self.env.run(&["down", "-v", "-t", "1", "-p", &self.project]);
    }
}

/// An env with busybox:latest, and a project name no other test shares.
fn setup(tag: &str) -> (Env, String) {
    let env = Env::new();
    let img = env.busybox();
    env.ok(&["tag", &img, "busybox:latest"]);
    let project = format!("st{}{}", env.net, tag);
    (env, project)
}

/// The compose block that puts the project's default network on this
/// test's own subnet (user networks in tests are always made with one).
fn default_net(env: &Env, k: u8) -> String {
    format!("networks:\n  default:\n    ipam:\n      config:\n        - subnet: {}\n", env.extra_subnet(k))
}

fn write(dir: &Path, name: &str, body: impl AsRef<str>) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, body.as_ref()).unwrap();
    p
}

fn inspect(env: &Env, name: &str) -> serde_json::Value {
    let out = env.ok(&["inspect", "--bocker", name]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[0].clone()
}

fn up(env: &Env, args: &[&str]) -> (String, String) {
    let mut a = vec!["up", "-d"];
    a.extend_from_slice(args);
    let o = env.run(&a);
    assert!(o.status.success(), "bocker {a:?}: {}\n{}", o.status, text(&o.stderr));
    (text(&o.stdout), text(&o.stderr))
}

/// What makes two containers "the same" across two `up`s: all but ids and times.
fn comparable(c: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "name": c["name"], "labels": c["labels"], "image": c["image"], "image_ref": c["image_ref"],
        "args": c["args"], "env": c["env"].as_array().map(|e| e.iter().filter(|x| !x.as_str().unwrap_or("").starts_with("HOSTNAME=")).cloned().collect::<Vec<_>>()),
        "mounts": c["mounts"], "network": c["network"], "ports": c["ports"], "workdir": c["workdir"], "user": c["user"],
    })
}

#[test]
fn compose_and_lua_twin_give_the_same_containers() {
    let (env, p) = setup("twin");
    let _down = Down { env: &env, project: p.clone() };
    let dir = env.dir.path().join("demo");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/stack");
    for f in ["compose.yaml", "bocker-stack.lua"] {
        let mut body = std::fs::read_to_string(example.join(f)).unwrap();
        // the project's default network on this test's subnet, in both twins
        if f == "compose.yaml" {
            body.push_str(&default_net(&env, 0));
        } else {
            let net = format!("  networks = {{ default = {{ ipam = {{ config = {{ {{ subnet = \"{}\" }} }} }} }} }},\n", env.extra_subnet(0));
            body = body.replace("  volumes = { site = {} },\n", &format!("  volumes = {{ site = {{}} }},\n{net}"));
            assert!(body.contains("subnet"), "the example's volumes line moved: {body}");
        }
        write(&dir, f, &body);
    }
    let compose = dir.join("compose.yaml");
    let lua = dir.join("bocker-stack.lua");
    let (_, err) = up(&env, &["-p", &p, "-f", compose.to_str().unwrap()]);
    assert!(err.contains(&format!("Container {p}-web-1  Started")), "{err}");
    let web = inspect(&env, &format!("{p}-web-1"));
    let client = inspect(&env, &format!("{p}-client-1"));
    assert_eq!(web["labels"]["com.docker.compose.project"], p.as_str());
    assert_eq!(web["labels"]["com.docker.compose.service"], "web");
    assert_eq!(web["labels"]["com.docker.compose.container-number"], "1");
    assert_eq!(web["labels"]["com.docker.compose.oneoff"], "False");
    assert_eq!(web["labels"]["tier"], "front");
    assert_eq!(web["labels"]["com.docker.compose.config-hash"].as_str().unwrap().len(), 64);
    assert_eq!(web["mounts"][0]["source"], format!("{p}_site").as_str());
    // the same file under its Lua twin: same configuration, so nothing to do
    let (_, err) = up(&env, &["-p", &p, "-f", lua.to_str().unwrap()]);
    assert!(err.contains(&format!("Container {p}-web-1  Running")) && err.contains(&format!("Container {p}-client-1  Running")), "{err}");
    env.ok(&["down", "-t", "1", "-p", &p]);
    let (_, err) = up(&env, &["-p", &p, "-f", lua.to_str().unwrap()]);
    assert!(err.contains(&format!("Container {p}-web-1  Created")), "{err}");
    assert_eq!(comparable(&inspect(&env, &format!("{p}-web-1"))), comparable(&web));
    assert_eq!(comparable(&inspect(&env, &format!("{p}-client-1"))), comparable(&client));
}

#[test]
fn client_fetches_from_web_and_logs_are_prefixed() {
    let (env, p) = setup("web");
    let _down = Down { env: &env, project: p.clone() };
    let dir = env.dir.path().join("app");
    // web at a fixed address of the project network (ipv4_address), and
    // by name through the network's DNS responder
    let web_ip = env.extra_subnet(0).replace(".0/24", ".10");
    let file = write(
        &dir,
        "compose.yaml",
        format!(
            r#"services:
  web:
    image: busybox:latest
    command: sh -c 'mkdir /www && echo hello from web > /www/index.html && echo web ready && exec httpd -f -p 80 -h /www'
    networks:
      default:
        ipv4_address: {web_ip}
        aliases: [www]
  client:
    image: busybox:latest
    depends_on: [web]
    command: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://{web_ip}/index.html && break; sleep 0.3; done && wget -qO- http://web/index.html && wget -qO- http://www/index.html && wget -qO- http://{p}-web-1/index.html"]
{net}"#,
            net = default_net(&env, 0)
        ),
    );
    up(&env, &["-p", &p, "-f", file.to_str().unwrap()]);
    assert_eq!(env.ok(&["wait", &format!("{p}-client-1")]).trim(), "0", "the client could not fetch from web");
    let logs = env.ok(&["stack", "logs", "-p", &p]);
    // by address, service name, alias and container name
    assert_eq!(logs.lines().filter(|l| *l == "client-1  | hello from web").count(), 4, "{logs}");
    assert!(logs.lines().any(|l| l == "web-1     | web ready"), "{logs}");
    let ps = env.ok(&["stack", "ps", "-p", &p]);
    let header = ps.lines().next().unwrap();
    assert!(header.starts_with("NAME") && header.contains("SERVICE") && header.contains("PORTS"), "{ps}");
    assert!(ps.lines().any(|l| l.starts_with(&format!("{p}-web-1 ")) && l.contains(" web ") && l.contains("Up")), "{ps}");
    // a service named alone: only its lines
    let web_only = env.ok(&["stack", "logs", "-p", &p, "web"]);
    assert!(!web_only.contains("client-1"), "{web_only}");
}

#[test]
fn up_again_changes_only_what_changed() {
    let (env, p) = setup("again");
    let _down = Down { env: &env, project: p.clone() };
    let file = write(
        &env.dir.path().join("s"),
        "compose.yaml",
        &format!("services:\n  a:\n    image: busybox:latest\n    command: sleep 600\n    environment:\n      GREETING: ${{GREETING:-hi}}\n  b:\n    image: busybox:latest\n    command: sleep 600\n{}", default_net(&env, 0)),
    );
    let f = file.to_str().unwrap();
    let id = |n: &str| inspect(&env, &format!("{p}-{n}-1"))["id"].as_str().unwrap().to_string();
    up(&env, &["-p", &p, "-f", f]);
    let (a1, b1) = (id("a"), id("b"));
    let (_, err) = up(&env, &["-p", &p, "-f", f]);
    assert_eq!((id("a"), id("b")), (a1.clone(), b1.clone()), "up twice recreated: {err}");
    assert_eq!(err.matches("Running").count(), 2, "{err}");
    let o = env.cmd(&["up", "-d", "-p", &p, "-f", f]).env("GREETING", "changed").output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert_ne!(id("a"), a1, "{err}");
    assert_eq!(id("b"), b1, "{err}");
    assert!(err.contains(&format!("Container {p}-a-1  Recreated")) && err.contains(&format!("Container {p}-b-1  Running")), "{err}");
    assert!(inspect(&env, &format!("{p}-a-1"))["env"].as_array().unwrap().iter().any(|e| e == "GREETING=changed"));
    // a stopped service is started again, keeping its container
    env.ok(&["stop", "-t", "1", &format!("{p}-b-1")]);
    let (_, err) = up(&env, &["-p", &p, "-f", f]);
    assert!(err.contains(&format!("Container {p}-b-1  Started")), "{err}");
    assert_eq!(id("b"), b1);
}

#[test]
fn down_removes_only_what_up_made() {
    let (env, p) = setup("down");
    let other = format!("{p}x");
    let _down = Down { env: &env, project: p.clone() };
    let _down_other = Down { env: &env, project: other.clone() };
    let body = |k: u8| format!("services:\n  db:\n    image: busybox:latest\n    command: sleep 600\n    volumes: [data:/data]\nvolumes:\n  data:\n{}", default_net(&env, k));
    let file = write(&env.dir.path().join("s"), "compose.yaml", &body(0));
    let file_other = write(&env.dir.path().join("o"), "compose.yaml", &body(1));
    let f = file.to_str().unwrap();
    up(&env, &["-p", &p, "-f", f]);
    up(&env, &["-p", &other, "-f", file_other.to_str().unwrap()]);
    env.ok(&["run", "-d", "--name", "plain", "busybox:latest", "sleep", "600"]);
    env.ok(&["volume", "create", "loose"]);
    let vols = env.ok(&["volume", "ls"]);
    assert!(vols.contains(&format!("{p}_data")) && vols.contains(&format!("{other}_data")), "{vols}");
    let v = env.ok(&["volume", "inspect", &format!("{p}_data")]);
    assert!(v.contains("com.docker.compose.volume"), "{v}");
    let net: serde_json::Value = serde_json::from_str(&env.ok(&["network", "inspect", &format!("{p}_default")])).unwrap();
    let bridge = net[0]["Options"]["bocker.bridge"].as_str().expect("the project network's bridge").to_string();
    assert_eq!(net[0]["Labels"]["com.docker.compose.project"], p.as_str());
    let db_id = inspect(&env, &format!("{p}-db-1"))["id"].as_str().unwrap().to_string();
    let out = env.run(&["down", "-v", "-t", "1", "-p", &p]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("Container {p}-db-1  Removed")) && err.contains(&format!("Volume {p}_data  Removed")), "{err}");
    assert!(!env.run(&["inspect", &format!("{p}-db-1")]).status.success(), "the project's container is left");
    let vols = env.ok(&["volume", "ls"]);
    assert!(!vols.contains(&format!("{p}_data ")) && !vols.lines().any(|l| l.starts_with(&format!("{p}_data"))), "{vols}");
    assert!(vols.contains(&format!("{other}_data")) && vols.contains("loose"), "down -v took another's volume: {vols}");
    assert!(inspect(&env, "plain")["running"].as_bool().unwrap());
    assert!(inspect(&env, &format!("{other}-db-1"))["running"].as_bool().unwrap());
    let nets = env.ok(&["network", "ls"]);
    assert!(!nets.contains(&format!("{p}_default ")), "{nets}");
    assert!(nets.contains(&format!("{other}_default")), "down took another project's network: {nets}");
    // nothing of the network is left on the host: bridge, rules, name records
    assert!(!Path::new("/sys/class/net").join(&bridge).exists(), "bridge {bridge} left");
    let rules = std::process::Command::new("iptables-save").output().unwrap();
    assert!(!text(&rules.stdout).contains(&bridge), "rules of {bridge} left");
    let records = std::fs::read_dir("/run/bocker/dns/records").map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect::<Vec<_>>()).unwrap_or_default();
    assert!(!records.iter().any(|r| r.contains(&db_id)), "name record of {db_id} left: {records:?}");
    // nothing of the project is left for `stack ps`
    let ps = env.ok(&["stack", "ps", "-p", &p]);
    assert_eq!(ps.lines().count(), 1, "{ps}");
}

#[test]
fn depends_on_completed_successfully() {
    let (env, p) = setup("dep");
    let _down = Down { env: &env, project: p.clone() };
    let body = |code: i32| {
        format!(
            "services:\n  init:\n    image: busybox:latest\n    command: sh -c 'sleep 1; exit {code}'\n  app:\n    image: busybox:latest\n    command: sleep 600\n    depends_on:\n      init:\n        condition: service_completed_successfully\n{}",
            default_net(&env, 0)
        )
    };
    let file = write(&env.dir.path().join("s"), "compose.yaml", &body(0));
    up(&env, &["-p", &p, "-f", file.to_str().unwrap()]);
    let init = inspect(&env, &format!("{p}-init-1"));
    let app = inspect(&env, &format!("{p}-app-1"));
    let finished = init["state"]["finished"].as_f64().unwrap();
    let started = app["state"]["started"].as_f64().unwrap();
    assert!(started >= finished, "app started at {started}, before init finished at {finished}");
    env.ok(&["down", "-t", "1", "-p", &p]);
    let file = write(&env.dir.path().join("s"), "compose.yaml", &body(3));
    let o = env.run(&["up", "-d", "-p", &p, "-f", file.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("service \"init\" didn't complete successfully: exit 3"), "{}", text(&o.stderr));
    assert!(!env.run(&["inspect", &format!("{p}-app-1")]).status.success(), "app was created after a failed dependency");
}

#[test]
fn bad_stack_files_are_refused_with_one_line() {
    let (env, p) = setup("bad");
    let dir = env.dir.path().join("s");
    let cases = [
        ("services:\n  a: {image: busybox, depends_on: [b]}\n  b: {image: busybox, depends_on: [a]}\n", "dependency cycle between services: a -> b -> a"),
        ("services:\n  a: {image: busybox, bogus: 1}\n", "service \"a\": unknown key \"bogus\""),
        ("services:\n  a: {image: busybox, depends_on: [nope]}\n", "service \"a\" depends on undefined service \"nope\""),
        ("services:\n  a: {image: \"${NEEDED:?set NEEDED}\"}\n", "required variable NEEDED is missing a value: set NEEDED"),
        ("services:\n  a: [\n", "line "),
    ];
    for (body, want) in cases {
        let f = write(&dir, "compose.yaml", body);
        let o = env.run(&["up", "-d", "-p", &p, "-f", f.to_str().unwrap()]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{body}: {err}");
        assert!(err.contains(want) && err.lines().count() == 1, "{body}: want {want:?}, got {err}");
    }
    // an external volume or network must exist already: up stops there
    let _down = Down { env: &env, project: p.clone() };
    let externals = [
        (
            format!("services:\n  a: {{image: busybox, command: 'true', volumes: ['ext:/x']}}\nvolumes:\n  ext: {{external: true}}\n{}", default_net(&env, 0)),
            "external volume \"ext\" not found",
        ),
        (
            "services:\n  a: {image: busybox, command: 'true', networks: [ext]}\nnetworks:\n  ext: {external: true}\n".to_string(),
            "network ext declared as external, but could not be found",
        ),
    ];
    for (body, want) in externals {
        let f = write(&dir, "compose.yaml", &body);
        let o = env.run(&["up", "-d", "-p", &p, "-f", f.to_str().unwrap()]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{body}: {err}");
        // the project's own network may be made first (its progress line)
        let last = err.lines().last().unwrap_or_default();
        assert!(last == format!("bocker up: {want}") && err.lines().filter(|l| l.starts_with("bocker")).count() == 1, "{body}: want {want:?}, got {err}");
        assert!(!env.run(&["inspect", &format!("{p}-a-1")]).status.success(), "{body}: a container was made");
    }
    assert!(!env.ok(&["volume", "ls", "-q"]).lines().any(|v| v.ends_with("ext")), "a volume was made for an external one");
    // a Lua stack file runs in the restricted Lua: no host commands
    let f = write(&dir, "bocker-stack.lua", "os.execute('true')\nreturn { services = { a = { image = 'busybox' } } }\n");
    let o = env.run(&["up", "-d", "-p", &p, "-f", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("os.execute"), "{}", text(&o.stderr));
}

#[test]
fn depends_on_service_healthy_waits_for_health() {
    let (env, p) = setup("healthy");
    let _down = Down { env: &env, project: p.clone() };
    let file = write(
        &env.dir.path().join("s"),
        "compose.yaml",
        r#"services:
  server:
    image: busybox:latest
    command: sh -c 'trap "exit 0" TERM; sleep 2; touch /tmp/ready; while :; do sleep 1; done'
    healthcheck:
      test: test -f /tmp/ready
      interval: 300ms
      retries: 50
  client:
    image: busybox:latest
    command: sh -c 'trap "exit 0" TERM; while :; do sleep 1; done'
    depends_on:
      server:
        condition: service_healthy
"#
        .to_string()
            + &default_net(&env, 0),
    );
    up(&env, &["-p", &p, "-f", file.to_str().unwrap()]);
    let server = inspect(&env, &format!("{p}-server-1"));
    let client = inspect(&env, &format!("{p}-client-1"));
    let server_started = server["state"]["started"].as_f64().unwrap();
    let client_started = client["state"]["started"].as_f64().unwrap();
    // the server becomes healthy 2 s after it starts, not before
    assert!(client_started - server_started >= 2.0, "client started {:.2} s after the server", client_started - server_started);
    let ps = env.ok(&["stack", "ps", "-p", &p]);
    assert!(ps.lines().any(|l| l.starts_with(&format!("{p}-server-1 ")) && l.contains("(healthy)")), "{ps}");
}

#[test]
fn attached_up_prints_prefixed_lines_until_the_services_end() {
    let (env, p) = setup("attach");
    let _down = Down { env: &env, project: p.clone() };
    let file = write(
        &env.dir.path().join("s"),
        "compose.yaml",
        &format!("services:\n  one:\n    image: busybox:latest\n    command: sh -c 'sleep 0.5; echo first; echo second'\n  two:\n    image: busybox:latest\n    command: sh -c 'sleep 0.5; echo other'\n{}", default_net(&env, 0)),
    );
    let o = env.run(&["up", "-p", &p, "-f", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"one-1  | first") && lines.contains(&"one-1  | second") && lines.contains(&"two-1  | other"), "{out}");
    let first = lines.iter().position(|l| *l == "one-1  | first").unwrap();
    let second = lines.iter().position(|l| *l == "one-1  | second").unwrap();
    assert!(first < second, "{out}");
}

#[test]
fn ctrl_c_stops_an_attached_up() {
    let (env, p) = setup("intr");
    let _down = Down { env: &env, project: p.clone() };
    let file = write(
        &env.dir.path().join("s"),
        "compose.yaml",
        format!("services:\n  svc:\n    image: busybox:latest\n    command: sh -c 'trap \"exit 0\" TERM; echo up; while :; do sleep 0.2; done'\n{}", default_net(&env, 0)),
    );
    let child = env
        .cmd(&["up", "-p", &p, "-f", file.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let name = format!("{p}-svc-1");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !env.run(&["inspect", &name]).status.success() || !inspect(&env, &name)["running"].as_bool().unwrap_or(false) {
        assert!(std::time::Instant::now() < deadline, "the service never ran");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SAFETY: a plain kill(2) of the child this test spawned
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("svc-1  | up"), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains(&format!("Container {name}  Stopped")), "{}", text(&out.stderr));
    assert!(!inspect(&env, &name)["running"].as_bool().unwrap(), "Ctrl-C left the service running");
}
