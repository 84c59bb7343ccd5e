-- The Docker Engine API's router. Routes come from the built-in files
-- lua/api/AREA.lua and the user's (BOCKER_API, ~/.config/bocker/api/*.lua),
-- each returning a list of { METHOD, "/containers/{id}/json", handler }.
-- A user's route for the same method and path replaces the built-in one.
-- handler(req, res, params): req = { method, path, query, query_list (every
-- value of a repeated parameter: query_list.t = {"a:1", "b:2"}), headers, body },
-- res = status/header/json/send/error/write/finish/sent/alive/hijack (src/lua/api_server/respond.rs;
-- hijack{tty} gives the connection as a handle for bocker.container.attach/exec).
local M = {}

-- "/containers/{id}/json" -> "^/containers/([^/]+)/json$", { "id" };
-- "{name*}" takes slashes too (image names: "127.0.0.1:5000/a/b:tag")
local function compile(pattern)
  local names = {}
  local re = pattern:gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0"):gsub("{(%w+)(%*?)}", function(n, greedy)
    names[#names + 1] = n
    return greedy == "*" and "(.+)" or "([^/]+)"
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

-- The `filters` parameter as { key = { values } }: Docker's clients send
-- {"key": ["v"]} or the older {"key": {"v": true}}. nil, err if malformed.
function M.filters(req)
  local raw = req.query.filters
  if not raw or raw == "" then return {} end
  local ok, t = pcall(bocker.json.decode, raw)
  if not ok or type(t) ~= "table" then return nil, "invalid filters: " .. raw:sub(1, 200) end
  local out = {}
  for k, v in pairs(t) do
    if type(k) ~= "string" or type(v) ~= "table" then return nil, "invalid filters: " .. raw end
    local list = {}
    if #v > 0 then
      for _, x in ipairs(v) do list[#list + 1] = tostring(x) end
    else
      for x, on in pairs(v) do if on then list[#list + 1] = tostring(x) end end
      table.sort(list)
    end
    out[k:lower()] = list
  end
  return out
end

-- checks every key of parsed filters against `keys` (as filters.parse's):
-- nil, "invalid filter 'k'" for another
function M.check_filters(f, keys)
  for k, values in pairs(f) do
    local check = keys[k]
    if not check then return nil, string.format("invalid filter '%s'", k) end
    if type(check) == "function" then
      for _, v in ipairs(values) do
        if not check(v) then return nil, string.format("invalid filter '%s=%s'", k, v) end
      end
    end
  end
  return f
end

-- The request body as JSON (an empty body is {}); nil, err if malformed.
function M.body_json(req)
  if not req.body or req.body:match("^%s*$") then return {} end
  local ok, v = pcall(bocker.json.decode, req.body)
  if not ok or type(v) ~= "table" then
    -- the decoder's first line, without a traceback
    return nil, "invalid JSON body: " .. (tostring(v):gsub("^runtime error: ", ""):match("^[^\n]*"))
  end
  return v
end

-- A body's string map (Labels): nil when absent; nil, err when a key or
-- value is not a string
function M.string_map(v, what)
  if v == nil then return nil end
  if type(v) ~= "table" then return nil, what .. ": an object of strings is expected" end
  for k, x in pairs(v) do
    if type(k) ~= "string" or type(x) ~= "string" then return nil, what .. ": an object of strings is expected" end
  end
  return v
end

-- Docker's status for an error message of the primitives
function M.status_of(err)
  err = tostring(err or "")
  local l = err:lower()
  if l:find("invalid reference") then return 400 end
  if l:find("no such") or l:find("not found") or l:find("unknown") and l:find("manifest") then return 404 end
  if l:find("unauthorized") or l:find("denied") then return 401 end
  if l:find("in use") or l:find("conflict") or l:find("already exists") or l:find("must force") or l:find("is being used") then return 409 end
  if l:find("invalid") or l:find("expected") or l:find("must be") then return 400 end
  return 500
end

-- answers err with the status its message calls for (or `status`)
function M.fail(res, err, status)
  return res:error(status or M.status_of(err), tostring(err))
end

-- one message of a JSON stream (pull, push, build, load, events); false
-- once the client is gone
function M.stream(res, msg)
  if not res:sent() then res:header("Content-Type", "application/json") end
  return res:write(bocker.json.encode(msg, { empty = "object" }) .. "\n")
end

-- a failure inside a JSON stream, as Docker's clients show it (before the
-- stream began: a plain error answer)
function M.stream_error(res, err, status)
  if not res:sent() then return M.fail(res, err, status) end
  local msg = tostring(err)
  return M.stream(res, { errorDetail = { message = msg }, error = msg })
end

function M.handle(req, res)
  local r, params = M.find(req.method, req.path)
  if not r then return res:error(404, "page not found") end
  return r.handler(req, res, params)
end

return M
