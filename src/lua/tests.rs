//! Fast unit tests of the pure Lua helpers (flag parsing, units, mounts,
//! formatting), run inside a real core Lua state.
use mlua::Lua;

fn check(src: &str) {
    let lua = super::new().expect("lua core");
    let r: mlua::Result<()> = Lua::load(&lua, src).set_name("=test").exec();
    if let Err(e) = r {
        panic!("{e}");
    }
}

#[test]
fn flags_docker_forms() {
    check(r#"
local flags = require "bocker.flags"
local spec = {
  { long = "detach", short = "d", kind = "bool" },
  { long = "interactive", short = "i", kind = "bool" },
  { long = "tty", short = "t", kind = "bool" },
  { long = "name", kind = "string" },
  { long = "env", short = "e", kind = "list" },
  { long = "memory", short = "m", kind = "string" },
  { long = "time", kind = "int", default = 10 },
}
local o, p = flags.parse({ "-it", "--name", "x", "-e", "A=1", "--env=B=2", "-m512m", "img", "sh", "-c", "echo -d" }, spec, { interspersed = false })
assert(o.interactive and o.tty and not o.detach)
assert(o.name == "x" and o.memory == "512m" and o.time == 10)
assert(#o.env == 2 and o.env[1] == "A=1" and o.env[2] == "B=2")
assert(#p == 4 and p[1] == "img" and p[4] == "echo -d")
-- interspersed (default): flags after positionals still count
o, p = flags.parse({ "a", "-d", "b" }, spec)
assert(o.detach and #p == 2)
-- `--` ends flags
o, p = flags.parse({ "--", "-d" }, spec)
assert(not o.detach and p[1] == "-d")
-- errors
local _, err = flags.parse({ "--bogus" }, spec)
assert(err == "unknown flag: --bogus", err)
_, err = flags.parse({ "-x" }, spec)
assert(err:find("unknown shorthand flag: 'x'"), err)
_, err = flags.parse({ "--name" }, spec)
assert(err == "flag needs an argument: --name", err)
_, err = flags.parse({ "--time", "soon" }, spec)
assert(err:find("not an integer"), err)
"#);
}

#[test]
fn units_and_mounts() {
    check(r#"
local units = require "bocker.units"
assert(units.bytes("512m") == 536870912)
assert(units.bytes("1g") == 1073741824)
assert(units.bytes("100") == 100)
assert(units.bytes("64MB") == 67108864)
assert(units.bytes("lots") == nil)
local mounts = require "bocker.mounts"
local m = mounts.parse_volume("/data:/srv:ro")
assert(m.type == "bind" and m.source == "/data" and m.target == "/srv" and m.readonly)
m = mounts.parse_volume("cache:/var/cache")
assert(m.type == "volume" and not m.readonly)
assert(mounts.parse_volume("/a").type == "volume" and mounts.parse_volume("/a").source == "")
assert(mounts.parse_volume("/a:rel") == nil)
assert(mounts.parse_volume("/a:/b:rx") == nil)
m = mounts.parse_mount("type=bind,src=/a,dst=/b,readonly")
assert(m.type == "bind" and m.source == "/a" and m.target == "/b" and m.readonly)
assert(mounts.parse_mount("type=bind,src=/a,bogus=1") == nil)
m = mounts.parse_tmpfs("/run:size=64m")
assert(m.type == "tmpfs" and m.options == "size=64m")
"#);
}

#[test]
fn formatting() {
    check(r#"
local fmt = require "bocker.fmt"
assert(fmt.duration(3) == "3s" and fmt.duration(125) == "2m" and fmt.duration(7300) == "2h")
assert(fmt.size(999) == "999B" and fmt.size(1536000) == "1.54MB")
assert(fmt.status({ running = true, state = { started = 97 } }, 100) == "Up 3s")
assert(fmt.status({ running = false, state = { status = "exited", exit_code = 0, finished = 95 } }, 100) == "Exited (0) 5s ago")
assert(fmt.command({ "sh", "-c", "exit 3" }) == 'sh -c "exit 3"')
assert(fmt.truncate("abcdef", 4) == "abc…" and fmt.truncate("abc", 4) == "abc")
"#);
}

#[test]
fn dockerfile_parser() {
    check(r#"
local df = require "bocker.dockerfile"
local ins = df.parse([[
# syntax comment
FROM busybox AS base
ARG V=1.0
ENV A=1 \
    # a comment inside a continuation
    B="two words"

RUN echo ${V} \
  && echo done
copy [ "a b", "/dst/" ]
CMD ["echo", "hi"]
ENTRYPOINT exec top
]])
assert(#ins == 7, #ins)
assert(ins[1].cmd == "FROM" and ins[1].line == 2)
assert(ins[3].cmd == "ENV" and ins[3].args == 'A=1 B="two words"', ins[3].args)
assert(ins[4].line == 8 and ins[4].args == "echo ${V} && echo done", ins[4].args)
assert(ins[5].cmd == "COPY")
local steps = assert(df.plan(ins, { V = "2.0" }))
assert(#steps == 6)
assert(steps[1].op == "from" and steps[1].args[1] == "busybox")
assert(steps[2].op == "env" and steps[2].args[1][2][1] == "B" and steps[2].args[1][2][2] == "two words")
assert(steps[3].op == "run" and steps[3].args[1] == "echo ${V} && echo done")
assert(steps[3].args[2].env[1] == "V=2.0")           -- ARGs reach RUN as env
assert(steps[4].op == "copy" and steps[4].args[1] == "a b" and steps[4].args[2] == "/dst/")
assert(steps[5].op == "cmd" and steps[5].args[1][1] == "echo" and #steps[5].args[1] == 2)
local ep = steps[6].args[1]
assert(ep[1] == "/bin/sh" and ep[2] == "-c" and ep[3] == "exec top")
-- substitution
assert(df.expand("${A}/${B:-dflt}/$C/\\$D", { A = "x", C = "z" }) == "x/dflt/z/$D")
local s = assert(df.plan(df.parse("ARG BASE=alpine\nFROM ${BASE}:3\nENV P=/opt\nWORKDIR $P/app\n")))
assert(s[1].args[1] == "alpine:3" and s[3].args[1] == "/opt/app")
-- the old ENV form, LABEL, EXPOSE
s = assert(df.plan(df.parse("FROM x\nENV K the value\nLABEL a=b \"c d\"=e\nEXPOSE 80 53/udp\n")))
assert(s[2].args[1][1][1] == "K" and s[2].args[1][1][2] == "the value")
assert(s[3].args[1][2][1] == "c d")
assert(s[4].args[1][2] == "53/udp")
-- errors name the line
local _, err = df.plan(df.parse("FROM x\n\nHEALTHCHECK NONE\n"))
assert(err:find("line 3") and err:find("HEALTHCHECK"), err)
_, err = df.plan(df.parse("RUN x\n"))
assert(err:find("line 1") and err:find("before FROM"), err)
_, err = df.plan(df.parse("FROM a\nFROM b\n"))
assert(err:find("line 2") and err:find("multi%-stage"), err)
s = assert(df.plan(df.parse("FROM a\nADD --checksum=sha256:ab https://x/y /z\n")))
assert(s[2].op == "add" and s[2].args[1] == "https://x/y" and s[2].args[3].checksum == "sha256:ab")
_, err = df.plan(df.parse("FROM a\nCOPY a b /c\n"))
assert(err:find("ending in /"), err)
s = assert(df.plan(df.parse("FROM a\nCOPY --chown=1 --link --from=img *.txt /c/\n")))
assert(s[2].op == "copy" and s[2].args[1] == "*.txt" and s[2].args[3].chown == "1" and s[2].args[3].link and s[2].args[3].from == "img")
_, err = df.plan(df.parse("FROM a\nCOPY --bogus a /c\n"))
assert(err:find("unsupported flag %-%-bogus"), err)
_, err = df.plan(df.parse(""))
assert(err:find("no FROM"), err)
-- words
local w = df.words([[a "b c" 'd e' f\ g ""]])
assert(#w == 5 and w[2] == "b c" and w[3] == "d e" and w[4] == "f g" and w[5] == "", #w)
-- commit -c changes
local ch = assert(df.change('CMD ["a"]'))
ch = assert(df.change("ENV X=1 Y=2", ch))
ch = assert(df.change("EXPOSE 80", ch))
ch = assert(df.change("LABEL k=v", ch))
assert(ch.cmd[1] == "a" and ch.env[2] == "Y=2" and ch.expose[1] == "80" and ch.labels.k == "v")
assert(df.change("WORKDIR /w").workdir == "/w" and df.change("USER 1:1").user == "1:1")
assert(not df.change("RUN true"))
assert(bocker.build.from and bocker.build.hash_sources)  -- the library, as bocker.build
"#);
}

#[test]
fn build_time_summaries_match_the_verbs() {
    // `bocker help` lists built-ins from summaries read by build.rs: each
    // must be what the verb itself returns, and every built-in has one
    let lua = super::new().expect("lua core");
    for (name, _) in super::builtin_verbs() {
        let verb = super::verbs::load(&lua, name).expect("loads").expect("exists");
        let summary: String = verb.get("summary").expect("summary");
        assert_eq!(super::builtin_summary(name), Some(summary.as_str()), "verb {name}");
    }
}
