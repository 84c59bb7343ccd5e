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
-- Multi-stage: `build.stage(NAME, REF [, opts])` is `from` with a name;
-- a later `build.from(NAME)` starts from that stage's image, and
-- `b:copy(src, dst, { from = builder:id() })` copies out of it (`from`
-- takes an image id: `build.resolve(NAME_OR_REF)` gives one, pulling a
-- missing image). Stages are plain build objects, built when the script
-- calls their steps, in the script's order.
--
--   local gcc = build.stage("builder", "debian-gcc")
--   gcc:write("/src/hello.c", 'int main(){puts("hi");}\n')    -- an inline file
--   gcc:run("gcc -O2 -o /hello /src/hello.c", { mounts = { { type = "cache", target = "/root/.cache" } } })
--   local app = build.from("busybox:latest")
--   app:copy("/hello", "/usr/local/bin/hello", { from = gcc:id() })
--
-- RUN: `b:run(cmd | argv, { env = {"K=V"}, mounts = {...}, network = "bridge"|"none"|"host", desc })`
-- (desc: what the step line and the history show instead of the command).
-- A string runs in the image's SHELL (default /bin/sh -c). The network is
-- the default bridge unless `network` or `bocker build --network` says
-- otherwise (DNS from the host's resolv.conf); no memory limit unless
-- `bocker build --memory`. Mounts: `{ type = "cache", target, id }` (a
-- folder kept per id between builds, $BOCKER_ROOT/build-cache/mounts/),
-- `{ type = "bind", source, target [, from = stage|image] }` (of the
-- context, or of an image's files; read-only),
-- `{ type = "tmpfs", target, size }`, `{ type = "secret", id, target,
-- required }` (`bocker build --secret id=ID,src=FILE`, read-only at
-- /run/secrets/ID; its content is in no layer and no cache key),
-- `{ type = "file", target, text }` (an executable inline file, read-only:
-- a Dockerfile's `RUN <<EOF` script that starts with #! runs from
-- /dev/pipes/EOF, as BuildKit does).
--
-- Config steps beside env/label/...: `b:shell(argv)`, `b:stopsignal(sig)`,
-- `b:healthcheck{ cmd = "curl -f localhost" | test = {...}, interval =
-- "30s", timeout, start_period, start_interval, retries }`, `b:onbuild(
-- "RUN echo child")` (a build FROM this image runs it first; the child
-- does not inherit it). `b:write(dst, text [, opts])` copies an inline
-- file, `b:files({NAME = text}, {NAME...}, dst [, opts])` several.
--
-- Every step makes an image (RUN and COPY a layer, the others a config
-- change) and is cached: its key is the parent image, the step and (for
-- COPY) the content of the copied files, (for RUN) the argv, the ARGs
-- in use as env, the network and the mounts (ids and targets; a context
-- bind mount's content hash), kept in $BOCKER_ROOT/build-cache/.
-- A failing step removes its container and the images this build made, and
-- raises a build error { status, message } (`bocker script` and
-- `bocker build` exit with its status).
local M = {}

-- Defaults a driver (the build verb) may set: context, quiet, no_cache,
-- network, memory (bytes), secrets ({ ID = host file }).
M.defaults = {}

-- The named stages of the running script (`build.stage`).
M.stages = {}

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
  if self.quiet then return end
  -- stages building side by side: each line names its stage
  if self.session.parallel and self.name then io.stdout:write("[", self.name, "] ") end
  io.stdout:write(...)
  io.stdout:flush()
end

function Build:header(desc)
  local s = self.session
  s.step = s.step + 1
  local n = s.total and (s.step .. "/" .. s.total) or tostring(s.step)
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
    self.session.made[#self.session.made + 1] = hit
    cache_put(key, hit)
  end
  self.image = hit
  self:say(" ---> ", hit, "\n")
  return self
end

-- Removes what this build made (called when a step fails).
function Build:abort(status, msg)
  local made = self.session.made
  for i = #made, 1, -1 do bocker.image.remove(made[i], { force = true }) end
  self.session.made = {}
  fail(status, msg)
end

local function desc_of(cmd)
  if type(cmd) == "table" then return bocker.json.encode(cmd) end
  return cmd
end

local function basename(p) return (p:gsub("/+$", ""):match("([^/]*)$")) end

-- The shell-form argv of `cmd` in this build's SHELL.
function Build:shell_argv(cmd)
  local argv = {}
  for i, a in ipairs(self.run_shell or { "/bin/sh", "-c" }) do argv[i] = a end
  argv[#argv + 1] = cmd
  return argv
end

-- RUN mounts -> the container's mount specs and what the cache key holds.
function Build:run_mounts(list)
  local out, key, cleanup = {}, {}, {}
  for _, m in ipairs(list or {}) do
    local t = m.type or "bind"
    if t == "cache" then
      if type(m.target) ~= "string" then fail(1, "RUN cache mount: target needed") end
      local id = m.id or m.target
      local dir, err = bocker.build.cache_mount(id)
      if not dir then fail(1, "RUN cache mount %s: %s", id, err) end
      out[#out + 1] = { type = "bind", source = dir, target = m.target, readonly = m.readonly and true or false }
      key[#key + 1] = { "cache", id, m.target, m.readonly and true or false }
    elseif t == "tmpfs" then
      if type(m.target) ~= "string" then fail(1, "RUN tmpfs mount: target needed") end
      out[#out + 1] = { type = "tmpfs", source = "", target = m.target, options = m.size and ("size=" .. m.size) or nil }
      key[#key + 1] = { "tmpfs", m.target, m.size or "" }
    elseif t == "bind" and m.from then
      if type(m.target) ~= "string" then fail(1, "RUN bind mount: target needed") end
      local id, rerr = M.resolve(m.from, true)
      if not id then fail(1, "RUN bind mount from=%s: %s", m.from, rerr) end
      local src = m.source or "/"
      out[#out + 1] = { type = "bind", source = self:image_path(id, src), target = m.target, readonly = true }
      key[#key + 1] = { "bind-from", id, src, m.target }
    elseif t == "bind" then
      if type(m.target) ~= "string" then fail(1, "RUN bind mount: target needed") end
      local src = m.source or "."
      local root = assert(bocker.build.context_root(self.context))
      local path, err = bocker.build.context_root(root .. "/" .. src)
      if not path then fail(1, "RUN bind mount source %s: %s", src, err) end
      if path ~= root and path:sub(1, #root + 1) ~= root .. "/" then fail(1, "RUN bind mount source %s: outside the build context", src) end
      local hash, herr = bocker.build.hash_sources(root, { path:sub(#root + 2) ~= "" and path:sub(#root + 2) or "." })
      if not hash then fail(1, "RUN bind mount source %s: %s", src, herr) end
      out[#out + 1] = { type = "bind", source = path, target = m.target, readonly = true }
      key[#key + 1] = { "bind", src, m.target, hash }
    elseif t == "secret" then
      local id = m.id or (m.target and basename(m.target))
      local src = (self.secrets or {})[id]
      local target = m.target or ("/run/secrets/" .. id)
      if src then
        out[#out + 1] = { type = "bind", source = src, target = target, readonly = true }
        key[#key + 1] = { "secret", id, target }
      elseif m.required then
        fail(1, "RUN secret %s: not given (bocker build --secret id=%s,src=FILE)", id, id)
      end
    elseif t == "file" then
      -- an inline file (a heredoc script), executable and read-only;
      -- its folder goes when the step is done (`cleanup`)
      if type(m.target) ~= "string" or type(m.text) ~= "string" then fail(1, "RUN file mount: target and text needed") end
      local name = basename(m.target)
      local dir, err = bocker.build.inline_files({ [name] = m.text }, 493) -- 0755
      if not dir then fail(1, "RUN file mount %s: %s", m.target, err) end
      cleanup[#cleanup + 1] = dir
      out[#out + 1] = { type = "bind", source = dir .. "/" .. name, target = m.target, readonly = true }
      key[#key + 1] = { "file", m.target, bocker.sha256(m.text) }
    else
      fail(1, "RUN mount type %s: unsupported (cache, bind, tmpfs, secret, file)", tostring(t))
    end
  end
  return out, key, cleanup
end

-- A host path holding `source` of image `id` (for `--mount=type=bind,
-- from=...`): a COPY of it (through b:copy's `from`, cached like any COPY)
-- onto an empty image, whose layer folder is what gets mounted. That
-- image stays as an untagged intermediate (`prune` removes it).
function Build:image_path(id, source)
  local key = bocker.sha256("scratch")
  local base = cache_get(key)
  if not base then
    local img, err = bocker.image.scratch()
    if not img then fail(1, "bind mount from %s: %s", id, err) end
    base = img.id
    cache_put(key, base)
  end
  local tmp = setmetatable({
    session = M.session(), quiet = true, no_cache = self.no_cache, context = self.context,
    network = self.network, secrets = {}, image = base,
  }, Build)
  tmp:copy(source, "/m", { from = id })
  local img = bocker.image.get(tmp.image)
  local layer = img and img.layers[#img.layers]
  if not layer then fail(1, "bind mount from %s: %s was not copied", id, source) end
  return bocker.root() .. "/layers/" .. layer .. "/diff/m"
end

local NETWORKS = { bridge = true, none = true, host = true }

function Build:run(cmd, opts)
  opts = opts or {}
  local env = opts.env or {}
  local network = opts.network
  if network == nil or network == "default" then network = self.network end
  if not NETWORKS[network] then fail(1, "RUN: network %s: unsupported (bridge, none, host)", tostring(network)) end
  local argv = type(cmd) == "table" and cmd or self:shell_argv(cmd)
  local desc = "RUN " .. (opts.desc or desc_of(cmd))
  local mounts, mkey, cleanup = self:run_mounts(opts.mounts)
  local extra = bocker.json.encode({ argv = argv, env = env, network = network, mounts = mkey })
  local ok, r = pcall(self.do_step, self, desc, extra, function()
    local spec = { image = self.image, env = env, network = network, memory = self.memory or -1, mounts = mounts }
    spec.entrypoint = { argv[1] }
    spec.cmd = { table.unpack(argv, 2) }
    if #spec.cmd == 0 then spec.cmd = nil end
    local c, err = bocker.container.create(spec)
    if not c then self:abort(1, "RUN: " .. tostring(err)) end
    self:say(" ---> Running in ", c.id, "\n")
    local status, serr = self:start_container(c.id)
    if status ~= 0 then
      bocker.container.remove(c.id, { force = true, volumes = true })
      local what = type(cmd) == "table" and desc_of(cmd) or table.concat(argv, " ")
      self:abort(status or 1, string.format("The command '%s' returned a non-zero code: %s%s", what,
        tostring(status), serr and (" (" .. serr .. ")") or ""))
    end
    local img, cerr = bocker.container.commit(c.id, { created_by = desc, drop_mount_points = true })
    bocker.container.remove(c.id, { force = true, volumes = true })
    if not img then self:abort(1, "RUN: commit: " .. tostring(cerr)) end
    return img.id
  end)
  for _, d in ipairs(cleanup) do bocker.build.remove_inline(d) end
  if not ok then error(r, 0) end
  return r
end

-- Runs a created container to its end: attached, or (when stages build
-- side by side, inside a coroutine of the scheduler in dockerfile.lua)
-- detached, yielding until it exits; its output is printed then.
-- Returns its exit status and an error text.
function Build:start_container(id)
  if not (self.session.parallel and coroutine.isyieldable()) then
    return bocker.container.start(id)
  end
  local st, err = bocker.container.start(id, { detach = true })
  if st ~= 0 then return st, err end
  local code = coroutine.yield({ wait = id })
  if not self.quiet then bocker.container.logs(id); io.stdout:flush() end
  return code
end

-- Inline files (a Dockerfile's `COPY <<EOF`): `files` { NAME = text }
-- written to a private folder, `names` of them copied to `dst` as COPY
-- does (opts as b:copy's).
function Build:files(files, names, dst, opts)
  local dir, err = bocker.build.inline_files(files)
  if not dir then fail(1, "inline files: %s", err) end
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.context = dir
  local ok, e = pcall(self.copy, self, #names == 1 and names[1] or names, dst, o)
  bocker.build.remove_inline(dir)
  if not ok then error(e, 0) end
  return self
end

-- One inline file copied to `dst` (a path, or a folder ending in /).
function Build:write(dst, text, opts)
  local name = dst:sub(-1) == "/" and "file" or basename(dst)
  if name == "" then fail(1, "write: a destination path expected") end
  return self:files({ [name] = tostring(text) }, { name }, dst, opts)
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

function Build:argv(v)
  if type(v) == "string" then return self:shell_argv(v) end
  return v
end

function Build:cmd(v)
  v = self:argv(v)
  self.cmd_set = true
  return self:config({ cmd = v }, "CMD " .. bocker.json.encode(v))
end

-- Docker's rule: an ENTRYPOINT resets a Cmd inherited from the base image.
function Build:entrypoint(v)
  v = self:argv(v)
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

function Build:shell(v)
  if type(v) ~= "table" or #v == 0 then fail(1, "SHELL needs an argv list") end
  self:config({ shell = v }, "SHELL " .. bocker.json.encode(v))
  self.run_shell = v
  return self
end

function Build:stopsignal(sig)
  sig = tostring(sig)
  return self:config({ stop_signal = sig }, "STOPSIGNAL " .. sig)
end

-- { test = {...} | cmd = "..." | cmd = {argv}, interval, timeout,
-- start_period, start_interval (ns or "30s"), retries }; { test = {"NONE"} }
-- turns the base image's off.
function Build:healthcheck(h)
  local df = require "bocker.dockerfile"
  local hc = { test = h.test, retries = h.retries }
  if not hc.test then
    if type(h.cmd) == "string" then hc.test = { "CMD-SHELL", h.cmd }
    elseif type(h.cmd) == "table" then hc.test = { "CMD", table.unpack(h.cmd) }
    else fail(1, "HEALTHCHECK needs test or cmd") end
  end
  for _, k in ipairs({ "interval", "timeout", "start_period", "start_interval" }) do
    local v = h[k]
    if type(v) == "string" then
      local ns = df.duration(v)
      if not ns then fail(1, "HEALTHCHECK %s=%s: not a duration", k, v) end
      v = ns
    end
    hc[k] = v
  end
  local desc = "HEALTHCHECK " .. (hc.test[1] == "NONE" and "NONE" or bocker.json.encode(hc.test))
  return self:config({ healthcheck = hc }, desc)
end

-- A trigger (a Dockerfile instruction) for builds FROM the result.
function Build:onbuild(text)
  local list = {}
  for i, t in ipairs(self:image_config().onbuild or {}) do list[i] = t end
  list[#list + 1] = text
  return self:config({ onbuild = list }, "ONBUILD " .. text)
end

-- The config of the image built so far (a copy).
function Build:image_config()
  local img = bocker.image.get(self.image)
  return img and img.config or {}
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

-- A build session: the step counter and the images made, shared by the
-- stages of one build (a failure removes what every stage made).
function M.session(opts)
  return { step = 0, total = opts and opts.total, made = {} }
end

-- An image id for a stage name (`build.stage`) or an image reference
-- (pulled when missing); or nil, err.
function M.resolve(ref, quiet)
  local st = M.stages[ref]
  if st then return st.image end
  local img = bocker.image.get(ref)
  if img then return img.id end
  if not bocker.image.pull then return nil, "no such image: " .. ref end
  local perr
  img, perr = bocker.image.pull(ref, { progress = not quiet and (require "bocker.progress").new() or nil })
  if not img then return nil, perr end
  return img.id
end

-- A config change made without a step of its own (cached the same way).
function Build:quiet_config(changes, desc)
  local key = bocker.sha256(self.image .. "\0" .. desc)
  local hit = not self.no_cache and cache_get(key)
  if not hit then
    local img, err = bocker.image.derive(self.image, { changes = changes, created_by = desc })
    if not img then self:abort(1, desc .. ": " .. tostring(err)) end
    hit = img.id
    self.session.made[#self.session.made + 1] = hit
    cache_put(key, hit)
  end
  self.image = hit
end

-- Starts a build. opts: context (default: the script's folder), steps
-- (total, for "Step 2/5"), quiet, no_cache, network, memory; session and
-- image (a stage's result to start from) are the Dockerfile driver's.
-- A base image with ONBUILD triggers runs them first.
function M.from(ref, opts)
  opts = opts or {}
  local d = M.defaults
  local self = setmetatable({
    session = opts.session or M.session({ total = opts.steps }),
    quiet = opts.quiet or d.quiet,
    no_cache = opts.no_cache or d.no_cache,
    context = opts.context or d.context or script_dir(),
    network = opts.network or d.network or "bridge",
    memory = opts.memory or d.memory,
    secrets = d.secrets or {},
    name = opts.name,
  }, Build)
  M.last = self
  self:header("FROM " .. ref)
  local id
  if opts.image then
    id = opts.image
  elseif ref == "scratch" then
    local key = bocker.sha256("scratch")
    id = cache_get(key)
    if not id then
      local img, err = bocker.image.scratch()
      if not img then fail(1, "FROM scratch: %s", err) end
      id = img.id
      cache_put(key, id)
    end
  else
    local err
    id, err = M.resolve(ref, self.quiet)
    if not id then fail(1, "FROM %s: %s", ref, err) end
  end
  self.image = id
  self:say(" ---> ", id, "\n")
  local cfg = self:image_config()
  self.run_shell = cfg.shell
  local triggers = cfg.onbuild or {}
  if #triggers > 0 then
    -- Docker's rule: the triggers run in the child, which does not keep them
    self:say("# Executing ", #triggers, " build trigger", #triggers > 1 and "s" or "", "\n")
    if self.session.total then self.session.total = self.session.total + #triggers end
    self:quiet_config({ onbuild = {} }, "ONBUILD (the base image's triggers ran)")
    require("bocker.dockerfile").triggers(self, triggers, cfg.env)
  end
  return self
end

-- `from` with a name: `build.from(NAME)` and `build.resolve(NAME)` find it.
function M.stage(name, ref, opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.name = name
  local b = M.from(ref, o)
  M.stages[name] = b
  return b
end

-- Runs a build script (a file) with `context` set; returns its last build.
function M.script(file, context, args)
  local chunk, err = loadfile(file)
  if not chunk then fail(1, "%s", err) end
  M.defaults.context = context
  M.last = nil
  M.stages = {}
  rawset(_G, "context", context)
  chunk(table.unpack(args or {}))
  return M.last
end

return M
