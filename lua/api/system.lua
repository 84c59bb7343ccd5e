-- /_ping, /version, /info
local docker = require "bocker.docker"
local array = bocker.json.array

-- GET /system/df: images, containers, volumes and what they hold
local function df(_, res)
  local cs = bocker.container.list()
  local per_image = {}
  local containers = array()
  local now = bocker.now()
  for _, c in ipairs(cs) do
    per_image[c.image] = (per_image[c.image] or 0) + 1
    local s = docker.container_summary(c, now)
    s.SizeRw, s.SizeRootFs = c.size_rw or 0, 0
    containers[#containers + 1] = s
  end
  local images, layers = array(), 0
  for _, i in ipairs(bocker.image.list()) do
    local s = docker.image_summary(i)
    s.Containers = per_image[i.id] or 0
    images[#images + 1] = s
    layers = layers + (i.size or 0)
  end
  local volumes = array()
  for _, v in ipairs(bocker.volume.list()) do
    local full = bocker.volume.get(v.name) or v
    local d = docker.volume_inspect(full)
    d.UsageData = { Size = -1, RefCount = #(full.containers or {}) }
    volumes[#volumes + 1] = d
  end
  res:json({ LayersSize = layers, Images = images, Containers = containers, Volumes = volumes, BuildCache = array() })
end

local function ping(_, res)
  res:header("Cache-Control", "no-cache, no-store, must-revalidate")
  res:header("Docker-Experimental", "false")
  res:header("OSType", "linux")
  res:send("OK")
end

return {
  { "GET", "/_ping", ping },
  { "HEAD", "/_ping", ping },
  { "GET", "/version", function(_, res) res:json(docker.version()) end },
  { "GET", "/info", function(_, res) res:json(docker.info()) end },
  { "GET", "/system/df", df },
}
