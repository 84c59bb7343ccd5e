-- The restricted Lua a `bocker build DIR` runs DIR/build.lua in: a build
-- context may come from anyone, so its script must not run host commands
-- or touch host files as root. (`bocker script` stays full Lua.)
--
-- Available: the build API (`require "bocker.build"`, also
-- `bocker.build`: from, stage, resolve, and the steps of a build; `build.args` holds the
-- --build-arg values), `bocker.json`, `bocker.sha256`, `bocker.version`;
-- `string` (not `string.dump`), `table`, `math`, `utf8`, `coroutine`;
-- assert, error, ipairs, next, pairs, pcall, print, rawequal, rawget,
-- rawlen, rawset, select, setmetatable, getmetatable (not of strings),
-- tonumber, tostring, type, xpcall, `collectgarbage("count")` and the like;
-- `os.time`, `os.clock`, `os.date`, `os.difftime`; `io.write`,
-- `io.stdout:write`, `io.stderr:write`; reading files of the build context
-- only: `io.open(path [, "r"])`, `io.lines(path)`, `context.read`-style
-- `bocker.build.read(path)`, `dofile`, `loadfile` and `require` of the
-- context's own Lua files (text chunks); `load` of text chunks.
-- Paths are relative to the context (an absolute path must lie inside
-- it); symlinks are resolved inside the context and never lead out.
--
-- Not available, with an error that says so: os.execute, os.exit,
-- os.remove, os.rename, os.tmpname, os.getenv (a host secret could end up
-- in an image; use --build-arg), os.setlocale, io.popen, io.open for
-- writing, io.read/io.input/io.output/io.tmpfile, string.dump, binary
-- chunks, package.loadlib and C modules, and all of debug.
local M = {}

local HINT = "is not available in a build (builds run in a restricted Lua; use 'bocker script' for your own automation)"

local function denied(name)
  return function() error(name .. " " .. HINT, 2) end
end

-- A library table: the allowed functions; any other name raises, so a
-- forbidden function is reported by name even when not listed here.
local function library(libname, allowed, forbidden)
  local t = {}
  for k, v in pairs(allowed) do t[k] = v end
  for _, k in ipairs(forbidden or {}) do t[k] = denied(libname .. "." .. k) end
  return setmetatable(t, {
    __index = function(_, k) error(libname .. "." .. tostring(k) .. " " .. HINT, 2) end,
    __metatable = false,
  })
end

local function copy(t, except)
  local out = {}
  for k, v in pairs(t) do
    if not (except and except[k]) then out[k] = v end
  end
  return out
end

-- A read-only file object over a string (what io.open gives in a build).
local File = {}
File.__index = File
File.__name = "FILE*"
File.__metatable = false

local function new_file(data) return setmetatable({ data = data, pos = 1 }, File) end

function File:read(...)
  local n = select("#", ...)
  local fmts = n > 0 and { ... } or { "l" }
  local out = {}
  for i, f in ipairs(fmts) do
    local v
    if type(f) == "number" then
      if self.pos > #self.data and f > 0 then v = nil
      else v = self.data:sub(self.pos, self.pos + f - 1); self.pos = self.pos + #v end
    else
      f = tostring(f):gsub("^%*", "")
      local c = f:sub(1, 1)
      if c == "a" then
        v = self.data:sub(self.pos); self.pos = #self.data + 1
      elseif c == "l" or c == "L" then
        if self.pos <= #self.data then
          local s, e = self.data:find("\n", self.pos, true)
          local stop = s or (#self.data + 1)
          v = self.data:sub(self.pos, c == "L" and (e or #self.data) or stop - 1)
          self.pos = (e or #self.data) + 1
        end
      elseif c == "n" then
        local s, e = self.data:find("^%s*[-+]?[%w%.]+", self.pos)
        if s then v = tonumber(self.data:sub(s, e)); self.pos = e + 1 end
      else
        error("bad argument #" .. i .. " to 'read' (invalid format)", 2)
      end
    end
    out[i] = v
    if v == nil then break end
  end
  return table.unpack(out, 1, #fmts)
end

function File:lines(...)
  local fmts = table.pack(...)
  return function() return self:read(table.unpack(fmts, 1, fmts.n)) end
end

function File:close() return true end
function File:seek(whence, offset)
  whence, offset = whence or "cur", offset or 0
  local base = whence == "set" and 0 or whence == "end" and #self.data or self.pos - 1
  self.pos = math.max(0, base + offset) + 1
  return self.pos - 1
end
File.write = denied("writing to a file")
File.setvbuf = function() return true end
File.flush = function() return true end

-- An output stream of the host's stdout/stderr: write and flush only.
local function stream(real)
  local s = {}
  s.write = function(self, ...) real:write(...); return self end
  s.flush = function() real:flush(); return true end
  return setmetatable(s, { __index = function(_, k) error("io stream method " .. tostring(k) .. " " .. HINT, 2) end, __metatable = false })
end

-- The object a build.lua gets from `from`: the steps, forwarded to the real
-- build, whose fields (context, image) the script cannot change.
local STEPS = { "run", "copy", "add", "env", "label", "workdir", "user", "cmd", "entrypoint", "expose", "volume", "tag", "id",
  "shell", "stopsignal", "healthcheck", "onbuild", "write", "files", "image_config" }

local function facade(lib, context, build_args)
  local reals = setmetatable({}, { __mode = "k" })
  local methods = {}
  local Proxy = { __index = methods, __metatable = false, __name = "bocker.build" }
  Proxy.__newindex = function() error("a build object cannot be changed", 2) end
  for _, name in ipairs(STEPS) do
    methods[name] = function(self, ...)
      local real = reals[self]
      if not real then error("bad self to '" .. name .. "' (use b:" .. name .. "(...))", 2) end
      local opts = select("#", ...) >= 3 and (select(3, ...)) or nil
      if (name == "copy" or name == "add") and type(opts) == "table" and rawget(opts, "context") ~= nil then
        error(name .. ": the context option is not available in a build (the build's context is fixed)", 2)
      end
      local r = real[name](real, ...)
      if r == real then return self end
      return r
    end
  end
  local api = {}
  api.args = copy(build_args or {})
  api.context = context
  local function start(name, ref, opts)
    if type(ref) ~= "string" then error("bad argument to 'from' (an image reference expected)", 3) end
    opts = type(opts) == "table" and opts or {}
    local o = {
      context = context,
      steps = tonumber(opts.steps),
      quiet = opts.quiet and true or nil,
      no_cache = opts.no_cache and true or nil,
      network = type(opts.network) == "string" and opts.network or nil,
    }
    local real = name and lib.stage(name, ref, o) or lib.from(ref, o)
    local proxy = setmetatable({}, Proxy)
    reals[proxy] = real
    return proxy
  end
  function api.from(ref, opts) return start(nil, ref, opts) end
  function api.stage(name, ref, opts)
    if type(name) ~= "string" then error("bad argument #1 to 'stage' (a stage name expected)", 2) end
    return start(name, ref, opts)
  end
  function api.resolve(ref)
    if type(ref) ~= "string" then error("bad argument #1 to 'resolve' (a stage name or image reference expected)", 2) end
    return lib.resolve(ref)
  end
  function api.read(path)
    return bocker.build.read_context(context, path)
  end
  return setmetatable(api, {
    __index = function(_, k) error("bocker.build." .. tostring(k) .. " " .. HINT, 2) end,
    __metatable = false,
  })
end

-- The environment of a build.lua in `context` (canonical path).
function M.env(context, build_args)
  local lib = require "bocker.build"
  local env = {}
  local build = facade(lib, context, build_args)

  local function read(path)
    if type(path) ~= "string" then return nil, "bad path" end
    return bocker.build.read_context(context, path)
  end
  local function load_text(src, name, chunk_env)
    if type(src) == "function" then
      local parts = {}
      for piece in src do
        if piece == "" then break end
        parts[#parts + 1] = piece
      end
      src = table.concat(parts)
    end
    if chunk_env == nil then chunk_env = env end
    return load(src, name, "t", chunk_env)
  end
  local function loadfile_ctx(path, mode, chunk_env)
    if path == nil then error("loadfile of stdin " .. HINT, 2) end
    local src, err = read(path)
    if not src then return nil, err end
    if mode ~= nil and mode ~= "t" then error("loading binary chunks " .. HINT, 3) end
    return load_text(src:gsub("^#[^\n]*", ""), "@" .. path, chunk_env)
  end

  local sandbox_bocker = {
    build = build,
    json = { encode = bocker.json.encode, decode = bocker.json.decode },
    sha256 = bocker.sha256,
    version = bocker.version,
  }
  setmetatable(sandbox_bocker, {
    __index = function(_, k) error("bocker." .. tostring(k) .. " " .. HINT, 2) end,
    __metatable = false,
  })

  local loaded = { bocker = sandbox_bocker, ["bocker.build"] = build }
  local function require_ctx(name)
    if type(name) ~= "string" then error("bad argument #1 to 'require' (string expected)", 2) end
    local have = loaded[name]
    if have ~= nil then return have end
    if name:match("^bocker%.") then error("require '" .. name .. "' " .. HINT, 2) end
    local path = name:gsub("%.", "/") .. ".lua"
    local chunk, err = loadfile_ctx(path)
    if not chunk then error("module '" .. name .. "' not found in the build context: " .. tostring(err), 2) end
    local r = chunk(name, path)
    if r == nil then r = true end
    loaded[name] = r
    return r
  end

  for _, k in ipairs({ "assert", "error", "ipairs", "next", "pairs", "pcall", "print", "rawequal", "rawget",
    "rawlen", "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "xpcall", "_VERSION" }) do
    env[k] = _G[k]
  end
  -- the string metatable is shared with bocker itself: not handed out
  env.getmetatable = function(v)
    if type(v) == "string" then return nil end
    return getmetatable(v)
  end
  env.collectgarbage = function(opt, ...)
    opt = opt or "collect"
    if opt == "count" or opt == "collect" or opt == "step" or opt == "isrunning" then
      return collectgarbage(opt, ...)
    end
    error("collectgarbage('" .. tostring(opt) .. "') " .. HINT, 2)
  end
  env.string = copy(string, { dump = true })
  env.string.dump = denied("string.dump")
  env.table = copy(table)
  env.math = copy(math)
  env.utf8 = copy(utf8)
  env.coroutine = copy(coroutine)
  env.os = library("os", { time = os.time, clock = os.clock, date = os.date, difftime = os.difftime },
    { "execute", "exit", "remove", "rename", "tmpname", "getenv", "setlocale" })
  env.io = library("io", {
    open = function(path, mode)
      mode = mode or "r"
      if type(mode) ~= "string" or not mode:match("^r?b?$") then error("io.open for writing " .. HINT, 2) end
      local data, err = read(path)
      if not data then return nil, err end
      return new_file(data)
    end,
    lines = function(path, ...)
      if path == nil then error("io.lines of stdin " .. HINT, 2) end
      local data, err = read(path)
      if not data then error(err, 2) end
      return new_file(data):lines(...)
    end,
    write = function(...) io.stdout:write(...); return env.io.stdout end,
    stdout = stream(io.stdout),
    stderr = stream(io.stderr),
  }, { "popen", "read", "input", "output", "tmpfile", "close", "type" })
  env.debug = library("debug", {})
  env.package = library("package", { loaded = loaded }, { "loadlib", "searchpath" })
  env.load = function(chunk, name, mode, chunk_env)
    if mode ~= nil and mode ~= "t" then error("loading binary chunks " .. HINT, 2) end
    local f, err = load_text(chunk, name, chunk_env)
    return f, err
  end
  env.loadfile = function(path, mode, chunk_env)
    local f, err = loadfile_ctx(path, mode, chunk_env)
    return f, err
  end
  env.dofile = function(path)
    local chunk, err = loadfile_ctx(path)
    if not chunk then error(err, 2) end
    return chunk()
  end
  env.require = require_ctx
  env.bocker = sandbox_bocker
  env.context = context
  env._G = env
  return env
end

-- Runs the build script `file` (a path; inside `dir` it is read through the
-- context, so a symlinked build.lua cannot point out) with the context
-- `dir` in the restricted environment. Returns the build it made last.
function M.run_build(file, dir, build_args)
  local lib = require "bocker.build"
  local context = assert(bocker.build.context_root(dir))
  local fail = function(msg) error(setmetatable({ status = 1, message = msg }, lib.BuildError), 0) end
  local src, name
  local prefix = dir .. "/"
  if file:sub(1, #prefix) == prefix then
    local rel = file:sub(#prefix + 1)
    local err
    src, err = bocker.build.read_context(context, rel)
    if not src then fail(err) end
    name = "@" .. rel
  else
    local f, err = io.open(file)
    if not f then fail(err) end
    src = f:read("a")
    f:close()
    name = "@" .. file
  end
  local env = M.env(context, build_args)
  local chunk, err = load(src:gsub("^#[^\n]*", ""), name, "t", env)
  if not chunk then fail(err) end
  lib.defaults.context = context
  lib.last = nil
  lib.stages = {}
  local ok, err2 = pcall(chunk, context)
  if not ok then
    if getmetatable(err2) == lib.BuildError then error(err2, 0) end
    -- the script's own error (or a forbidden call): a failed build
    fail(type(err2) == "string" and err2 or tostring(err2))
  end
  return lib.last
end

return M
