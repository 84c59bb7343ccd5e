-- bocker inspect NAME...: containers, images (Docker's shape), networks, volumes as JSON.
local cli = require "bocker.cli"
local docker = require "bocker.docker"

-- an image in Docker's shape (bocker's record under Bocker)
local function image_inspect(ref)
  local i = bocker.image.get(ref)
  return i and docker.image_inspect(i, bocker.image.layers(i.id))
end

-- a network or volume, as `docker inspect` finds them too
local function other_inspect(ref)
  local n = bocker.network.get(ref)
  if n then return docker.network_inspect(n) end
  local v = bocker.volume.get(ref)
  return v and docker.volume_inspect(v)
end
return {
  summary = "Show containers, images, networks or volumes as JSON",
  usage = "bocker inspect [--spec] CONTAINER|IMAGE [...]",
  flags = { { long = "spec", kind = "bool", help = "A container's OCI runtime configuration (config.json)" } },
  run = function(args)
    local o, pos = cli.parse("inspect", args, { { long = "spec", kind = "bool" } })
    if not o then return pos or 125 end
    if #pos == 0 then return cli.usage_error("inspect", "bocker inspect [--spec] CONTAINER|IMAGE [...]", '"inspect" requires at least 1 argument') end
    local out, status = {}, 0
    for _, ref in ipairs(pos) do
      local v = bocker.container.get(ref)
      -- Docker's shapes mark their lists: their empty tables are objects
      if not v then v = image_inspect(ref) or other_inspect(ref); if v then v = { docker = v } end end
      if v and o.spec then
        local spec, err = bocker.container.spec(ref)
        if not spec then return cli.fail(125, "inspect", err) end
        v = spec
      end
      if v then out[#out + 1] = v else status = cli.fail(1, "inspect", "No such object: %s", ref) end
    end
    local parts = {}
    for i, v in ipairs(out) do
      parts[i] = v.docker and bocker.json.encode(v.docker, { empty = "object" }) or bocker.json.encode(v)
    end
    print("[" .. table.concat(parts, ",") .. "]")
    return status
  end,
}
