-- Image builds as Lua: `require "bocker.build"` (also `bocker.build`).
--
--   local build = require "bocker.build"
--   local b = build.from("busybox:latest")        -- or an image id, or "scratch"
--   b:run("mkdir -p /app && echo hi > /app/msg")  -- a container, committed as a layer
--   b:copy("src/", "/app/src")                    -- from the build context
--   b:env("GREETING", "hi"); b:workdir("/app"); b:user("1000")
--   b:cmd({ "cat", "/app/msg" }); b:expose(8080); b:label("k", "v")
--   print(b:tag("myapp:1.0"))                     -- the image id
--
-- Every step makes an image (RUN and COPY a layer, the others a config
-- change) and is cached: its key is the parent image, the step and (for
-- COPY) the content of the copied files, kept in $BOCKER_ROOT/build-cache/.
-- A failing step removes its container and the images this build made, and
-- raises a build error { status, message } (`bocker script` and
-- `bocker build` exit with its status).
local M = {}

-- Defaults a driver (the build verb) may set: context, quiet, no_cache.
M.defaults = {}

local BuildError = {}
BuildError.__index = BuildError
BuildError.__tostring = function(e) return e.message end
M.BuildError = BuildError

local function fail(status, fmt, ...)
  local msg = select("#", ...) > 0 and string.format(fmt, ...) or fmt
  error(setmetatable({ status = status, message = msg }, BuildError), 0)
end

local function script_dir()
  local a = rawget(_G, "arg")
  local s = type(a) == "table" and a[0]
  if type(s) == "string" then return s:match("^(.*)/[^/]*$") or "." end
  return "."
end

-- The cache lives in the core (private files under $BOCKER_ROOT/build-cache).
local cache_get_raw, cache_put_raw = bocker.build.cache_get, bocker.build.cache_put

local function cache_get(key)
  local id = cache_get_raw(key)
  if id and bocker.image.get(id) then return id end
  return nil
end

local function cache_put(key, id)
  cache_put_raw(key, id)
end

local Build = {}
Build.__index = Build

function Build:say(...)
  if not self.quiet then io.stdout:write(...); io.stdout:flush() end
end

function Build:header(desc)
  self.step = self.step + 1
  local n = self.total and (self.step .. "/" .. self.total) or tostring(self.step)
  self:say("Step ", n, " : ", desc, "\n")
end

-- Runs one step: the cache answers, or `make()` returns the new image.
function Build:do_step(desc, extra, make)
  self:header(desc)
  local key = bocker.sha256(self.image .. "\0" .. desc .. "\0" .. (extra or ""))
  local hit = not self.no_cache and cache_get(key)
  if hit then
    self:say(" ---> Using cache\n")
  else
    hit = make()
    self.made[#self.made + 1] = hit
    cache_put(key, hit)
  end
  self.image = hit
  self:say(" ---> ", hit, "\n")
  return self
end

-- Removes what this build made (called when a step fails).
function Build:abort(status, msg)
  for i = #self.made, 1, -1 do bocker.image.remove(self.made[i], { force = true }) end
  self.made = {}
  fail(status, msg)
end

local function desc_of(cmd)
  if type(cmd) == "table" then return bocker.json.encode(cmd) end
  return cmd
end

function Build:run(cmd, opts)
  opts = opts or {}
  local env = opts.env or {}
  local desc = "RUN " .. desc_of(cmd)
  local extra = #env > 0 and table.concat(env, "\0") or nil
  return self:do_step(desc, extra, function()
    local spec = { image = self.image, env = env, network = "none" }
    if type(cmd) == "table" then
      spec.entrypoint = { cmd[1] }
      spec.cmd = { table.unpack(cmd, 2) }
      if #spec.cmd == 0 then spec.cmd = nil end
    else
      spec.entrypoint = { "/bin/sh", "-c" }
      spec.cmd = { cmd }
    end
    local c, err = bocker.container.create(spec)
    if not c then self:abort(1, "RUN: " .. tostring(err)) end
    self:say(" ---> Running in ", c.id, "\n")
    local status, serr = bocker.container.start(c.id)
    if status ~= 0 then
      bocker.container.remove(c.id, { force = true })
      local what = type(cmd) == "table" and desc_of(cmd) or ("/bin/sh -c " .. cmd)
      self:abort(status or 1, string.format("The command '%s' returned a non-zero code: %s%s", what,
        tostring(status), serr and (" (" .. serr .. ")") or ""))
    end
    local img, cerr = bocker.container.commit(c.id, { created_by = desc })
    bocker.container.remove(c.id, { force = true })
    if not img then self:abort(1, "RUN: commit: " .. tostring(cerr)) end
    return img.id
  end)
end

-- COPY and ADD: b:copy(srcs, dst, opts), b:add(srcs, dst, opts); srcs a
-- path (Go wildcards allowed) or a list; opts (all optional):
--   from = IMAGE       sources inside that image's filesystem, not the context
--   chown = "u[:g]"    owner (names from the image's /etc/passwd, /etc/group)
--   chmod = "0755"     mode (octal)
--   link = true        accepted (every COPY is its own layer already)
--   checksum = "sha256:HEX"  of an ADD URL
--   context = DIR      this step's context instead of the build's
-- The cache key is the step, its options and its sources' content.
local COPY_OPTS = { from = true, chown = true, chmod = true, link = true, checksum = true, context = true }

local function copy_step(self, instr, src, dst, opts)
  opts = opts or {}
  if type(opts) ~= "table" then fail(1, "%s: options must be a table", instr) end
  for k in pairs(opts) do
    if not COPY_OPTS[k] then fail(1, "%s: unknown option %s", instr, tostring(k)) end
  end
  local srcs = type(src) == "table" and src or { src }
  if type(dst) ~= "string" or #srcs == 0 then fail(1, "%s needs sources and a destination", instr) end
  local flags = {}
  for _, k in ipairs({ "from", "chown", "chmod", "checksum" }) do
    if opts[k] ~= nil then flags[#flags + 1] = "--" .. k .. "=" .. tostring(opts[k]) end
  end
  if opts.link then flags[#flags + 1] = "--link" end
  local desc = instr .. " " .. (#flags > 0 and (table.concat(flags, " ") .. " ") or "") .. table.concat(srcs, " ") .. " " .. dst
  local spec = {
    srcs = srcs, dst = dst, add = instr == "ADD",
    context = opts.context or self.context,
    from = opts.from, chown = opts.chown, chmod = opts.chmod and tostring(opts.chmod),
    link = opts.link and true or nil, checksum = opts.checksum,
  }
  local key, err = bocker.build.copy_key(spec)
  if not key then self:header(desc); self:abort(1, tostring(err)) end
  return self:do_step(desc, key, function()
    spec.created_by = desc
    local img, aerr = bocker.image.add_layer(self.image, spec)
    if not img then self:abort(1, tostring(aerr)) end
    return img.id
  end)
end

function Build:copy(src, dst, opts) return copy_step(self, "COPY", src, dst, opts) end
function Build:add(src, dst, opts) return copy_step(self, "ADD", src, dst, opts) end

-- A config change: a new image record on the same layers.
function Build:config(changes, desc)
  return self:do_step(desc, nil, function()
    local img, err = bocker.image.derive(self.image, { changes = changes, created_by = desc })
    if not img then self:abort(1, desc .. ": " .. tostring(err)) end
    return img.id
  end)
end

-- (k, v), { {k, v}, ... } or { K = V, ... } (sorted) -> { {k, v}, ... }
local function kv_list(k, v)
  if type(k) ~= "table" then return { { k, tostring(v) } } end
  if #k > 0 then return k end
  local out = {}
  for key, val in pairs(k) do out[#out + 1] = { key, tostring(val) } end
  table.sort(out, function(a, b) return a[1] < b[1] end)
  return out
end

local function kv_desc(list)
  local p = {}
  for i, kv in ipairs(list) do
    local v = kv[2]
    if v == "" or v:find("[%s\"'\\]") then v = '"' .. v:gsub('["\\]', "\\%0") .. '"' end
    p[i] = kv[1] .. "=" .. v
  end
  return table.concat(p, " ")
end

function Build:env(k, v)
  local list = kv_list(k, v)
  local env = {}
  for i, kv in ipairs(list) do env[i] = kv[1] .. "=" .. kv[2] end
  return self:config({ env = env }, "ENV " .. kv_desc(list))
end

function Build:label(k, v)
  local list = kv_list(k, v)
  local labels = {}
  for _, kv in ipairs(list) do labels[kv[1]] = kv[2] end
  return self:config({ labels = labels }, "LABEL " .. kv_desc(list))
end

function Build:workdir(d) return self:config({ workdir = d }, "WORKDIR " .. d) end
function Build:user(u) return self:config({ user = tostring(u) }, "USER " .. tostring(u)) end

local function argv(v)
  if type(v) == "string" then return { "/bin/sh", "-c", v } end
  return v
end

function Build:cmd(v)
  v = argv(v)
  self.cmd_set = true
  return self:config({ cmd = v }, "CMD " .. bocker.json.encode(v))
end

-- Docker's rule: an ENTRYPOINT resets a Cmd inherited from the base image.
function Build:entrypoint(v)
  v = argv(v)
  local ch = { entrypoint = v }
  if not self.cmd_set then ch.cmd = {} end
  return self:config(ch, "ENTRYPOINT " .. bocker.json.encode(v))
end

local function list_of(...)
  local first = ...
  if type(first) == "table" then return first end
  local out = {}
  for i = 1, select("#", ...) do out[i] = tostring((select(i, ...))) end
  return out
end

function Build:expose(...)
  local ports = list_of(...)
  return self:config({ expose = ports }, "EXPOSE " .. table.concat(ports, " "))
end

function Build:volume(...)
  local v = list_of(...)
  return self:config({ volumes = v }, "VOLUME " .. table.concat(v, " "))
end

-- Tags the result; returns the image id.
function Build:tag(name)
  local img, err = bocker.image.tag(self.image, name)
  if not img then fail(1, "tag %s: %s", name, err) end
  self:say("Successfully tagged ", name, "\n")
  return self.image
end

-- The result's image id.
function Build:id() return self.image end

-- Starts a build. opts: context (default: the script's folder), steps
-- (total, for "Step 2/5"), quiet, no_cache.
function M.from(ref, opts)
  opts = opts or {}
  local d = M.defaults
  local self = setmetatable({
    step = 0,
    total = opts.steps,
    quiet = opts.quiet or d.quiet,
    no_cache = opts.no_cache or d.no_cache,
    context = opts.context or d.context or script_dir(),
    made = {},
  }, Build)
  M.last = self
  self:header("FROM " .. ref)
  local id
  if ref == "scratch" then
    local key = bocker.sha256("scratch")
    id = cache_get(key)
    if not id then
      local img, err = bocker.image.scratch()
      if not img then fail(1, "FROM scratch: %s", err) end
      id = img.id
      cache_put(key, id)
    end
  else
    local img = bocker.image.get(ref)
    if not img and bocker.image.pull then
      local perr
      img, perr = bocker.image.pull(ref, { progress = not self.quiet and (require "bocker.progress").new() or nil })
      if not img then fail(1, "FROM %s: %s", ref, perr) end
    end
    id = img.id
  end
  self.image = id
  self:say(" ---> ", id, "\n")
  return self
end

-- Runs a build script (a file) with `context` set; returns its last build.
function M.script(file, context, args)
  local chunk, err = loadfile(file)
  if not chunk then fail(1, "%s", err) end
  M.defaults.context = context
  M.last = nil
  rawset(_G, "context", context)
  chunk(table.unpack(args or {}))
  return M.last
end

return M
