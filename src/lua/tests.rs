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
assert(m.type == "tmpfs" and m.options == "noexec,nosuid,nodev,size=64m")
-- docker's merge: the last of each kind wins
m = mounts.parse_tmpfs("/t:exec,size=1m,size=2m,ro,mode=700")
assert(m.options == "nosuid,nodev,exec,size=2m,ro,mode=700" and m.readonly, m.options)
assert(mounts.parse_tmpfs("/t:bogus") == nil and mounts.parse_tmpfs("/t:size=x") == nil and mounts.parse_tmpfs("/t:mode=9") == nil)
m = mounts.parse_mount("type=tmpfs,dst=/t,tmpfs-size=1048576,tmpfs-mode=1777")
assert(m.options == "size=1048576,mode=1777", m.options)
-- -v: z/Z and the other accepted words; a missing host folder is made
m = mounts.parse_volume("/data:/srv:ro,Z")
assert(m.readonly and m.create_source and m.source == "/data")
assert(mounts.parse_volume("/data:/srv:z").readonly == false)
assert(mounts.parse_volume("/a:/b:rshared") == nil and mounts.parse_volume("/a:/b:ro,rw") == nil)
assert(mounts.parse_volume("vol:/srv:nocopy").type == "volume")
local rf = require "bocker.runflags"
local u = rf.ulimit("nofile=10:20")
assert(u.name == "nofile" and u.soft == 10 and u.hard == 20)
u = rf.ulimit("core=-1")
assert(u.soft == -1 and u.hard == -1)
assert(rf.ulimit("nofile") == nil and rf.ulimit("nofile=a") == nil)
local s = rf.sysctls({ "net.ipv4.ip_forward=1", "kernel.shmmax=5" })
assert(s["net.ipv4.ip_forward"] == "1" and s["kernel.shmmax"] == "5")
assert(select(2, rf.sysctls({ "novalue" })))
assert(rf.size("memory-swap", "-1", true) == -1 and rf.size("shm-size", "1m") == 1048576)
assert(rf.cpus("1.5") == 1.5 and rf.cpus("x") == nil)
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
local plan = assert(df.plan(ins, { V = "2.0" }))
assert(#plan.stages == 1 and plan.stages[1].base == "busybox" and plan.stages[1].name == "base")
local function steps_of(p, env, i) return assert(df.steps(p.stages[i or 1].instrs, df.stage_state(p, env or {}, {}))) end
local steps = steps_of(plan)
assert(#steps == 5, #steps)
assert(steps[1].op == "env" and steps[1].args[1][2][1] == "B" and steps[1].args[1][2][2] == "two words")
assert(steps[2].op == "run" and steps[2].args[1] == "echo ${V} && echo done")
assert(steps[2].args[2].env[1] == "V=2.0")           -- ARGs reach RUN as env
assert(steps[3].op == "copy" and steps[3].args[1] == "a b" and steps[3].args[2] == "/dst/")
assert(steps[4].op == "cmd" and steps[4].args[1][1] == "echo" and #steps[4].args[1] == 2)
assert(steps[5].op == "entrypoint" and steps[5].args[1] == "exec top")  -- shell form: the build's SHELL applies
-- substitution
assert(df.expand("${A}/${B:-dflt}/$C/\\$D", { A = "x", C = "z" }) == "x/dflt/z/$D")
local p = assert(df.plan(df.parse("ARG BASE=alpine\nFROM ${BASE}:3\nENV P=/opt\nWORKDIR $P/app\n")))
local s = steps_of(p)
assert(p.stages[1].base == "alpine:3" and s[2].args[1] == "/opt/app")
-- the base image's environment is in scope
s = steps_of(assert(df.plan(df.parse("FROM x\nWORKDIR $GOPATH/src\n"))), { "GOPATH=/go" })
assert(s[1].args[1] == "/go/src", s[1].args[1])
-- the old ENV form, LABEL, EXPOSE
s = steps_of(assert(df.plan(df.parse("FROM x\nENV K the value\nLABEL a=b \"c d\"=e\nEXPOSE 80 53/udp\n"))))
assert(s[1].args[1][1][1] == "K" and s[1].args[1][1][2] == "the value")
assert(s[2].args[1][2][1] == "c d")
assert(s[3].args[1][2] == "53/udp")
-- errors name the line
local _, err = df.plan(df.parse("FROM x\n\nFROBNICATE me\n"))
assert(err:find("^Dockerfile:3: ") and err:find("FROBNICATE"), err)
_, err = df.plan(df.parse("RUN x\n"))
assert(err:find("Dockerfile:1:") and err:find("before FROM"), err)
_, err = df.plan(df.parse("FROM a\nCOPY --nope=1 a /c\n"))
assert(err:find("Dockerfile:2:") and err:find("unsupported flag %-%-nope"), err)
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
fn dockerfile_language() {
    check(r##"
local df = require "bocker.dockerfile"
local function plan(text, args) return assert(df.plan(assert(df.parse(text)), args)) end
local function steps(p, i, env, results)
  return assert(df.steps(p.stages[i or 1].instrs, df.stage_state(p, env or {}, results or {})))
end
local function fails(text, pat)
  local ins, perr = df.parse(text)
  local _, err = ins and df.plan(ins) or nil, perr
  if ins then _, err = df.plan(ins) end
  assert(err and err:find(pat), tostring(err) .. " !~ " .. pat)
end
-- substitution: Docker's operators, set vs empty, quotes, escapes
local v = { A = "a", E = "" }
for _, t in ipairs({
  { "${A:-x}", "a" }, { "${E:-x}", "x" }, { "${U:-x}", "x" }, { "${E-x}", "" }, { "${U-x}", "x" },
  { "${A:+y}", "y" }, { "${E:+y}", "" }, { "${E+y}", "y" }, { "${U+y}", "" },
  { "'$A'", "'$A'" }, { '"$A"', '"a"' }, { "\\$A", "$A" }, { "$A$A", "aa" }, { "${U:-${A}b}", "ab" }, { "x$", "x$" },
}) do
  local got = df.expand(t[1], v)
  assert(got == t[2], t[1] .. " -> " .. tostring(got) .. ", not " .. t[2])
end
assert(df.expand("`$A", v, "`") == "$A")
assert(not df.expand("${U:?needed}", v))
-- several pairs in one ARG; --build-arg wins; a global ARG in a stage
local p = plan("ARG G=glob\nFROM x\nARG A=1 B=2 C\nARG G\nRUN env\n", { B = "two" })
local s = steps(p)
local env = table.concat(s[1].args[2].env, " ")
assert(env == "A=1 B=two G=glob", env)
-- automatic platform ARGs: global scope (FROM), declared in a stage
p = plan("FROM img-$TARGETARCH\nARG TARGETOS\nRUN true\n")
assert(p.stages[1].base:match("^img%-%w+$") and p.stages[1].base ~= "img-", p.stages[1].base)
assert(steps(p)[1].args[2].env[1]:match("^TARGETOS=linux$"))
-- escape directive; syntax accepted
p = plan("# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN echo a `\n  b\nCOPY a\\b c:\\d\n")
s = steps(p)
assert(s[1].args[1] == "echo a b", s[1].args[1])
assert(s[2].args[1] == "a\\b" and s[2].args[2] == "c:\\d", s[2].args[1])
fails("# escape=x\nFROM a\n", "invalid escape")
-- heredocs: one (its text runs), <<- strips tabs, several, COPY inline files
p = plan("FROM x\nRUN <<EOF\necho one\necho two\nEOF\nRUN <<-EOT bash\n\techo tab\n\tEOT\nRUN cat <<A >/a && cat <<'B' >/b\n$x\nA\n$y\nB\nCOPY <<F1 <<\"F2\" /dir/\n$HOME\nF1\n$HOME\nF2\nCMD x\n")
s = steps(p, 1, { "HOME=/root" })
assert(s[1].args[1] == "echo one\necho two\n", s[1].args[1])
assert(s[2].args[1] == "<<-EOT bash\necho tab\nEOT", s[2].args[1])
assert(s[3].args[1] == "cat <<A >/a && cat <<'B' >/b\n$x\nA\n$y\nB", s[3].args[1])
assert(s[4].op == "files" and s[4].args[1].F1 == "/root\n" and s[4].args[1].F2 == "$HOME\n")
assert(s[4].args[2][1] == "F1" and s[4].args[2][2] == "F2" and s[4].args[3] == "/dir/")
assert(s[5].op == "cmd" and s[5].args[1] == "x")
fails("FROM x\nRUN <<EOF\necho\n", "Dockerfile:2: unterminated heredoc")
s = steps(plan("FROM x\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n"))
assert(s[1].args[1][1] == "/dev/pipes/EOF" and s[1].args[2].mounts[1].type == "file")
assert(s[1].args[2].mounts[1].text == "#!/usr/bin/env python3\nprint(1)\n")
-- RUN flags
p = plan("FROM x\nRUN --mount=type=cache,target=/c,id=k --mount=type=secret,id=tok --network=none true\n")
s = steps(p)
local o = s[1].args[2]
assert(o.network == "none" and #o.mounts == 2 and o.mounts[1].type == "cache" and o.mounts[1].id == "k" and o.mounts[2].id == "tok")
fails("FROM x\nRUN --mount=type=nfs,target=/x true\n", "Dockerfile:2: .*unsupported type nfs")
fails("FROM x\nRUN --mount=type=cache,target=/x,bogus=1 true\n", "unsupported option bogus")
fails("FROM x\nRUN --network=bridge2 true\n", "Dockerfile:2: .*network")
fails("FROM x\n\nRUN --security=insecure true\n", "Dockerfile:3: RUN: unsupported flag %-%-security")
fails("FROM x\nFOO bar\n", "Dockerfile:2: unsupported instruction FOO")
fails("FROM x\nRUN --mount=type=cache,target=/c,uid=1000 true\n", "Dockerfile:2: .*unsupported option uid")
assert(plan("FROM --platform=$BUILDPLATFORM x\n").stages[1].base == "x")
fails("FROM --platform=plan9/mips x\n", "Dockerfile:1: FROM %-%-platform=plan9/mips")
-- SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD
p = plan('FROM x\nSHELL ["/bin/bash", "-c"]\nSTOPSIGNAL SIGQUIT\nHEALTHCHECK --interval=1m30s --retries=3 CMD curl -f http://x/\nHEALTHCHECK NONE\nONBUILD RUN echo hi\n')
s = steps(p)
assert(s[1].op == "shell" and s[1].args[1][1] == "/bin/bash")
assert(s[2].op == "stopsignal" and s[2].args[1] == "SIGQUIT")
local h = s[3].args[1]
assert(h.test[1] == "CMD-SHELL" and h.test[2] == "curl -f http://x/" and h.interval == 90e9 and h.retries == 3)
assert(s[4].args[1].test[1] == "NONE")
assert(s[5].op == "onbuild" and s[5].args[1] == "RUN echo hi")
fails("FROM x\nSHELL /bin/sh\n", "Dockerfile:2: SHELL needs a JSON array")
fails("FROM x\nONBUILD FROM y\n", "ONBUILD FROM is not allowed")
fails("FROM x\nONBUILD RUN --bad true\n", "unsupported flag")
fails("FROM x\nHEALTHCHECK --interval=5 CMD true\n", "Dockerfile:2: HEALTHCHECK %-%-interval=5: not a duration")
assert(df.duration("1m30s") == 90e9 and df.duration("500ms") == 5e8 and not df.duration("5"))
-- multi-stage: names, --from, --target, stages nothing needs
p = plan("FROM busybox AS base\nRUN a\nFROM debian AS gcc\nRUN b\nFROM base AS unused\nRUN exit 1\nFROM base\nCOPY --from=gcc /hello /bin/\nCOPY --from=0 /x /y\n")
assert(#p.stages == 4 and p.stages[3].base_stage == 1)
local order = assert(df.needed(p))
assert(table.concat(order, ",") == "1,2,4", table.concat(order, ","))
assert(table.concat(assert(df.needed(p, "unused")), ",") == "1,3")
assert(table.concat(assert(df.needed(p, "GCC")), ",") == "2")
assert(not df.needed(p, "nope"))
s = steps(p, 4, {}, { "img_base", "img_gcc" })
assert(s[1].op == "copy" and s[1].args[3].from == "img_gcc" and s[2].args[3].from == "img_base")
fails("FROM a AS x\nFROM b AS x\n", "duplicate stage name")
assert(#plan("FROM a\nCOPY --from=later /a /b\nFROM b AS later\n").stages[1].deps == 0)  -- a later name is an image, as in Docker
-- COPY flags go to the build API as options
s = steps(plan("FROM x\nARG U=app\nCOPY --chown=$U:$U --chmod=0755 --link a /b\nADD --checksum=sha256:00 a /c\n"))
assert(s[1].args[3].chown == "app:app" and s[1].args[3].chmod == "0755" and s[1].args[3].link == true)
assert(s[2].op == "add" and s[2].args[3].checksum == "sha256:00")
"##);
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

#[test]
fn stack_interpolation_as_compose() {
    check(r##"
local sf = require "bocker.stackfile"
local env = { A = "x", E = "" }
local function look(k) return env[k] end
assert(sf.interpolate("${A}-$A-${B:-d}-${E:-e}-${E-f}-${B-g}", look) == "x-x-d-e--g")
assert(sf.interpolate("$$A ${A:+set} ${B:+no}.", look) == "$A set .")
assert(sf.interpolate("${B:-${A}y}", look) == "xy")
local s, err = sf.interpolate("${B:?B is needed}", look)
assert(s == nil and err:find("B is needed"), err)
assert(sf.interpolate("${A", look) == nil)
local vals, order = sf.parse_env_lines("# c\nX=1\nexport Y = 'two words'\nZ=\"q\" \nW=v # note\n")
assert(vals.X == "1" and vals.Y == "two words" and vals.Z == "q" and vals.W == "v" and #order == 4)
"##);
}

#[test]
fn stack_words_and_durations() {
    check(r##"
local sf = require "bocker.stackfile"
local w = sf.split_words([[sh -c 'echo "a b"' "x\"y" z\ w]])
assert(#w == 5 and w[3] == 'echo "a b"' and w[4] == 'x"y' and w[5] == "z w", table.concat(w, "|"))
assert(sf.duration("1m30s") == 90 and sf.duration("500ms") == 0.5 and sf.duration(3) == 3)
assert(sf.duration("10x") == nil)
assert(sf.normalize_project("My App.2") == "myapp2" and sf.normalize_project("_x") == "x")
"##);
}

#[test]
fn stack_compose_reader() {
    check(r##"
local sf = require "bocker.stackfile"
local doc = assert(bocker.yaml.decode([[
x-common: &common
  restart: always
  labels: [a=1]
services:
  web:
    <<: *common
    image: busybox
    command: httpd -f -p 80
    environment: { PORT: 80, EMPTY: }
    ports: ["8080:80", {target: 53, published: 5353, protocol: udp}]
    volumes: ["data:/d:ro", "./site:/www", "/anon"]
    networks: { front: { aliases: [www] } }
    healthcheck: { test: wget -q localhost, interval: 2s, retries: 3 }
    stop_grace_period: 1m
  db:
    build: ./db
    depends_on: { web: { condition: service_healthy } }
    entrypoint: ["/bin/sh", "-c"]
networks:
  front: { ipam: { config: [{ subnet: 10.9.0.0/24 }] } }
volumes:
  data: {}
]]))
local m = sf.normalize(doc, { dir = "/srv/app", project = "P", read = function() return nil, "no" end, lookup = function() end })
assert(m.name == "p")
local web = m.services.web
assert(web.restart == "always" and web.labels.a == "1")
assert(#web.command == 4 and web.command[1] == "httpd")
assert(web.environment[1] == "PORT=80" and #web.environment == 1, table.concat(web.environment, ","))
assert(web.ports[1] == "8080:80" and web.ports[2] == "5353:53/udp")
assert(web.mounts[1].type == "volume" and web.mounts[1].source == "p_data" and web.mounts[1].readonly)
assert(web.mounts[2].type == "bind" and web.mounts[2].source == "/srv/app/site")
assert(web.mounts[3].source == "" and web.mounts[3].target == "/anon")
assert(web.networks[1].name == "front" and web.networks[1].aliases[1] == "www")
assert(m.networks.front.name == "p_front" and m.networks.front.subnet == "10.9.0.0/24")
assert(web.healthcheck.test[1] == "CMD-SHELL" and web.healthcheck.interval == 2 and web.healthcheck.retries == 3)
assert(web.stop_timeout == 60)
local db = m.services.db
assert(db.build.context == "/srv/app/db" and db.depends_on.web == "service_healthy")
assert(db.networks[1].name == "default" and m.networks.default.name == "p_default")
local ok, err = pcall(sf.normalize, { services = { a = { image = "x", bogus = 1 } } }, { dir = "/d", read = function() end, lookup = function() end })
assert(not ok and err == 'service "a": unknown key "bogus"', err)
"##);
}

#[test]
fn stack_order_and_hash() {
    check(r##"
local stack = require "bocker.stack"
local function svc(deps) return { depends_on = deps } end
local m = { services = { web = svc({ db = "service_healthy" }), db = svc({}), client = svc({ web = "service_started" }), other = svc({}) } }
local o = stack.order(m)
local pos = {}
for i, n in ipairs(o) do pos[n] = i end
assert(pos.db < pos.web and pos.web < pos.client and #o == 4)
o = stack.order(m, { "client" })
assert(#o == 3 and o[1] == "db" and o[3] == "client")
m.services.db.depends_on = { client = "service_started" }
local ok, err = pcall(stack.order, m)
assert(not ok and err:find("dependency cycle between services: ") and err:find("client"), err)
local a = stack.config_hash({ image = "x", env = { "A=1" }, labels = { b = "2", a = "1" } }, "img_1")
local b = stack.config_hash({ labels = { a = "1", b = "2" }, env = { "A=1" }, image = "x" }, "img_1")
assert(a == b and #a == 64)
assert(a ~= stack.config_hash({ image = "x", env = { "A=2" }, labels = { b = "2", a = "1" } }, "img_1"))
assert(a ~= stack.config_hash({ image = "x", env = { "A=1" }, labels = { b = "2", a = "1" } }, "img_2"))
"##);
}

#[test]
fn go_durations_filters_and_supervision_statuses() {
    check(r#"
local units = require "bocker.units"
assert(units.duration("1s") == 1 and units.duration("500ms") == 0.5 and units.duration("1m30s") == 90)
assert(units.duration("1.5h") == 5400 and units.duration("0") == 0 and units.duration("2us") == 2e-6)
for _, bad in ipairs { "", "5", "1x", "s", "1s2", "-1s" } do assert(not units.duration(bad), bad) end

local filters = require "bocker.filters"
local f, err, st = filters.parse({ "label=tier=web", "label=app", "status=running", "status=exited", "name=we" }, filters.ps_keys)
assert(f, err)
local web = { id = "ps_1", name = "web1", running = true, labels = { tier = "web", app = "x" }, state = { status = "running" } }
local db = { id = "ps_2", name = "db", running = false, labels = { tier = "db", app = "x" }, state = { status = "exited", exit_code = 3 } }
assert(filters.match(web, f) and not filters.match(db, f))
-- one key's values OR, labels AND
f = filters.parse({ "status=exited", "status=running" }, filters.ps_keys)
assert(filters.match(web, f) and filters.match(db, f))
f = filters.parse({ "label=tier=web", "label=tier=db" }, filters.ps_keys)
assert(not filters.match(web, f) and not filters.match(db, f))
f = filters.parse({ "exited=3", "id=ps_" }, filters.ps_keys)
assert(filters.match(db, f) and not filters.match(web, f))
f = filters.parse({ "health=none" }, filters.ps_keys)
assert(filters.match(db, f))
_, err, st = filters.parse({ "bogus=1" }, filters.ps_keys)
assert(err == "invalid filter 'bogus'" and st == 1, err)
_, err, st = filters.parse({ "status=sleepy" }, filters.ps_keys)
assert(err == "Unrecognised filter value for status: sleepy" and st == 1, err)
_, err, st = filters.parse({ "nokey" }, filters.ps_keys)
assert(st == 125 and err:find("bad format of filter", 1, true), err)

local fmt = require "bocker.fmt"
assert(fmt.status({ running = true, health = "healthy", state = { started = 95 } }, 100) == "Up 5s (healthy)")
assert(fmt.status({ running = true, health = "starting", state = { started = 95 } }, 100) == "Up 5s (health: starting)")
assert(fmt.status({ running = false, state = { status = "restarting", exit_code = 1, finished = 98 } }, 100) == "Restarting (1) 2s ago")
"#);
}

#[test]
fn finish_closes_the_state_while_a_finalizer_must_run() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    struct Flag(Arc<AtomicBool>, #[allow(dead_code)] crate::lua::MustClose);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    impl mlua::UserData for Flag {}
    let lua = crate::lua::new().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let ud = lua.create_userdata(Flag(ran.clone(), crate::lua::MustClose::new())).unwrap();
    lua.globals().set("held", ud).unwrap();
    crate::lua::finish(lua);
    assert!(ran.load(Ordering::SeqCst), "the userdata's Drop ran");
}

#[test]
fn label_filters_match_a_key_or_a_pair() {
    check(r#"
local m = (require "bocker.filters").label_matches
local l = { a = "1", e = "" }
assert(m(l, "a") and m(l, "a=1") and m(l, "e") and m(l, "e="))
assert(not m(l, "a=2") and not m(l, "b") and not m(l, "b="))
"#);
}

#[test]
fn start_takes_a_monitor_only_from_bocker_container_monitor() {
    check(r#"
for _, bad in ipairs { 1, "m", {}, io.stdout } do
  local ok, err = pcall(bocker.container.start, "ps_0000000000", { monitor = bad })
  assert(not ok and tostring(err):find("monitor must come from bocker.container.monitor%(%)"), tostring(err))
end
local ok, err = pcall(bocker.container.start, "ps_0000000000", { detach = true, bogus = 1 })
assert(not ok and tostring(err):find("bogus"), tostring(err))
"#);
}
