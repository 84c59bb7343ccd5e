-- /_ping, /version, /info
local docker = require "bocker.docker"
-- POST /auth: checks the credentials against the registry (the client
-- keeps them and sends them with each push or pull: X-Registry-Auth)
local function auth(req, res)
  local ok, b = pcall(bocker.json.decode, req.body or "")
  if not ok or type(b) ~= "table" then return res:error(400, "invalid JSON body") end
  if type(b.username) ~= "string" or type(b.password) ~= "string" then return res:error(400, "username and password are needed") end
  -- "https://index.docker.io/v1/" -> "index.docker.io", "127.0.0.1:5000" as it is
  local registry = (type(b.serveraddress) == "string" and b.serveraddress or ""):gsub("^%a+://", ""):gsub("/.*$", "")
  if registry == "" or registry == "index.docker.io" then registry = "docker.io" end
  local good, err = bocker.registry.check(registry, b.username, b.password)
  if not good then return res:error(401, err) end
  res:json({ Status = "Login Succeeded", IdentityToken = "" })
end

-- GET /system/df
local function df(_, res) res:json(docker.system_df()) end

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
  { "POST", "/auth", auth },
}
