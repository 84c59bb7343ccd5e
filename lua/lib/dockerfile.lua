-- Dockerfile -> build steps (pure Lua). `parse` reads instructions
-- (comments, `\` continuations, JSON or shell forms); `plan` turns them
-- into calls of the build API (lua/lib/build.lua): { op = "run", args = {...}, line = N },
-- so a Dockerfile and a build.lua share one implementation.
local M = {}

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

-- Instructions: { { line = N, cmd = "RUN", args = "raw text" }, ... }.
function M.parse(text)
  local out, buf, start = {}, nil, nil
  local n = 0
  for raw in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local line = raw:gsub("\r$", "")
    local t = trim(line)
    if t:sub(1, 1) == "#" or (t == "" and buf) then
      -- comments (and parser directives) and blank lines inside a continuation
    elseif t ~= "" then
      local cont = false
      if t:sub(-1) == "\\" then cont = true; t = trim(t:sub(1, -2)) end
      if buf then buf = buf .. " " .. t else buf, start = t, n end
      if not cont then
        local cmd, rest = buf:match("^(%S+)%s*(.*)$")
        out[#out + 1] = { line = start, cmd = cmd:upper(), args = rest }
        buf = nil
      end
    end
  end
  if buf then
    local cmd, rest = buf:match("^(%S+)%s*(.*)$")
    out[#out + 1] = { line = start, cmd = cmd:upper(), args = rest }
  end
  return out
end

-- Shell-like words: quotes group, backslash escapes.
function M.words(s)
  local out, cur, i, q, any = {}, {}, 1, nil, false
  while i <= #s do
    local c = s:sub(i, i)
    if q then
      if c == q then q = nil
      elseif c == "\\" and q == '"' and i < #s then i = i + 1; cur[#cur + 1] = s:sub(i, i)
      else cur[#cur + 1] = c end
    elseif c == '"' or c == "'" then q = c; any = true
    elseif c == "\\" and i < #s then i = i + 1; cur[#cur + 1] = s:sub(i, i); any = true
    elseif c:match("%s") then
      if #cur > 0 or any then out[#out + 1] = table.concat(cur); cur = {}; any = false end
    else cur[#cur + 1] = c end
    i = i + 1
  end
  if q then return nil, "unterminated quote" end
  if #cur > 0 or any then out[#out + 1] = table.concat(cur) end
  return out
end

-- `${VAR}`, `${VAR:-default}`, `${VAR:+alt}`, `$VAR`; `\$` stays `$`.
function M.expand(s, vars)
  s = s:gsub("\\%$", "\0")
  s = s:gsub("%${([%w_]+):%-([^}]*)}", function(k, d) local v = vars[k]; return (v and v ~= "") and v or d end)
  s = s:gsub("%${([%w_]+):%+([^}]*)}", function(k, a) local v = vars[k]; return (v and v ~= "") and a or "" end)
  s = s:gsub("%${([%w_]+)}", function(k) return vars[k] or "" end)
  s = s:gsub("%$([%a_][%w_]*)", function(k) return vars[k] or "" end)
  return (s:gsub("%z", "$"))
end

-- KEY=VALUE pairs (or the old `KEY VALUE` form): { {k, v}, ... }
local function pairs_of(args, what)
  local k, v = args:match("^([^%s=]+)%s+(.*)$")
  if k and not args:match("^[^%s]*=") then return { { k, trim(v) } } end
  local ws, err = M.words(args)
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

local function command(args)
  return json_list(args) or { "/bin/sh", "-c", args }
end

local supported = "FROM, RUN, COPY, ADD, ENV, ARG, WORKDIR, USER, CMD, ENTRYPOINT, EXPOSE, LABEL, VOLUME"

-- Instructions -> steps { op, args, line }. `build_args` (--build-arg)
-- override ARG defaults. Errors name the line.
function M.plan(instrs, build_args)
  build_args = build_args or {}
  local vars, argenv, steps, seen_from = {}, {}, {}, false
  local function fail(ins, msg) return nil, string.format("Dockerfile line %d: %s", ins.line, msg) end
  for _, ins in ipairs(instrs) do
    local c, a = ins.cmd, ins.args
    local function step(op, ...) steps[#steps + 1] = { op = op, args = table.pack(...), line = ins.line } end
    if c ~= "ARG" and c ~= "FROM" and not seen_from then
      return fail(ins, c .. " before FROM")
    end
    if c == "ARG" then
      local name, def = a:match("^([%w_]+)=(.*)$")
      name = name or a:match("^([%w_]+)$")
      if not name then return fail(ins, "ARG needs NAME[=default]") end
      if def then def = (M.words(def) or { def })[1] or "" end
      local v = build_args[name] or (def and M.expand(def, vars))
      vars[name] = v
      if seen_from and v then argenv[#argenv + 1] = name .. "=" .. v end
    elseif c == "FROM" then
      if seen_from then return fail(ins, "multi-stage builds (a second FROM) are not supported") end
      local ws = M.words(M.expand(a, vars)) or {}
      if #ws ~= 1 and not (#ws == 3 and ws[2]:upper() == "AS") then return fail(ins, "FROM needs IMAGE [AS NAME]") end
      seen_from = true
      step("from", ws[1])
    elseif c == "RUN" then
      if a == "" then return fail(ins, "RUN needs a command") end
      local env = {}
      for i, e in ipairs(argenv) do env[i] = e end
      local j = json_list(a)
      step("run", j or a, #env > 0 and { env = env } or nil)
    elseif c == "COPY" or c == "ADD" then
      -- the flags: a minimal parser (build-lang owns the full one)
      local opts, rest = {}, a
      while true do
        local flag, tail = rest:match("^%-%-(%S+)%s*(.*)$")
        if not flag then break end
        local k, v = flag:match("^([%w-]+)=(.*)$")
        k = k or flag
        if k == "link" and (v == nil or v == "true") then opts.link = true
        elseif v and (k == "from" or k == "chown" or k == "chmod" or (k == "checksum" and c == "ADD")) then opts[k] = M.expand(v, vars)
        else return fail(ins, c .. ": unsupported flag --" .. flag) end
        rest = tail
      end
      local ws = json_list(rest) or M.words(M.expand(rest, vars))
      if not ws or #ws < 2 then return fail(ins, c .. " needs SRC... DST") end
      for i, w in ipairs(ws) do ws[i] = M.expand(w, vars) end
      local dst = table.remove(ws)
      if #ws > 1 and dst:sub(-1) ~= "/" then return fail(ins, c .. " with several sources needs a DST ending in /") end
      step(c:lower(), #ws == 1 and ws[1] or ws, dst, next(opts) and opts or nil)
    elseif c == "ENV" then
      local p, err = pairs_of(M.expand(a, vars), "ENV")
      if not p then return fail(ins, err) end
      for _, kv in ipairs(p) do vars[kv[1]] = kv[2] end
      step("env", p)
    elseif c == "LABEL" then
      local p, err = pairs_of(M.expand(a, vars), "LABEL")
      if not p then return fail(ins, err) end
      step("label", p)
    elseif c == "WORKDIR" or c == "USER" then
      local v = trim(M.expand(a, vars))
      if v == "" then return fail(ins, c .. " needs an argument") end
      step(c:lower(), v)
    elseif c == "CMD" or c == "ENTRYPOINT" then
      if a == "" then return fail(ins, c .. " needs an argument") end
      step(c:lower(), command(a))
    elseif c == "EXPOSE" or c == "VOLUME" then
      local ws = json_list(a) or M.words(M.expand(a, vars))
      if not ws or #ws == 0 then return fail(ins, c .. " needs an argument") end
      step(c:lower(), ws)
    else
      return fail(ins, "unsupported instruction " .. c .. " (supported: " .. supported .. ")")
    end
  end
  if not seen_from then return nil, "Dockerfile: no FROM instruction" end
  return steps
end

-- One `-c 'INSTRUCTION ...'` of `bocker commit` -> config changes table
-- (bocker.container.commit's `changes`).
function M.change(line, changes)
  changes = changes or {}
  local ins = M.parse(line)[1]
  if not ins then return nil, "empty change" end
  local ok = { CMD = 1, ENTRYPOINT = 1, ENV = 1, WORKDIR = 1, USER = 1, EXPOSE = 1, LABEL = 1, VOLUME = 1 }
  if not ok[ins.cmd] then return nil, "unsupported change instruction " .. ins.cmd .. " (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, VOLUME)" end
  local steps, err = M.plan({ { line = 1, cmd = "FROM", args = "x" }, ins })
  if not steps then return nil, (err:gsub("^Dockerfile line %d+: ", "")) end
  local s = steps[2]
  local v = s.args[1]
  if s.op == "cmd" or s.op == "entrypoint" then changes[s.op] = v
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

-- Runs the steps with the build API. opts: context, total, quiet,
-- no_cache. Returns the build object (b.image is the result).
function M.run(steps, opts)
  local build = require "bocker.build"
  local b
  for _, s in ipairs(steps) do
    if s.op == "from" then
      b = build.from(s.args[1], { context = opts.context, steps = #steps, quiet = opts.quiet, no_cache = opts.no_cache })
    else
      b[s.op](b, table.unpack(s.args, 1, s.args.n))
    end
  end
  return b
end

return M
