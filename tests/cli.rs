//! The front doors: help, user verbs, scripts, the REPL.
mod common;
use common::{text, Env};
use std::io::Write;

#[test]
fn help_lists_builtin_verbs() {
    let e = Env::new();
    let out = e.ok(&["help"]);
    for v in ["run", "ps", "images", "init", "logs", "exec", "rm", "rmi", "stop", "kill"] {
        assert!(out.lines().any(|l| l.trim_start().starts_with(v)), "help lacks {v}:\n{out}");
    }
    assert_eq!(e.ok(&["--help"]), out);
    let run = e.ok(&["help", "run"]);
    assert!(run.contains("Usage: bocker run") && run.contains("--memory"), "{run}");
}

#[test]
fn unknown_verb_and_flag_exit_125_with_hint() {
    let e = Env::new();
    let o = e.run(&["nosuchverb"]);
    assert_eq!(o.status.code(), Some(125));
    let err = text(&o.stderr);
    assert!(err.contains("unknown verb 'nosuchverb'") && err.contains("bocker help"), "{err}");
    let o = e.run(&["ps", "--bogus"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o.stderr).contains("unknown flag: --bogus"));
}

#[test]
fn user_verb_appears_runs_and_overrides_builtin() {
    let e = Env::new();
    let verbs = e.dir.path().join("verbs");
    std::fs::create_dir_all(&verbs).unwrap();
    std::fs::write(
        verbs.join("hello.lua"),
        "return { summary = 'Say hello', usage = 'bocker hello NAME...', run = function(args)\n  print('hello ' .. table.concat(args, ','))\n  return #args\nend }\n",
    )
    .unwrap();
    std::fs::write(
        verbs.join("ps.lua"),
        "return { summary = 'my ps', run = function() print('custom ps') return 0 end }\n",
    )
    .unwrap();
    let help = text(&e.cmd(&["help"]).env("BOCKER_VERBS", &verbs).output().unwrap().stdout);
    assert!(help.contains("hello") && help.contains("Say hello"), "{help}");
    assert!(help.contains("my ps"), "{help}");
    let o = e.cmd(&["hello", "a", "b c"]).env("BOCKER_VERBS", &verbs).output().unwrap();
    assert_eq!(text(&o.stdout), "hello a,b c\n");
    assert_eq!(o.status.code(), Some(2));
    let o = e.cmd(&["ps"]).env("BOCKER_VERBS", &verbs).output().unwrap();
    assert_eq!(text(&o.stdout), "custom ps\n");
    // ~/.config/bocker/verbs is searched too
    let cfg = e.home().join(".config/bocker/verbs");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("cfgverb.lua"), "return { summary = 's', run = function() print('from config') end }").unwrap();
    assert_eq!(e.ok(&["cfgverb"]), "from config\n");
}

#[test]
fn script_gets_arg_and_errors_name_the_chunk() {
    let e = Env::new();
    let s = e.dir.path().join("s.lua");
    std::fs::write(&s, "print(arg[0], arg[1], arg[2], select('#', ...))\nreturn 3\n").unwrap();
    let o = e.run(&["script", s.to_str().unwrap(), "x", "y"]);
    assert_eq!(text(&o.stdout), format!("{}\tx\ty\t2\n", s.display()));
    assert_eq!(o.status.code(), Some(3));
    let bad = e.dir.path().join("bad.lua");
    std::fs::write(&bad, "local x = 1\n\nerror('boom here')\n").unwrap();
    let o = e.run(&["script", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("bad.lua:3: boom here"), "{err}");
    assert!(err.contains("stack traceback"), "{err}");
    // a Rust error reaches Lua with its context
    std::fs::write(&bad, "local ok, err = bocker.image.get('nope')\nassert(ok, err)\n").unwrap();
    let o = e.run(&["script", bad.to_str().unwrap()]);
    assert!(text(&o.stderr).contains("No such image: nope"), "{}", text(&o.stderr));
    // unknown keys in a spec are an error
    std::fs::write(&bad, "bocker.container.create{ image = 'x', imgae = 'y' }\n").unwrap();
    let o = e.run(&["script", bad.to_str().unwrap()]);
    assert!(text(&o.stderr).contains("unknown field `imgae`"), "{}", text(&o.stderr));
}

#[test]
fn stdin_script_runs_when_not_a_terminal() {
    let e = Env::new();
    let mut c = e.cmd(&[]);
    c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"print(require('bocker').version)").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(text(&o.stdout).trim(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn repl_evaluates_continues_and_keeps_history() {
    let e = Env::new();
    let exp = e.dir.path().join("repl.exp");
    std::fs::write(
        &exp,
        format!(
            r#"set timeout 10
spawn {bin}
expect_after {{ timeout {{ puts "TIMEOUT"; exit 1 }} eof {{ puts "EOF"; exit 1 }} }}
expect "Ctrl-D exits"
expect "> "
send "1+1\r"
expect -re "\n2\r"
expect "> "
send "bocker.vers\t\r"
expect -re "\"{ver}\""
expect "> "
send "function twice(x)\r"
expect ">> "
send "return x*2 end\r"
expect "> "
send "twice(21)\r"
expect -re "\n42\r"
expect "> "
send "\x04"
expect_after
expect eof
"#,
            bin = common::bin(),
            ver = env!("CARGO_PKG_VERSION")
        ),
    )
    .unwrap();
    let run = || e.expect(&exp);
    let o = run();
    assert!(o.status.success(), "REPL session failed:\n{}", text(&o.stdout));
    let hist = std::fs::read_to_string(e.home().join(".local/state/bocker/history")).unwrap();
    assert!(hist.contains("twice(21)") && hist.contains("function twice(x)"), "{hist}");
    // a second session starts with that history
    std::fs::write(
        &exp,
        format!("set timeout 10\nspawn {}\nexpect_after {{ timeout {{ exit 1 }} eof {{ exit 1 }} }}\nexpect \"> \"\nsend \"\\033\\[A\\r\"\nexpect \"global 'twice'\"\nsend \"\\x04\"\nexpect_after\nexpect eof\n", common::bin()),
    )
    .unwrap();
    let o = run();
    assert!(o.status.success(), "history not recalled:\n{}", text(&o.stdout));
}

#[test]
fn images_format_takes_go_templates() {
    let e = Env::new();
    let id = e.busybox();
    e.ok(&["tag", &id, "tmpl/box:1"]);
    let line = e.ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{if eq .Tag \"1\"}}one{{end}}"]);
    assert_eq!(line.trim(), format!("tmpl/box:1 {id} one"));
    let table = e.ok(&["images", "--format", "table {{.Repository}}\\t{{.Tag}}"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert_eq!(lines[0], "REPOSITORY   TAG");
    assert_eq!(lines[1], "tmpl/box     1");
    for bad in ["{{.Repository", "{{nosuch .}}"] {
        let o = e.run(&["images", "--format", bad]);
        assert_eq!(o.status.code(), Some(1), "{bad}");
        let err = text(&o.stderr);
        assert!(err.contains("template") && err.trim().lines().count() == 1, "{bad}: {err}");
    }
}

#[test]
fn version_and_info_print_docker_like_fields() {
    let e = Env::new();
    assert_eq!(e.ok(&["version", "--format", "{{.Version}}"]).trim(), env!("CARGO_PKG_VERSION"));
    assert_eq!(e.ok(&["info", "--format", "{{.Containers}} {{.Images}}"]).trim(), "0 0");
    e.busybox();
    assert_eq!(e.ok(&["info", "--format", "{{.Containers}} {{.Images}} {{.Driver}}"]).trim(), "0 1 overlay");
    let info = e.ok(&["info"]);
    assert!(info.contains(" Images: 1\n") && info.contains(" Cgroup Version: "), "{info}");
    assert_eq!(e.run(&["version", "extra"]).status.code(), Some(125));
}
