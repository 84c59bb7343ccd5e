-- Dockerfile -> build steps (pure Lua but for `run`, which drives the
-- build API of lua/lib/build.lua, so a Dockerfile and a build.lua share
-- one implementation).
--
--   parse(text)          -> instructions { line, cmd, args, heredocs }, err
--                           (parser directives `# escape=` and `# syntax=`,
--                           comments, continuations, heredocs)
--   plan(instrs, args)   -> { stages, globals, escape }, err: the stages,
--                           every instruction and flag checked up front
--                           (errors are `Dockerfile:LINE: ...`)
--   needed(plan, target) -> the stage indexes to build, in order
--   stage_steps(...)     -> one stage's instructions as build calls, with
--                           Docker's variable substitution (needs the base
--                           image's environment, so it runs at build time)
--   run(plan, opts)      -> builds the target stage; returns its build
--
-- Stage order: the stages the target needs (through `FROM name`,
-- `COPY --from=name` and `RUN --mount=from=name`), in the Dockerfile's
-- order; a stage nothing needs is not built. Stages that do not need each
-- other build side by side (see `schedule`).
local M = {}

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

local function ferr(line, fmt, ...)
  return string.format("Dockerfile:%d: " .. fmt, line, ...)
end

-- Instructions whose arguments may hold heredocs (`<<EOF`).
local HEREDOC_CMDS = { RUN = true, COPY = true, ADD = true }

-- `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'` in an instruction's arguments.
local function heredoc_markers(args)
  local out = {}
  if args:sub(1, 1) == "[" then return out end
  for dash, q, name in args:gmatch("<<(%-?)([\"']?)([%a_][%w_]*)%2") do
    out[#out + 1] = { name = name, strip = dash == "-", quoted = q ~= "" }
  end
  return out
end

-- Parser directives: `# escape=\` or `# escape=``, `# syntax=...`
-- (accepted, ignored), at the top of the file only.
local function directives(lines)
  local d = { escape = "\\" }
  for i, l in ipairs(lines) do
    local k, v = l:match("^%s*#%s*([%a][%w_-]*)%s*=%s*(.-)%s*$")
    if not k then break end
    k = k:lower()
    if k == "escape" then
      if v ~= "\\" and v ~= "`" then return nil, ferr(i, "invalid escape directive %q (\\ or `)", v) end
      d.escape = v
    else
      d[k] = v
    end
  end
  return d
end

-- Instructions: { { line = N, cmd = "RUN", args = "raw text", heredocs = {...} }, ...,
-- escape = "\\", directives = {...} }, or nil, err.
function M.parse(text)
  local lines = {}
  for raw in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = (raw:gsub("\r$", "")) end
  local d, derr = directives(lines)
  if not d then return nil, derr end
  local esc = d.escape
  local out = { escape = esc, directives = d }
  local buf, start
  local i = 0
  local function finish()
    local cmd, rest = buf:match("^(%S+)%s*(.*)$")
    local ins = { line = start, cmd = cmd:upper(), args = rest }
    buf = nil
    if HEREDOC_CMDS[ins.cmd] then
      local marks = heredoc_markers(rest)
      for _, h in ipairs(marks) do
        local body = {}
        while true do
          i = i + 1
          if i > #lines then return nil, ferr(ins.line, "unterminated heredoc <<%s", h.name) end
          local l = lines[i]
          if h.strip then l = l:gsub("^\t+", "") end
          if l == h.name then break end
          body[#body + 1] = l .. "\n"
        end
        h.data = table.concat(body)
      end
      if #marks > 0 then ins.heredocs = marks end
    end
    out[#out + 1] = ins
    return true
  end
  while i < #lines do
    i = i + 1
    local t = trim(lines[i])
    if t:sub(1, 1) == "#" or t == "" then
      -- comments (and parser directives), blank lines (also inside a continuation)
    else
      local cont = false
      if t:sub(-1) == esc then cont = true; t = trim(t:sub(1, -2)) end
      if buf then buf = (t == "" and buf) or (buf .. " " .. t) else buf, start = t, i end
      if not cont and buf ~= "" then
        local ok, err = finish()
        if not ok then return nil, err end
      end
    end
  end
  if buf and buf ~= "" then
    local ok, err = finish()
    if not ok then return nil, err end
  end
  return out
end

-- Shell-like words: quotes group, the escape character escapes.
function M.words(s, esc)
  esc = esc or "\\"
  local out, cur, i, q, any = {}, {}, 1, nil, false
  while i <= #s do
    local c = s:sub(i, i)
    if q then
      if c == q then q = nil
      elseif c == esc and q == '"' and i < #s then i = i + 1; cur[#cur + 1] = s:sub(i, i)
      else cur[#cur + 1] = c end
    elseif c == '"' or c == "'" then q = c; any = true
    elseif c == esc and i < #s then i = i + 1; cur[#cur + 1] = s:sub(i, i); any = true
    elseif c:match("%s") then
      if #cur > 0 or any then out[#out + 1] = table.concat(cur); cur = {}; any = false end
    else cur[#cur + 1] = c end
    i = i + 1
  end
  if q then return nil, "unterminated quote" end
  if #cur > 0 or any then out[#out + 1] = table.concat(cur) end
  return out
end

-- Docker's variable substitution: `$x`, `${x}`, `${x:-w}` (unset or
-- empty), `${x-w}` (unset), `${x:+w}`, `${x+w}`, `${x:?msg}`, `${x?msg}`;
-- nothing inside '...'; the escape character before `$` gives a literal
-- `$` (other escapes are kept for `words`). `vars[k]` is nil when unset.
-- Returns the text, or nil, err.
function M.expand(s, vars, esc)
  esc = esc or "\\"
  local pos, n = 1, #s
  local function scan(stop)
    local out, sq, dq = {}, false, false
    while pos <= n do
      local c = s:sub(pos, pos)
      if stop and c == stop and not sq and not dq then return table.concat(out) end
      if c == esc and pos < n and not sq then
        local nx = s:sub(pos + 1, pos + 1)
        if nx == "$" then out[#out + 1] = "$" else out[#out + 1] = c .. nx end
        pos = pos + 2
      elseif c == "'" and not dq then
        sq = not sq; out[#out + 1] = c; pos = pos + 1
      elseif c == '"' and not sq then
        dq = not dq; out[#out + 1] = c; pos = pos + 1
      elseif c == "$" and not sq then
        local name = s:match("^[%a_][%w_]*", pos + 1)
        if name then
          out[#out + 1] = vars[name] or ""
          pos = pos + 1 + #name
        elseif s:sub(pos + 1, pos + 1) == "{" then
          local nm = s:match("^[%a_][%w_]*", pos + 2)
          if not nm then error("bad substitution in " .. s, 0) end
          pos = pos + 2 + #nm
          local op = s:match("^:?[-+?]", pos) or ""
          pos = pos + #op
          local word = ""
          if op ~= "" then word = scan("}") else
            if s:sub(pos, pos) ~= "}" then error("bad substitution in " .. s, 0) end
          end
          if s:sub(pos, pos) ~= "}" then error("missing } in " .. s, 0) end
          pos = pos + 1
          local v = vars[nm]
          local set, full = v ~= nil, v ~= nil and v ~= ""
          if op == "" then out[#out + 1] = v or ""
          elseif op == ":-" then out[#out + 1] = full and v or word
          elseif op == "-" then out[#out + 1] = set and v or word
          elseif op == ":+" then out[#out + 1] = full and word or ""
          elseif op == "+" then out[#out + 1] = set and word or ""
          elseif op == ":?" or op == "?" then
            if (op == ":?" and not full) or (op == "?" and not set) then
              error(nm .. ": " .. (word ~= "" and word or "is not set"), 0)
            end
            out[#out + 1] = v
          end
        else
          out[#out + 1] = "$"; pos = pos + 1
        end
      else
        out[#out + 1] = c; pos = pos + 1
      end
    end
    if stop then error("missing " .. stop .. " in " .. s, 0) end
    return table.concat(out)
  end
  local ok, r = pcall(scan, nil)
  if not ok then return nil, r end
  return r
end

-- KEY=VALUE pairs (or the old `KEY VALUE` form): { {k, v}, ... }
local function pairs_of(args, what, esc)
  local k, v = args:match("^([^%s=]+)%s+(.*)$")
  if k and not args:match("^[^%s]*=") then return { { k, trim(v) } } end
  local ws, err = M.words(args, esc)
  if not ws then return nil, err end
  local out = {}
  for _, w in ipairs(ws) do
    local key, val = w:match("^([^=]+)=(.*)$")
    if not key then return nil, what .. " needs KEY=VALUE, got " .. w end
    out[#out + 1] = { key, val }
  end
  if #out == 0 then return nil, what .. " needs at least one KEY=VALUE" end
  return out
end

-- JSON array form, or nil (then the shell form applies, as Docker does).
local function json_list(args)
  if args:sub(1, 1) ~= "[" then return nil end
  local ok, v = pcall(bocker.json.decode, args)
  if not ok or type(v) ~= "table" then return nil end
  for i = 1, #v do if type(v[i]) ~= "string" then return nil end end
  return v
end

-- The flags each instruction takes (`--name=value`); true: may repeat.
local FLAGS = {
  FROM = { platform = false },
  RUN = { mount = true, network = false },
  COPY = { from = false, chown = false, chmod = false, link = false },
  ADD = { chown = false, chmod = false, link = false, checksum = false },
  HEALTHCHECK = { interval = false, timeout = false, ["start-period"] = false, ["start-interval"] = false, retries = false },
}

local SUPPORTED = "FROM, RUN, COPY, ADD, ENV, ARG, WORKDIR, USER, CMD, ENTRYPOINT, EXPOSE, LABEL, VOLUME, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD, MAINTAINER"
local KNOWN = {}
for w in SUPPORTED:gmatch("%u+") do KNOWN[w] = true end

-- Leading `--name[=value]` flags of an instruction: flags { name = value
-- or { values } }, the rest; or nil, err.
local function take_flags(ins, args)
  local allowed = FLAGS[ins.cmd] or {}
  local flags, rest = {}, args
  while true do
    local name, eq, value, after = rest:match("^%-%-([%w][%w-]*)(=?)(%S*)%s*(.*)$")
    if not name then break end
    name = name:lower()
    local many = allowed[name]
    if many == nil then
      return nil, ferr(ins.line, "%s: unsupported flag --%s", ins.cmd, name)
    end
    if eq == "" then value = true end
    if many then
      flags[name] = flags[name] or {}
      table.insert(flags[name], value)
    else
      flags[name] = value
    end
    rest = after
  end
  return flags, rest
end

-- `type=cache,target=/x,id=y,...` -> { type = "cache", target = "/x", ... }
function M.mount_spec(s)
  local m = {}
  for part in s:gmatch("[^,]+") do
    local k, v = part:match("^([%w-]+)=(.*)$")
    if not k then k, v = part, true end
    k = k:lower()
    if k == "dst" or k == "destination" then k = "target" end
    if k == "src" then k = "source" end
    if k == "ro" or k == "readonly" then k = "readonly"; v = v == true or v == "true" end
    if k == "rw" or k == "readwrite" then k = "rw"; v = v == true or v == "true" end
    if k == "required" then v = v == true or v == "true" end
    m[k] = v
  end
  m.type = m.type or "bind"
  return m
end

local MOUNT_TYPES = { cache = true, bind = true, tmpfs = true, secret = true }
local MOUNT_KEYS = {
  cache = { type = 1, target = 1, id = 1, sharing = 1, readonly = 1 },
  bind = { type = 1, target = 1, source = 1, readonly = 1, rw = 1, from = 1 },
  tmpfs = { type = 1, target = 1, size = 1 },
  secret = { type = 1, target = 1, id = 1, required = 1 },
}

-- Checks one instruction up front (flags, forms); returns true or nil, err.
local function check(ins)
  local c = ins.cmd
  if not KNOWN[c] then
    return nil, ferr(ins.line, "unsupported instruction %s (supported: %s)", c, SUPPORTED)
  end
  local flags, rest = take_flags(ins, ins.args)
  if not flags then return nil, rest end
  ins.flags, ins.rest = flags, rest
  if c == "RUN" then
    if rest == "" then return nil, ferr(ins.line, "RUN needs a command") end
    for _, ms in ipairs(flags.mount or {}) do
      if ms == true then return nil, ferr(ins.line, "RUN --mount needs a value") end
      local m = M.mount_spec(ms)
      if not MOUNT_TYPES[m.type] then return nil, ferr(ins.line, "RUN --mount: unsupported type %s (cache, bind, tmpfs, secret)", m.type) end
      for k in pairs(m) do
        if not MOUNT_KEYS[m.type][k] then return nil, ferr(ins.line, "RUN --mount type=%s: unsupported option %s", m.type, k) end
      end
      if m.type == "bind" and m.rw then return nil, ferr(ins.line, "RUN --mount type=bind: rw is not supported (bind mounts are read-only)") end
      if m.type ~= "secret" and type(m.target) ~= "string" then return nil, ferr(ins.line, "RUN --mount type=%s needs target=", m.type) end
      if m.type == "secret" and type(m.id) ~= "string" and type(m.target) ~= "string" then return nil, ferr(ins.line, "RUN --mount type=secret needs id=") end
    end
    local net = flags.network
    if net and net ~= "default" and net ~= "none" and net ~= "host" then
      return nil, ferr(ins.line, "RUN --network=%s: unsupported (default, none, host)", tostring(net))
    end
  elseif c == "COPY" or c == "ADD" then
    local n = #(json_list(rest) or M.words(rest, "\\") or {})
    if n < 2 and not (ins.heredocs and n >= 1) then return nil, ferr(ins.line, "%s needs SRC... DST", c) end
  elseif c == "SHELL" then
    local j = json_list(rest)
    if not j or #j == 0 then return nil, ferr(ins.line, 'SHELL needs a JSON array, e.g. ["/bin/sh", "-c"]') end
  elseif c == "HEALTHCHECK" then
    local kind = (rest:match("^(%S+)") or ""):upper()
    if kind ~= "NONE" and kind ~= "CMD" then return nil, ferr(ins.line, "HEALTHCHECK needs NONE or [OPTIONS] CMD command") end
    if kind == "NONE" and next(flags) then return nil, ferr(ins.line, "HEALTHCHECK NONE takes no options") end
    if kind == "CMD" and trim(rest:sub(4)) == "" then return nil, ferr(ins.line, "HEALTHCHECK CMD needs a command") end
    for _, f in ipairs({ "interval", "timeout", "start-period", "start-interval" }) do
      local v = flags[f]
      if v ~= nil and not (type(v) == "string" and M.duration(v)) then
        return nil, ferr(ins.line, "HEALTHCHECK --%s=%s: not a duration", f, tostring(v))
      end
    end
  elseif c == "ONBUILD" then
    local inner = rest:match("^(%S+)")
    inner = inner and inner:upper()
    if not inner then return nil, ferr(ins.line, "ONBUILD needs an instruction") end
    if inner == "ONBUILD" or inner == "FROM" or inner == "MAINTAINER" then
      return nil, ferr(ins.line, "ONBUILD %s is not allowed", inner)
    end
    local sub = { line = ins.line, cmd = inner, args = trim(rest:sub(#inner + 1)) }
    local ok, err = check(sub)
    if not ok then return nil, err end
  elseif c == "CMD" or c == "ENTRYPOINT" or c == "WORKDIR" or c == "USER" or c == "STOPSIGNAL"
    or c == "EXPOSE" or c == "VOLUME" or c == "ENV" or c == "LABEL" or c == "ARG" then
    if rest == "" then return nil, ferr(ins.line, "%s needs an argument", c) end
  end
  return true
end

-- The automatic platform ARGs (BuildKit's), for the host's platform.
function M.platform_args()
  local p = bocker.build.platform and bocker.build.platform() or { os = "linux", arch = "amd64", name = "linux/amd64" }
  local a = {
    TARGETPLATFORM = p.name, TARGETOS = p.os, TARGETARCH = p.arch, TARGETVARIANT = p.variant or "",
    BUILDPLATFORM = p.name, BUILDOS = p.os, BUILDARCH = p.arch, BUILDVARIANT = p.variant or "",
  }
  return a
end

-- `ARG A=1 B="x y" C` -> { {name, default-or-nil}, ... } (defaults expanded)
local function arg_decls(ins, vars, esc)
  local ws, err = M.words(ins.rest, esc)
  if not ws then return nil, ferr(ins.line, "ARG: %s", err) end
  local out = {}
  for _, w in ipairs(ws) do
    local name, def = w:match("^([%a_][%w_]*)=(.*)$")
    name = name or w:match("^([%a_][%w_]*)$")
    if not name then return nil, ferr(ins.line, "ARG needs NAME[=default], got %s", w) end
    if def then
      local e, xerr = M.expand(def, vars, esc)
      if not e then return nil, ferr(ins.line, "ARG: %s", xerr) end
      def = e
    end
    out[#out + 1] = { name, def }
  end
  return out
end

-- Instructions -> { globals = {NAME = value}, stages = { { index, name,
-- base, line, instrs, deps = {index...} }, ... }, escape }. `build_args`
-- (--build-arg) override ARG defaults. Every instruction and flag is
-- checked here, before anything builds.
function M.plan(instrs, build_args)
  build_args = build_args or {}
  local esc = instrs.escape or "\\"
  local globals = M.platform_args()
  local plan = { stages = {}, escape = esc, globals = globals, build_args = build_args, by_name = {} }
  local stage
  for _, ins in ipairs(instrs) do
    local ok, err = check(ins)
    if not ok then return nil, err end
    if ins.cmd == "FROM" then
      local expanded, xerr = M.expand(ins.rest, globals, esc)
      if not expanded then return nil, ferr(ins.line, "FROM: %s", xerr) end
      local ws = M.words(expanded, esc) or {}
      if #ws ~= 1 and not (#ws == 3 and ws[2]:upper() == "AS") then return nil, ferr(ins.line, "FROM needs IMAGE [AS NAME]") end
      local want = type(ins.flags.platform) == "string" and M.expand(ins.flags.platform, globals, esc)
      if want and want ~= globals.BUILDPLATFORM and want ~= globals.BUILDOS .. "/" .. globals.BUILDARCH then
        return nil, ferr(ins.line, "FROM --platform=%s: only the host's platform (%s) is built", want, globals.BUILDPLATFORM)
      end
      stage = { index = #plan.stages + 1, base = ws[1], name = ws[3] and ws[3]:lower(), line = ins.line, instrs = {}, deps = {} }
      if stage.name then
        if plan.by_name[stage.name] then return nil, ferr(ins.line, "duplicate stage name %s", stage.name) end
        if stage.name:match("^%d+$") then return nil, ferr(ins.line, "a stage name cannot be a number: %s", stage.name) end
      end
      local dep = plan.by_name[ws[1]:lower()]
      if dep then stage.base_stage = dep; stage.deps[#stage.deps + 1] = dep end
      plan.stages[#plan.stages + 1] = stage
      if stage.name then plan.by_name[stage.name] = stage.index end
    elseif not stage then
      if ins.cmd ~= "ARG" then return nil, ferr(ins.line, "%s before FROM", ins.cmd) end
      local decls, derr = arg_decls(ins, globals, esc)
      if not decls then return nil, derr end
      for _, d in ipairs(decls) do
        local v = build_args[d[1]]
        if v == nil then v = d[2] end
        globals[d[1]] = v
      end
    else
      stage.instrs[#stage.instrs + 1] = ins
      -- what this stage needs from earlier ones
      local refs = {}
      if ins.cmd == "COPY" and type(ins.flags.from) == "string" then refs[1] = ins.flags.from end
      if ins.cmd == "RUN" then
        for _, ms in ipairs(ins.flags.mount or {}) do
          local m = M.mount_spec(ms)
          if type(m.from) == "string" then refs[#refs + 1] = m.from end
        end
      end
      for _, r in ipairs(refs) do
        local name = (M.expand(r, globals, esc) or r):lower()
        local dep = plan.by_name[name] or (name:match("^%d+$") and tonumber(name) + 1)
        if dep and dep >= stage.index then return nil, ferr(ins.line, "--from=%s: a stage can only use stages before it", r) end
        if dep and plan.stages[dep] then stage.deps[#stage.deps + 1] = dep end
      end
    end
  end
  if #plan.stages == 0 then return nil, "Dockerfile: no FROM instruction" end
  return plan
end

-- The indexes of the stages `target` (a name, or nil for the last) needs,
-- in the Dockerfile's order; or nil, err.
function M.needed(plan, target)
  local t = #plan.stages
  if target and target ~= "" then
    t = plan.by_name[target:lower()]
    if not t then return nil, "target stage " .. target .. " could not be found" end
  end
  local want = {}
  local function mark(i)
    if want[i] then return end
    want[i] = true
    for _, d in ipairs(plan.stages[i].deps) do mark(d) end
  end
  mark(t)
  local out = {}
  for i = 1, #plan.stages do if want[i] then out[#out + 1] = i end end
  return out
end

-- Go's time.ParseDuration subset Docker's HEALTHCHECK flags use -> ns
-- (bocker.units reads it, in seconds).
function M.duration(s)
  local secs = (require "bocker.units").duration(s)
  return secs and math.floor(secs * 1e9 + 0.5)
end

local function healthcheck(ins)
  local kind = ins.rest:match("^(%S+)"):upper()
  if kind == "NONE" then return { test = { "NONE" } } end
  local cmd = trim(ins.rest:sub(4))
  local j = json_list(cmd)
  local h = { test = j and { "CMD", table.unpack(j) } or { "CMD-SHELL", cmd } }
  local names = { interval = "interval", timeout = "timeout", ["start-period"] = "start_period", ["start-interval"] = "start_interval" }
  for flag, key in pairs(names) do
    local v = ins.flags[flag]
    if v then
      local d = type(v) == "string" and M.duration(v)
      if not d then return nil, ferr(ins.line, "HEALTHCHECK --%s=%s: not a duration", flag, tostring(v)) end
      h[key] = d
    end
  end
  if ins.flags.retries then
    local r = math.tointeger(tonumber(ins.flags.retries))
    if not r or r < 0 then return nil, ferr(ins.line, "HEALTHCHECK --retries=%s: not a count", tostring(ins.flags.retries)) end
    h.retries = r
  end
  return h
end

-- A RUN's shell-form command with its heredocs, as BuildKit runs it: a
-- command that is one heredoc runs the heredoc's text; otherwise the
-- heredocs are put back after the command line for the shell to read.
local function run_command(ins)
  local hd = ins.heredocs
  if not hd then return ins.rest end
  if #hd == 1 and ins.rest:match("^<<%-?[\"']?[%a_][%w_]*[\"']?$") then return hd[1].data end
  local full = ins.rest
  for _, h in ipairs(hd) do full = full .. "\n" .. h.data .. h.name end
  return full
end

-- One stage's instructions -> calls { op, args, line } of the build API.
-- `st`: { vars (the base image's env, then ENV and ARG as they come),
-- args (the ARGs in use: reach RUN as env), build_args, globals, escape,
-- stage_ref = function(name) -> image id or nil }.
function M.steps(instrs, st)
  local steps = {}
  local esc = st.escape or "\\"
  for _, ins in ipairs(instrs) do
    if not ins.flags then
      local ok, err = check(ins)
      if not ok then return nil, err end
    end
    local c, a = ins.cmd, ins.rest
    local function step(op, ...) steps[#steps + 1] = { op = op, args = table.pack(...), line = ins.line, text = c .. " " .. ins.args } end
    local function x(s)
      local r, err = M.expand(s, st.vars, esc)
      if not r then error(ferr(ins.line, "%s: %s", c, err), 0) end
      return r
    end
    if c == "ARG" then
      local decls, derr = arg_decls(ins, st.vars, esc)
      if not decls then return nil, derr end
      for _, d in ipairs(decls) do
        local name = d[1]
        local v = st.build_args[name]
        if v == nil then v = d[2] end
        if v == nil then v = st.globals[name] end
        if v ~= nil then
          if st.env_set[name] == nil then st.vars[name] = v end
          st.args[#st.args + 1] = { name, v }
        end
      end
    elseif c == "RUN" then
      local env = {}
      for _, kv in ipairs(st.args) do
        if st.env_set[kv[1]] == nil then env[#env + 1] = kv[1] .. "=" .. kv[2] end
      end
      local opts = {}
      if #env > 0 then opts.env = env end
      if ins.flags.network then opts.network = ins.flags.network end
      for _, ms in ipairs(ins.flags.mount or {}) do
        local m = M.mount_spec(x(ms))
        if m.from then
          local id, rerr = st.stage_ref(m.from)
          if not id then return nil, ferr(ins.line, "RUN --mount from=%s: %s", m.from, tostring(rerr)) end
          m.from = id
        end
        opts.mounts = opts.mounts or {}
        opts.mounts[#opts.mounts + 1] = m
      end
      local j = not ins.heredocs and json_list(a)
      -- the step line shows the flags and a heredoc's first line, as written
      if ins.heredocs or next(ins.flags) then opts.desc = ins.args end
      local cmd = j or run_command(ins)
      local hd = ins.heredocs and ins.heredocs[1]
      if hd and cmd == hd.data and hd.data:sub(1, 2) == "#!" then
        -- a script with its own interpreter: run as a file, as BuildKit does
        local target = "/dev/pipes/" .. hd.name
        opts.mounts = opts.mounts or {}
        opts.mounts[#opts.mounts + 1] = { type = "file", target = target, text = hd.data }
        cmd = { target }
      end
      step("run", cmd, next(opts) and opts or nil)
    elseif c == "COPY" or c == "ADD" then
      local srcs = json_list(a)
      if srcs then
        for i, w in ipairs(srcs) do srcs[i] = x(w) end
      else
        local ws, werr = M.words(x(a), esc)
        if not ws then return nil, ferr(ins.line, "%s: %s", c, werr) end
        srcs = ws
      end
      local dst = table.remove(srcs)
      local opts = {}
      for _, k in ipairs({ "chown", "chmod", "checksum" }) do
        if type(ins.flags[k]) == "string" then opts[k] = x(ins.flags[k]) end
      end
      if ins.flags.link then opts.link = true end
      if ins.flags.from then
        local ref = x(tostring(ins.flags.from))
        local id, rerr = st.stage_ref(ref)
        if not id then return nil, ferr(ins.line, "%s --from=%s: %s", c, ref, tostring(rerr)) end
        opts.from = id
      end
      local inline
      if ins.heredocs then
        inline = {}
        local names = {}
        for _, h in ipairs(ins.heredocs) do
          local data = h.data
          if not h.quoted then data = x(data) end
          inline[h.name] = data
          names[h.name] = true
        end
        local keep = {}
        for _, s in ipairs(srcs) do
          local name = s:match("^<<%-?[\"']?([%a_][%w_]*)[\"']?$")
          if not name then
            return nil, ferr(ins.line, "%s: heredocs and files of the context cannot be mixed", c)
          end
          keep[#keep + 1] = name
        end
        srcs = keep
      end
      if inline then
        step("files", inline, srcs, dst, opts)
      else
        step(c:lower(), #srcs == 1 and srcs[1] or srcs, dst, next(opts) and opts or nil)
      end
    elseif c == "ENV" then
      local p, err = pairs_of(x(a), "ENV", esc)
      if not p then return nil, ferr(ins.line, "%s", err) end
      for _, kv in ipairs(p) do st.vars[kv[1]] = kv[2]; st.env_set[kv[1]] = true end
      step("env", p)
    elseif c == "LABEL" then
      local p, err = pairs_of(x(a), "LABEL", esc)
      if not p then return nil, ferr(ins.line, "%s", err) end
      step("label", p)
    elseif c == "MAINTAINER" then
      -- deprecated in Docker, still common: kept as the label Docker's
      -- documentation gives as its replacement
      local v = trim(x(a))
      if v == "" then return nil, ferr(ins.line, "MAINTAINER needs an argument") end
      step("label", { { "maintainer", v } })
    elseif c == "WORKDIR" or c == "USER" or c == "STOPSIGNAL" then
      local v = trim(x(a))
      if v == "" then return nil, ferr(ins.line, "%s needs an argument", c) end
      step(c:lower(), v)
    elseif c == "CMD" or c == "ENTRYPOINT" then
      step(c:lower(), json_list(a) or a)
    elseif c == "SHELL" then
      step("shell", json_list(a))
    elseif c == "EXPOSE" or c == "VOLUME" then
      local ws = json_list(a) or M.words(x(a), esc)
      if not ws or #ws == 0 then return nil, ferr(ins.line, "%s needs an argument", c) end
      step(c:lower(), ws)
    elseif c == "HEALTHCHECK" then
      local h, herr = healthcheck(ins)
      if not h then return nil, herr end
      step("healthcheck", h)
    elseif c == "ONBUILD" then
      step("onbuild", a)
    elseif c == "FROM" then
      return nil, ferr(ins.line, "FROM inside a stage")
    end
  end
  return steps
end

-- The stepping state of a stage whose base image has environment `env`.
function M.stage_state(plan, env, results)
  local vars = {}
  for _, e in ipairs(env or {}) do
    local k, v = e:match("^([^=]+)=(.*)$")
    if k then vars[k] = v end
  end
  local env_set = {}
  for k in pairs(vars) do env_set[k] = true end
  local function stage_ref(ref)
    local i = plan.by_name[ref:lower()] or (ref:match("^%d+$") and tonumber(ref) + 1)
    if i and results[i] then return results[i] end
    if i then return nil, "stage was not built" end
    return require("bocker.build").resolve(ref)
  end
  return {
    vars = vars, env_set = env_set, args = {}, escape = plan.escape,
    build_args = plan.build_args, globals = plan.globals, stage_ref = stage_ref,
  }
end

local function build_error(msg)
  local build = require "bocker.build"
  error(setmetatable({ status = 1, message = msg }, build.BuildError), 0)
end

-- Applies steps to a build object.
function M.apply(b, steps)
  for _, s in ipairs(steps) do
    b[s.op](b, table.unpack(s.args, 1, s.args.n))
  end
end

-- Runs ONBUILD triggers (instruction texts) on build `b`, whose base had them.
function M.triggers(b, texts, env)
  local instrs = {}
  for _, t in ipairs(texts) do
    local parsed, err = M.parse(t)
    if not parsed then build_error(err) end
    for _, ins in ipairs(parsed) do instrs[#instrs + 1] = ins end
  end
  local plan = { stages = {}, by_name = {}, escape = "\\", build_args = {}, globals = M.platform_args() }
  local st = M.stage_state(plan, env, {})
  local ok, steps, err = pcall(M.steps, instrs, st)
  if not ok then build_error(tostring(steps)) end
  if not steps then build_error("ONBUILD trigger: " .. err) end
  M.apply(b, steps)
end

-- Counts the steps of the stages to build (for "Step N/M").
local function count(plan, order)
  local n = 0
  for _, i in ipairs(order) do
    n = n + 1
    for _, ins in ipairs(plan.stages[i].instrs) do
      if ins.cmd ~= "ARG" then n = n + 1 end
    end
  end
  return n
end

-- Builds one stage on `session`; returns its build object.
local function build_stage(plan, stage, results, opts, session)
  local build = require "bocker.build"
  local bopts = { context = opts.context, quiet = opts.quiet, no_cache = opts.no_cache, session = session,
    name = stage.name or tostring(stage.index - 1) }
  if stage.base_stage then bopts.image = results[stage.base_stage] end
  local b = build.from(stage.base, bopts)
  local st = M.stage_state(plan, b:image_config().env, results)
  local ok, steps, serr = pcall(M.steps, stage.instrs, st)
  if not ok then b:abort(1, tostring(steps)) end
  if not steps then b:abort(1, serr) end
  M.apply(b, steps)
  return b
end

-- Runs the stages in `order` side by side: each in a coroutine, started
-- once the stages it needs are built; a RUN yields { wait = container }
-- while its container runs. A failure kills the other stages' running
-- containers and is raised again.
local function schedule(plan, order, results, opts, session)
  local live, done, last = {}, {}, nil
  local function ready(i)
    for _, d in ipairs(plan.stages[i].deps) do if not done[d] then return false end end
    return true
  end
  local pending = {}
  for _, i in ipairs(order) do pending[#pending + 1] = i end
  local function fail_all(err)
    for _, t in pairs(live) do
      if t.wait then
        bocker.container.kill(t.wait, "KILL")
        bocker.container.wait(t.wait, 10)
        bocker.container.remove(t.wait, { force = true, volumes = true })
      end
    end
    local made = session.made
    for k = #made, 1, -1 do bocker.image.remove(made[k], { force = true }) end
    session.made = {}
    error(err, 0)
  end
  local function step(t, ...)
    local ok, r = coroutine.resume(t.co, ...)
    if not ok then live[t.i] = nil; fail_all(r) end
    if coroutine.status(t.co) == "dead" then
      live[t.i] = nil
      results[t.i] = r.image
      done[t.i] = true
      last = r
    else
      t.wait = r and r.wait
    end
  end
  -- Ctrl-C (or TERM, HUP) must not leave this build's detached RUN
  -- containers running: the signal is noted, and the loop undoes all
  bocker.signals.trap({ "INT", "TERM", "HUP" })
  while #pending > 0 or next(live) do
    local sig = bocker.signals.caught()
    if sig then
      local build = require "bocker.build"
      fail_all(setmetatable({ status = 130, message = "interrupted (SIG" .. sig .. ")" }, build.BuildError))
    end
    local progressed = false
    local waiting = {}
    local starting = {}
    for _, i in ipairs(pending) do
      if ready(i) then starting[#starting + 1] = i else waiting[#waiting + 1] = i end
    end
    pending = waiting
    for _, i in ipairs(starting) do
      local t = { i = i }
      t.co = coroutine.create(function() return build_stage(plan, plan.stages[i], results, opts, session) end)
      live[i] = t
      step(t)
      progressed = true
    end
    for _, t in pairs(live) do
      if t.wait then
        local code = bocker.container.wait(t.wait, 0)
        if code then
          t.wait = nil
          step(t, code)
          progressed = true
        end
      end
    end
    if not progressed then bocker.sleep(0.02) end
  end
  return last
end

-- Builds the plan's target. opts: context, quiet, no_cache, target.
-- Returns the build object of the target (b.image is the result).
-- Stages that do not need each other build side by side (their RUN
-- containers run at once; a RUN's output is printed when it ends).
function M.run(plan, opts)
  local build = require "bocker.build"
  local order, err = M.needed(plan, opts.target)
  if not order then build_error(err) end
  local session = build.session({ total = count(plan, order) })
  local results = {}
  local independent = 0
  for _, i in ipairs(order) do
    if #plan.stages[i].deps == 0 then independent = independent + 1 end
  end
  if independent > 1 and not opts.sequential then
    session.parallel = true
    local b = schedule(plan, order, results, opts, session)
    return results[order[#order]] and b
  end
  local b
  for _, i in ipairs(order) do
    b = build_stage(plan, plan.stages[i], results, opts, session)
    results[i] = b.image
  end
  return b
end

-- One `-c 'INSTRUCTION ...'` of `bocker commit` -> config changes table
-- (bocker.container.commit's `changes`).
function M.change(line, changes)
  changes = changes or {}
  local parsed = M.parse(line)
  local ins = parsed and parsed[1]
  if not ins then return nil, "empty change" end
  local ok = { CMD = 1, ENTRYPOINT = 1, ENV = 1, WORKDIR = 1, USER = 1, EXPOSE = 1, LABEL = 1, VOLUME = 1 }
  if not ok[ins.cmd] then return nil, "unsupported change instruction " .. ins.cmd .. " (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, VOLUME)" end
  local chk, cerr = check(ins)
  if not chk then return nil, (cerr:gsub("^Dockerfile:%d+: ", "")) end
  local plan = { stages = {}, by_name = {}, escape = "\\", build_args = {}, globals = {} }
  local st = M.stage_state(plan, {}, {})
  local pok, steps, err = pcall(M.steps, { ins }, st)
  if not pok then return nil, tostring(steps) end
  if not steps then return nil, (err:gsub("^Dockerfile:%d+: ", "")) end
  local s = steps[1]
  local v = s.args[1]
  if s.op == "cmd" or s.op == "entrypoint" then
    changes[s.op] = type(v) == "string" and { "/bin/sh", "-c", v } or v
  elseif s.op == "workdir" then changes.workdir = v
  elseif s.op == "user" then changes.user = v
  elseif s.op == "env" then
    changes.env = changes.env or {}
    for _, kv in ipairs(v) do changes.env[#changes.env + 1] = kv[1] .. "=" .. kv[2] end
  elseif s.op == "label" then
    changes.labels = changes.labels or {}
    for _, kv in ipairs(v) do changes.labels[kv[1]] = kv[2] end
  elseif s.op == "expose" then
    changes.expose = changes.expose or {}
    for _, p in ipairs(v) do changes.expose[#changes.expose + 1] = p end
  elseif s.op == "volume" then
    changes.volumes = changes.volumes or {}
    for _, p in ipairs(v) do changes.volumes[#changes.volumes + 1] = p end
  end
  return changes
end

return M
