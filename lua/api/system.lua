-- /_ping, /version, /info
local docker = require "bocker.docker"

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
}
