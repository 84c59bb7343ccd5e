-- bocker inspect NAME...: containers as the Docker API shows them (bocker's
-- record under `Bocker`; --bocker: that record alone), images (Docker's
-- shape), networks, volumes as JSON; -f renders a Go template per object.
local cli = require "bocker.cli"
local docker = require "bocker.docker"
local fmt = require "bocker.fmt"
local usage = "bocker inspect [--spec|--bocker] [-f TEMPLATE] [-s] [--type container|image|network|volume] NAME [...]"
local spec = {
  { long = "spec", kind = "bool", help = "A container's OCI runtime configuration (config.json)" },
  { long = "bocker", kind = "bool", help = "A container's record as bocker keeps it" },
  { long = "format", short = "f", kind = "string", arg = "TEMPLATE", help = "Go template ({{.State.Pid}}, {{json .Config}}) or json" },
  { long = "size", short = "s", kind = "bool", help = "A container's SizeRw and SizeRootFs" },
  { long = "type", kind = "string", arg = "TYPE", help = "Only objects of this type (container, image, network or volume)" },
}
local types = { container = true, image = true, network = true, volume = true }

-- an image in Docker's shape (bocker's record under Bocker)
local function image_inspect(ref)
  local i = bocker.image.get(ref)
  return i and docker.image_inspect(i, bocker.image.layers(i.id))
end

local function network_inspect(ref)
  local n = bocker.network.get(ref)
  return n and docker.network_inspect(n)
end

local function volume_inspect(ref)
  local v = bocker.volume.get(ref)
  return v and docker.volume_inspect(v)
end

-- the object `ref` names, and whether it is in Docker's shape
local function find(ref, o)
  local want = function(t) return o.type == nil or o.type == t end
  local c = want("container") and bocker.container.get(ref) or nil
  if c and o.spec then
    local s, err = bocker.container.spec(ref)
    if not s then return nil, err end
    return s, false
  end
  if c and o.bocker then return c, false end
  if c then
    local v = docker.container_inspect(c)
    if o.size then
      local sz = bocker.container.size(c.id)
      if sz then v.SizeRw, v.SizeRootFs = sz.rw, sz.root_fs end
    end
    return v, true
  end
  local v = (want("image") and image_inspect(ref)) or (want("network") and network_inspect(ref)) or (want("volume") and volume_inspect(ref)) or nil
  return v, v ~= nil
end

return {
  summary = "Show containers, images, networks or volumes as JSON",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("inspect", args, spec)
    if not o then return pos or 125 end
    if #pos == 0 then return cli.usage_error("inspect", usage, '"inspect" requires at least 1 argument') end
    if o.type and not types[o.type] then return cli.fail(125, "inspect", '"%s" is not a valid value for --type', o.type) end
    local out, shaped, status = {}, {}, 0
    for _, ref in ipairs(pos) do
      local v, is_docker = find(ref, o)
      if v then
        out[#out + 1], shaped[#out + 1] = v, is_docker
      elseif is_docker then
        return cli.fail(125, "inspect", is_docker)
      else
        status = cli.fail(1, "inspect", "No such object: %s", ref)
      end
    end
    if o.format and o.format ~= "json" then
      local ok, err = fmt.formatted(o.format, out)
      if not ok then return cli.fail(125, "inspect", "template parsing error: %s", err) end
      return status
    end
    -- Docker's shapes mark their lists: their empty tables are objects
    local parts = {}
    for i, v in ipairs(out) do
      parts[i] = shaped[i] and bocker.json.encode(v, { empty = "object" }) or bocker.json.encode(v)
    end
    print("[" .. table.concat(parts, ",") .. "]")
    return status
  end,
}
