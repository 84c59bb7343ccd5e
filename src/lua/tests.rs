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
"#);
}
