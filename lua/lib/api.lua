-- The Docker Engine API's router. Routes come from the built-in files
-- lua/api/AREA.lua and the user's (BOCKER_API, ~/.config/bocker/api/*.lua),
-- each returning a list of { METHOD, "/containers/{id}/json", handler }.
-- A user's route for the same method and path replaces the built-in one.
-- handler(req, res, params): req = { method, path, query, headers, body },
-- res = status/header/json/send/error/write/finish/hijack (src/lua/api_server/respond.rs;
-- hijack{tty} gives the connection as a handle for bocker.container.attach/exec).
local M = {}

-- "/containers/{id}/json" -> "^/containers/([^/]+)/json$", { "id" }
local function compile(pattern)
  local names = {}
  local re = pattern:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"):gsub("{(%w+)}", function(n)
    names[#names + 1] = n
    return "([^/]+)"
  end)
  return "^" .. re .. "$", names
end

local routes
function M.routes()
  if routes then return routes end
  routes = {}
  local seen = {}
  local function add(list, origin)
    if type(list) ~= "table" then error(origin .. ": a route file returns a list of { METHOD, PATH, handler }") end
    for _, r in ipairs(list) do
      local method, pattern, handler = r[1], r[2], r[3]
      if type(method) ~= "string" or type(pattern) ~= "string" or type(handler) ~= "function" then
        error(origin .. ": a route is { METHOD, PATH, handler }")
      end
      local key = method .. " " .. pattern
      if not seen[key] then
        seen[key] = true
        local re, names = compile(pattern)
        routes[#routes + 1] = { method = method, re = re, names = names, handler = handler, origin = origin }
      end
    end
  end
  local files = bocker.api_files()
  for _, path in ipairs(files.user) do
    local chunk, err = loadfile(path)
    if not chunk then error(err) end
    add(chunk(), path)
  end
  for _, name in ipairs(files.builtin) do add(require("bocker.api." .. name), "lua/api/" .. name .. ".lua") end
  return routes
end

-- "1", "true", "True" are true, as the engine reads boolean parameters
function M.flag(v) return v == "1" or v == "true" or v == "True" end

-- the route for a method and path (the /v1.NN prefix stripped)
function M.find(method, path)
  path = path:gsub("^/v%d+%.%d+/", "/")
  for _, r in ipairs(M.routes()) do
    if r.method == method or (method == "HEAD" and r.method == "GET") then
      local caps = table.pack(path:match(r.re))
      if caps[1] ~= nil then
        local params = {}
        for i, n in ipairs(r.names) do params[n] = caps[i] end
        return r, params
      end
    end
  end
end

function M.handle(req, res)
  local r, params = M.find(req.method, req.path)
  if not r then return res:error(404, "page not found") end
  return r.handler(req, res, params)
end

return M
