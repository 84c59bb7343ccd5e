-- bocker build [-t NAME:TAG] [-f FILE] [--build-arg K=V] [--target STAGE]
--   [--network bridge|none|host] [-m SIZE] [--secret id=ID,src=FILE] [--no-cache] [-q] DIR
-- DIR/build.lua (a Lua build script) if present, else DIR/Dockerfile,
-- translated to the same build steps (lua/lib/dockerfile.lua). A build.lua
-- runs in a restricted Lua (lua/lib/sandbox.lua): no host commands, no
-- host files outside the context. RUN steps join the default bridge
-- unless --network says otherwise, with no memory limit unless -m.
local cli = require "bocker.cli"
local spec = {
  { long = "tag", short = "t", kind = "string", arg = "NAME[:TAG]", help = "Name the resulting image" },
  { long = "file", short = "f", kind = "string", arg = "FILE", help = "The build.lua or Dockerfile to use (default DIR/build.lua, then DIR/Dockerfile)" },
  { long = "build-arg", kind = "list", arg = "K=V", help = "Set a Dockerfile ARG" },
  { long = "no-cache", kind = "bool", help = "Do not use the build cache" },
  { long = "quiet", short = "q", kind = "bool", help = "Print only the image id" },
  { long = "target", kind = "string", arg = "STAGE", help = "Build this stage of a multi-stage Dockerfile (and what it needs)" },
  { long = "network", kind = "string", arg = "MODE", help = "The network of RUN steps: bridge (default), none or host" },
  { long = "memory", short = "m", kind = "string", arg = "SIZE", help = "Memory limit of RUN steps, b/k/m/g (default none)" },
  { long = "secret", kind = "list", arg = "id=ID,src=FILE", help = "A secret RUN --mount=type=secret can read (never in a layer)" },
}
local usage = "bocker build [-t NAME[:TAG]] [-f FILE] [--build-arg K=V] [--target STAGE] [--network MODE] [-m SIZE] [--secret id=ID,src=FILE] [--no-cache] [-q] DIR"

-- --secret id=ID,src=FILE (also source=, and type=file) -> ID, absolute FILE
local function secret(s)
  local m = {}
  for part in s:gmatch("[^,]+") do
    local k, v = part:match("^([%w]+)=(.*)$")
    if not k then return nil, "--secret " .. s .. ": KEY=VALUE expected" end
    m[k:lower()] = v
  end
  local src = m.src or m.source
  if m.type and m.type ~= "file" then return nil, "--secret " .. s .. ": only type=file is supported" end
  if not m.id or not src then return nil, "--secret " .. s .. ": id= and src= are needed" end
  local path, err = bocker.build.context_root(src)
  if not path then return nil, "--secret " .. s .. ": " .. tostring(err) end
  return m.id, path
end

local function exists(p)
  local f = io.open(p)
  if f then f:close() return true end
  return false
end

local function read(p)
  local f, err = io.open(p)
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

return {
  summary = "Build an image from DIR/build.lua or DIR/Dockerfile",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("build", args, spec)
    if not o then return pos or 125 end
    if #pos ~= 1 then return cli.usage_error("build", usage, '"build" requires exactly 1 argument') end
    local dir = pos[1]:gsub("(.)/+$", "%1")
    local file = o.file
    if not file then
      if exists(dir .. "/build.lua") then file = dir .. "/build.lua"
      elseif exists(dir .. "/Dockerfile") then file = dir .. "/Dockerfile"
      else return cli.fail(1, "build", "%s: no build.lua or Dockerfile", dir) end
    end
    local build_args = {}
    for _, kv in ipairs(o.build_arg) do
      local k, v = kv:match("^([^=]+)=(.*)$")
      if not k then k, v = kv, os.getenv(kv) end
      build_args[k] = v
    end
    local build = require "bocker.build"
    build.defaults.quiet = o.quiet
    build.defaults.no_cache = o.no_cache
    build.defaults.context = dir
    if o.network then
      if o.network ~= "bridge" and o.network ~= "none" and o.network ~= "host" and o.network ~= "default" then
        return cli.fail(125, "build", "network %s: unsupported (bridge, none, host)", o.network)
      end
      build.defaults.network = o.network == "default" and "bridge" or o.network
    end
    if o.memory then
      local m, err = require("bocker.units").bytes(o.memory)
      if not m then return cli.fail(125, "build", "invalid argument for -m/--memory: %s", err) end
      build.defaults.memory = m
    end
    build.defaults.secrets = {}
    for _, s in ipairs(o.secret) do
      local id, path = secret(s)
      if not id then return cli.fail(125, "build", "%s", path) end
      build.defaults.secrets[id] = path
    end
    local ok, b = pcall(function()
      if file:match("%.lua$") then
        if o.target then error(setmetatable({ status = 1, message = "--target names a stage of a Dockerfile (a build.lua chooses its own result)" }, build.BuildError), 0) end
        -- the context may come from anyone: its script runs restricted
        return require("bocker.sandbox").run_build(file, dir, build_args)
      end
      local df = require "bocker.dockerfile"
      local text, err = read(file)
      if not text then error(setmetatable({ status = 1, message = err }, build.BuildError), 0) end
      local instrs, perr = df.parse(text)
      local plan = instrs
      if instrs then plan, perr = df.plan(instrs, build_args) end
      if not plan then error(setmetatable({ status = 1, message = perr }, build.BuildError), 0) end
      return df.run(plan, { context = dir, quiet = o.quiet, no_cache = o.no_cache, target = o.target })
    end)
    if not ok then
      if getmetatable(b) == build.BuildError then return cli.fail(b.status, "build", b.message) end
      error(b, 0)
    end
    if not b or not b.image then return cli.fail(1, "build", "%s made no image (call bocker.build.from)", file) end
    if o.tag then
      local img, err = bocker.image.tag(b.image, o.tag)
      if not img then return cli.fail(1, "build", err) end
    end
    if o.quiet then print(b.image)
    else
      print("Successfully built " .. b.image)
      if o.tag then print("Successfully tagged " .. o.tag) end
    end
    return 0
  end,
}
