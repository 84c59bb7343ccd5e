-- /containers: the Docker Engine API's container area. Every handler runs
-- the primitives the CLI runs (bocker.container.*); Docker's request and
-- answer shapes are in lua/lib/docker.lua and lua/lib/docker_create.lua.
-- Status codes as the engine's: 404 no such container/file, 409 conflict
-- (running, not running, name taken), 304 already started/stopped, 400 a
-- parameter bocker cannot take.
local api = require "bocker.api"
local docker = require "bocker.docker"
local filters = require "bocker.filters"

-- The status code an error of a primitive stands for.
local function status_of(err, default)
  err = tostring(err or "")
  if err:match("^No such") or err:match("Could not find the file") or err:match("no such container") then return 404 end
  if err:match("already in use") or err:match("is not running") or err:match("is running")
    or err:match("is paused") or err:match("is not paused") or err:match("already paused")
    or err:match("is restarting") or err:match("ambiguous") or err:match("same name") then
    return 409
  end
  return default or 500
end

local function fail(res, err, default) return res:error(status_of(err, default), tostring(err)) end

-- the container, or nil after answering 404
local function find(res, id)
  local c, err = bocker.container.get(id)
  if not c then fail(res, err or ("No such container: " .. id), 404) end
  return c
end

-- Docker's filters parameter ({"status":["running"]} or {"status":{"running":true}})
-- as `ps --filter` strings
local function filter_list(q)
  if not q or q == "" then return {} end
  local ok, f = pcall(bocker.json.decode, q)
  if not ok or type(f) ~= "table" then return nil, "invalid filters: " .. q end
  local out = {}
  for k, vs in pairs(f) do
    if type(vs) == "table" and #vs == 0 then
      for v in pairs(vs) do out[#out + 1] = k .. "=" .. v end
    elseif type(vs) == "table" then
      for _, v in ipairs(vs) do out[#out + 1] = k .. "=" .. tostring(v) end
    else
      return nil, "invalid filters: " .. q
    end
  end
  table.sort(out)
  return out
end

local function list(req, res)
  local q = req.query
  local all = api.flag(q.all)
  local fl, ferr = filter_list(q.filters)
  if not fl then return res:error(400, ferr) end
  local f, perr = filters.parse(fl, filters.ps_keys)
  if not f then return res:error(400, perr) end
  local limit = math.tointeger(tonumber(q.limit or "")) or -1
  local cs = bocker.container.list()
  local out = bocker.json.array()
  local now = bocker.now()
  -- newest first, as the engine lists them
  for i = #cs, 1, -1 do
    local c = cs[i]
    if (all or limit > 0 or c.running or c.state.status == "restarting") and filters.match(c, f) then
      local s = docker.container_summary(c, now)
      if api.flag(q.size) then
        local sz = bocker.container.size(c.id)
        if sz then s.SizeRw, s.SizeRootFs = sz.rw, sz.root_fs end
      end
      out[#out + 1] = s
      if limit > 0 and #out >= limit then break end
    end
  end
  res:json(out)
end

local function create(req, res)
  local ok, body = pcall(bocker.json.decode, req.body ~= "" and req.body or "{}")
  if not ok then return res:error(400, "invalid JSON: " .. tostring(body)) end
  local spec, err = (require "bocker.docker_create").spec(body, req.query.name)
  if not spec then return res:error(400, err) end
  if not bocker.image.get(spec.image) then return res:error(404, "No such image: " .. spec.image) end
  local okc, c, cerr = pcall(bocker.container.create, spec)
  -- an unknown spec key raises: a flag this bocker does not have yet
  if not okc then return res:error(400, tostring(c)) end
  if not c then return fail(res, cerr, 400) end
  res:json({ Id = c.id, Warnings = bocker.json.array() }, 201)
end

local function start(_, res, p)
  local c = find(res, p.id)
  if not c then return end
  if c.running then res:status(304); return end
  local st, err = bocker.container.start(c.id, { detach = true })
  if not st then return fail(res, err) end
  if st ~= 0 or err then return res:error(st == 125 and 500 or 400, err or ("start failed with status " .. st)) end
  res:status(204)
end

local function stop(req, res, p)
  local c = find(res, p.id)
  if not c then return end
  if not c.running and c.state.status ~= "restarting" then res:status(304); return end
  local id, err = bocker.container.stop(c.id, tonumber(req.query.t))
  if not id then return fail(res, err) end
  res:status(204)
end

local function restart(req, res, p)
  local c = find(res, p.id)
  if not c then return end
  if c.running or c.state.status == "restarting" then
    local id, err = bocker.container.stop(c.id, tonumber(req.query.t))
    if not id then return fail(res, err) end
  end
  local st, err = bocker.container.start(c.id, { detach = true })
  if not st then return fail(res, err) end
  if st ~= 0 or err then return res:error(500, err or ("start failed with status " .. st)) end
  res:status(204)
end

local function kill(req, res, p)
  local c = find(res, p.id)
  if not c then return end
  if not c.running then return res:error(409, "Container " .. c.id .. " is not running") end
  local sig = req.query.signal
  if sig == nil or sig == "" then sig = "KILL" end
  local id, err = bocker.container.kill(c.id, sig)
  if not id then return fail(res, err, 400) end
  res:status(204)
end

-- wait: the head goes out at once (clients wait for it before they start
-- the container), the body once the condition holds
local function wait(req, res, p)
  local cond = req.query.condition
  if cond == nil or cond == "" then cond = "not-running" end
  if cond ~= "not-running" and cond ~= "next-exit" and cond ~= "removed" then
    return res:error(400, "invalid condition: " .. cond)
  end
  local c = find(res, p.id)
  if not c then return end
  res:header("Content-Type", "application/json")
  if not res:write("") then return end
  local id = c.id
  local function code_of(x) return (x and x.state and x.state.exit_code) or 0 end
  if cond == "next-exit" and not c.running then
    -- until it runs (or goes away), then until it exits; a run that came
    -- and went between two looks shows as a new finish time
    local finished = c.state.finished
    while true do
      bocker.sleep(0.01)
      c = bocker.container.get(id)
      if not c or c.running or c.state.finished ~= finished then break end
      if not res:alive() then return end
    end
  end
  local last = c
  if c and c.running then
    local code = bocker.container.wait(id)
    last = bocker.container.get(id) or last
    if code and last then last.state.exit_code = code end
  end
  if cond == "removed" then
    while bocker.container.get(id) do bocker.sleep(0.01) end
  end
  res:write(bocker.json.encode({ StatusCode = code_of(last) }) .. "\n")
  res:finish()
end

local function remove(req, res, p)
  local c = find(res, p.id)
  if not c then return end
  local force = api.flag(req.query.force)
  if c.running and not force then
    return res:error(409, "You cannot remove a running container " .. c.id .. ". Stop the container before attempting removal or force remove")
  end
  local id, err = bocker.container.remove(c.id, { force = force, volumes = api.flag(req.query.v) })
  if not id then return fail(res, err) end
  res:status(204)
end

local function inspect(req, res, p)
  local c = find(res, p.id)
  if not c then return end
  local j = docker.container_inspect(c)
  if api.flag(req.query.size) then
    local sz = bocker.container.size(c.id)
    if sz then j.SizeRw, j.SizeRootFs = sz.rw, sz.root_fs end
  end
  res:json(j)
end

-- archive: the path's stat in X-Docker-Container-Path-Stat; GET a tar of
-- it, HEAD only the header, PUT a tar into the directory it names
local function archive_path(req, res)
  local path = req.query.path
  if path == nil or path == "" then res:error(400, "bad parameter: path cannot be empty"); return end
  return path
end

local function archive_get(req, res, p)
  local path = archive_path(req, res)
  if not path then return end
  local st, err = bocker.container.archive_stat(p.id, path)
  if not st then return fail(res, err, 400) end
  res:header("X-Docker-Container-Path-Stat", st.header)
  res:header("Content-Type", "application/x-tar")
  if req.method == "HEAD" then res:status(200); res:send(""); return end
  local _, gerr = bocker.container.archive_get(p.id, path, function(chunk) return res:write(chunk) end)
  if gerr and not res:sent() then return fail(res, gerr, 400) end
  if gerr then io.stderr:write("bocker: api: archive ", p.id, ":", path, ": ", gerr, "\n") end
  res:finish()
end

local function archive_put(req, res, p)
  local path = archive_path(req, res)
  if not path then return end
  local ok, err = bocker.container.archive_put(p.id, path, req.body, {
    copy_uid_gid = api.flag(req.query.copyUIDGID),
    no_overwrite_dir_non_dir = api.flag(req.query.noOverwriteDirNonDir),
  })
  if not ok then return fail(res, err, 400) end
  res:status(200)
  res:send("")
end

local function changes(_, res, p)
  local l, err = bocker.container.changes(p.id)
  if not l then return fail(res, err) end
  res:json(l)
end

local function top(req, res, p)
  local args = {}
  for a in (req.query.ps_args or ""):gmatch("%S+") do args[#args + 1] = a end
  local t, err = bocker.container.top(p.id, args)
  if not t then return fail(res, err) end
  res:json(t)
end

-- stats: one sample, or one a second until the client leaves or the
-- container goes away; precpu_stats is the sample before
local function stats(req, res, p)
  local c = find(res, p.id)
  if not c then return end
  local stream = req.query.stream == nil or api.flag(req.query.stream)
  local one_shot = api.flag(req.query["one-shot"])
  local function sample(prev)
    local s, err = bocker.container.stats(c.id)
    if not s then return nil, err end
    return docker.stats(s, prev)
  end
  local prev
  if not stream then
    local s, err = sample(nil)
    if s and not one_shot and c.running then
      -- CPU % needs two samples: the engine waits one interval too
      bocker.sleep(1)
      prev = s
      s, err = sample(prev)
    end
    if not s then return fail(res, err) end
    return res:json(s)
  end
  res:header("Content-Type", "application/json")
  while true do
    local s = sample(prev)
    if not s then break end
    if not res:write(bocker.json.encode(s) .. "\n") then break end
    prev = s
    bocker.sleep(1)
  end
  res:finish()
end

local function rename(req, res, p)
  local name = req.query.name
  if name == nil or name == "" then return res:error(400, "bad parameter: name cannot be empty") end
  local id, err = bocker.container.rename(p.id, name)
  if not id then return fail(res, err, 400) end
  res:status(204)
end

local function pause(_, res, p)
  local id, err = bocker.container.pause(p.id)
  if not id then return fail(res, err) end
  res:status(204)
end

local function unpause(_, res, p)
  local id, err = bocker.container.unpause(p.id)
  if not id then return fail(res, err) end
  res:status(204)
end

-- update: Docker's resources as bocker.container.update's limits
local function update(req, res, p)
  local ok, body = pcall(bocker.json.decode, req.body ~= "" and req.body or "{}")
  if not ok or type(body) ~= "table" then return res:error(400, "invalid JSON body") end
  if not bocker.container.update then return res:error(400, "update is not supported by this bocker") end
  local limits, lerr = docker.update_limits(body)
  if not limits then return res:error(400, lerr) end
  local okc, id, err = pcall(bocker.container.update, p.id, limits)
  if not okc then return res:error(400, tostring(id)) end
  if not id then return fail(res, err, 400) end
  res:json({ Warnings = bocker.json.array() })
end

local function prune(req, res)
  local fl, ferr = filter_list(req.query.filters)
  if not fl then return res:error(400, ferr) end
  local until_t, labels = nil, {}
  for _, kv in ipairs(fl) do
    local k, v = kv:match("^([^=]+)=(.*)$")
    if k == "until" then
      -- a unix time, or a duration before now ("24h")
      until_t = tonumber(v)
      if not until_t then
        local secs = (require "bocker.units").duration(v)
        if not secs then return res:error(400, "invalid until filter: " .. v) end
        until_t = bocker.now() - secs
      end
    elseif k == "label" then labels[#labels + 1] = "label=" .. v
    else return res:error(400, "invalid filter '" .. k .. "'") end
  end
  local lf = filters.parse(labels, filters.ps_keys)
  local deleted, space = bocker.json.array(), 0
  for _, c in ipairs(bocker.container.list()) do
    if not c.running and c.state.status ~= "restarting" and filters.match(c, lf) and (not until_t or (c.created or 0) < until_t) then
      local sz = bocker.container.size(c.id)
      if bocker.container.remove(c.id, { volumes = false }) then
        deleted[#deleted + 1] = c.id
        space = space + ((sz and sz.rw) or 0)
      end
    end
  end
  res:json({ ContainersDeleted = deleted, SpaceReclaimed = space })
end

return {
  { "GET", "/containers/json", list },
  { "POST", "/containers/create", create },
  { "POST", "/containers/prune", prune },
  { "GET", "/containers/{id}/json", inspect },
  { "POST", "/containers/{id}/start", start },
  { "POST", "/containers/{id}/stop", stop },
  { "POST", "/containers/{id}/restart", restart },
  { "POST", "/containers/{id}/kill", kill },
  { "POST", "/containers/{id}/wait", wait },
  { "DELETE", "/containers/{id}", remove },
  { "GET", "/containers/{id}/archive", archive_get },
  { "PUT", "/containers/{id}/archive", archive_put },
  { "GET", "/containers/{id}/changes", changes },
  { "GET", "/containers/{id}/top", top },
  { "GET", "/containers/{id}/stats", stats },
  { "POST", "/containers/{id}/rename", rename },
  { "POST", "/containers/{id}/pause", pause },
  { "POST", "/containers/{id}/unpause", unpause },
  { "POST", "/containers/{id}/update", update },
}
