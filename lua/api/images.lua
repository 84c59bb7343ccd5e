-- /images: list and inspect (the rest of the area comes with #16)
local docker = require "bocker.docker"

return {
  { "GET", "/images/json", function(_, res)
    local out = bocker.json.array()
    for _, i in ipairs(bocker.image.list()) do out[#out + 1] = docker.image_summary(i) end
    res:json(out)
  end },
  { "GET", "/images/{name}/json", function(_, res, p)
    local i = bocker.image.get(p.name)
    if not i then return res:error(404, "No such image: " .. p.name) end
    local s = docker.image_summary(i)
    s.Config = i.config or {}
    s.Architecture, s.Os = "amd64", "linux"
    s.Bocker = i
    res:json(s)
  end },
}
