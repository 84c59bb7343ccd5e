-- /containers: list and inspect (the rest of the area comes with #16)
local api = require "bocker.api"
local docker = require "bocker.docker"

return {
  { "GET", "/containers/json", function(req, res)
    local all = api.flag(req.query.all)
    local out = bocker.json.array()
    local now = bocker.now()
    for _, c in ipairs(bocker.container.list()) do
      if all or c.running then out[#out + 1] = docker.container_summary(c, now) end
    end
    res:json(out)
  end },
  { "GET", "/containers/{id}/json", function(_, res, p)
    local c = bocker.container.get(p.id)
    if not c then return res:error(404, "No such container: " .. p.id) end
    res:json(docker.container_inspect(c))
  end },
}
