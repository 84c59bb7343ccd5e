-- Stacks: the model a stack file gives (lua/lib/stackfile.lua), the plan
-- (which services, in which order, with which container spec) and applying
-- it (up, down), found again by compose's labels.
local M = {}

M.LABEL_PROJECT = "com.docker.compose.project"
M.LABEL_SERVICE = "com.docker.compose.service"
M.LABEL_NUMBER = "com.docker.compose.container-number"
M.LABEL_HASH = "com.docker.compose.config-hash"
M.LABEL_ONEOFF = "com.docker.compose.oneoff"
M.LABEL_NETWORK = "com.docker.compose.network"
M.LABEL_VOLUME = "com.docker.compose.volume"

-- compose-like progress on stderr: " Container demo-web-1  Started"
local function progress(kind, name, what)
  io.stderr:write(" ", kind, " ", name, "  ", what, "\n")
  io.stderr:flush()
end
M.progress = progress

-- Whether the core has user networks (bocker.network.create, the contract).
function M.user_networks()
  return bocker.network and bocker.network.create ~= nil
end

------------------------------------------------------------------ order

-- The services to bring up (those named and what they depend on, all when
-- none is named), in dependency order; a cycle is an error naming it.
function M.order(model, wanted)
  local want = {}
  local function add(name, from)
    if not model.services[name] then
      error(from and string.format("service %q depends on undefined service %q", from, name) or ("no such service: " .. name), 0)
    end
    if want[name] then return end
    want[name] = true
    for d in pairs(model.services[name].depends_on) do add(d, name) end
  end
  if wanted and #wanted > 0 then
    for _, n in ipairs(wanted) do add(n) end
  else
    for n in pairs(model.services) do want[n] = true end
  end
  local names = {}
  for n in pairs(want) do names[#names + 1] = n end
  table.sort(names)
  local out, state, stack = {}, {}, {}
  local function visit(n)
    if state[n] == "done" then return end
    if state[n] == "visiting" then
      local cycle, start = {}, nil
      for i, s in ipairs(stack) do if s == n then start = i end end
      for i = start, #stack do cycle[#cycle + 1] = stack[i] end
      cycle[#cycle + 1] = n
      error("dependency cycle between services: " .. table.concat(cycle, " -> "), 0)
    end
    state[n] = "visiting"
    stack[#stack + 1] = n
    local deps = {}
    for d in pairs(model.services[n].depends_on) do deps[#deps + 1] = d end
    table.sort(deps)
    for _, d in ipairs(deps) do visit(d) end
    stack[#stack] = nil
    state[n] = "done"
    out[#out + 1] = n
  end
  for _, n in ipairs(names) do visit(n) end
  return out
end

------------------------------------------------------------------ spec

function M.image_name(model, svc)
  if svc.image then return svc.image end
  return model.name .. "-" .. svc.name
end

function M.container_name(model, svc, number)
  return svc.container_name or string.format("%s-%s-%d", model.name, svc.name, number or 1)
end

-- Canonical JSON (bocker.json.encode sorts keys) hashed: the same
-- configuration gives the same hash in every run.
function M.config_hash(spec, image_id)
  return bocker.sha256(bocker.json.encode({ spec = spec, image = image_id }))
end

-- The bocker.container.create spec of a service (without the config-hash
-- label, which is the hash of the rest).
function M.container_spec(model, svc, number)
  local labels = {}
  for k, v in pairs(svc.labels) do labels[k] = v end
  labels[M.LABEL_PROJECT] = model.name
  labels[M.LABEL_SERVICE] = svc.name
  labels[M.LABEL_NUMBER] = tostring(number or 1)
  labels[M.LABEL_ONEOFF] = "False"
  local spec = {
    image = M.image_name(model, svc),
    name = M.container_name(model, svc, number),
    cmd = svc.command,
    entrypoint = svc.entrypoint,
    env = svc.environment,
    workdir = svc.working_dir,
    hostname = svc.hostname,
    user = svc.user,
    mounts = svc.mounts,
    ports = svc.ports,
    labels = labels,
    restart = svc.restart,
    healthcheck = svc.healthcheck,
    no_healthcheck = svc.no_healthcheck,
    init = svc.init,
    stop_signal = svc.stop_signal,
    stop_timeout = svc.stop_timeout,
    log = svc.log,
  }
  if svc.network_mode then
    spec.network = svc.network_mode
  elseif M.user_networks() then
    spec.networks = {}
    for _, n in ipairs(svc.networks) do
      local aliases = { svc.name }
      for _, a in ipairs(n.aliases) do aliases[#aliases + 1] = a end
      spec.networks[#spec.networks + 1] = { name = model.networks[n.name].name, aliases = aliases, ip = n.ip }
    end
  end
  return spec
end

------------------------------------------------------------------ lookups

-- The containers of a project (rows of bocker.container.list()), by service.
function M.containers(project)
  local out = {}
  for _, c in ipairs(bocker.container.list()) do
    local l = c.labels or {}
    if l[M.LABEL_PROJECT] == project then out[#out + 1] = c end
  end
  table.sort(out, function(a, b) return (a.name or a.id) < (b.name or b.id) end)
  return out
end

local function labelled(list, project)
  local out = {}
  for _, x in ipairs(list or {}) do
    if x.labels and x.labels[M.LABEL_PROJECT] == project then out[#out + 1] = x end
  end
  return out
end

------------------------------------------------------------------ up

-- Makes each declared network or volume named in `keys` (keys of
-- `decls`, the model's declarations) that does not exist yet, labelled with
-- the project and its key; an external one must exist already.
-- `r`: { kind, label, get(name), create(decl, labels), missing(name), show(name) }
local function ensure_declared(model, keys, decls, r)
  table.sort(keys)
  for _, k in ipairs(keys) do
    local d = decls[k]
    if not r.get(d.name) then
      if d.external then return nil, r.missing(d.name) end
      local labels = {}
      for lk, lv in pairs(d.labels or {}) do labels[lk] = lv end
      labels[M.LABEL_PROJECT] = model.name
      labels[r.label] = k
      local made, err = r.create(d, labels)
      if not made then return nil, err end
      progress(r.kind, r.show(d.name), "Created")
    end
  end
  return true
end

local function ensure_networks(model, order)
  if not M.user_networks() then return true end
  local used, keys = {}, {}
  for _, n in ipairs(order) do
    for _, net in ipairs(model.services[n].networks) do used[net.name] = true end
  end
  for k in pairs(used) do keys[#keys + 1] = k end
  return ensure_declared(model, keys, model.networks, {
    kind = "Network", label = M.LABEL_NETWORK, get = bocker.network.get,
    create = function(n, labels)
      return bocker.network.create { name = n.name, subnet = n.subnet, gateway = n.gateway, internal = n.internal or nil, labels = labels }
    end,
    missing = function(name) return string.format("network %s declared as external, but could not be found", name) end,
    show = function(name) return name end,
  })
end

local function ensure_volumes(model, order)
  local used, keys = {}, {}
  for _, n in ipairs(order) do
    for _, m in ipairs(model.services[n].mounts) do
      if m.type == "volume" and m.source ~= "" then used[m.source] = true end
    end
  end
  for k, v in pairs(model.volumes) do if used[v.name] then keys[#keys + 1] = k end end
  return ensure_declared(model, keys, model.volumes, {
    kind = "Volume", label = M.LABEL_VOLUME, get = bocker.volume.get,
    create = function(v, labels) return bocker.volume.create(v.name, { labels = labels }) end,
    missing = function(name) return string.format("external volume %q not found", name) end,
    show = function(name) return '"' .. name .. '"' end,
  })
end

-- The image id a service runs: built (with `build:` when missing or
-- opts.build), pulled when missing.
local function image_of(model, svc, opts)
  local name = M.image_name(model, svc)
  local have = bocker.image.get(name)
  if svc.build and (opts.build or not have) then
    local args = { "-t", name }
    if svc.build.dockerfile then args[#args + 1] = "-f"; args[#args + 1] = svc.build.context .. "/" .. svc.build.dockerfile end
    if svc.build.target then args[#args + 1] = "--target"; args[#args + 1] = svc.build.target end
    local keys = {}
    for k in pairs(svc.build.args or {}) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do args[#args + 1] = "--build-arg"; args[#args + 1] = k .. "=" .. svc.build.args[k] end
    args[#args + 1] = "-q"
    args[#args + 1] = svc.build.context
    progress("Image", name, "Building")
    local verb = assert(bocker.verbs.load("build"))
    local status = verb.run(args)
    if status ~= 0 then return nil, string.format("service %q: build failed (status %d)", svc.name, status) end
    progress("Image", name, "Built")
    have = bocker.image.get(name)
  elseif not have then
    progress("Image", name, "Pulling")
    local ok, err = bocker.image.pull(name)
    if not ok then return nil, string.format("service %q: %s", svc.name, err) end
    have = bocker.image.get(name)
  end
  if not have then return nil, string.format("service %q: no image %s", svc.name, name) end
  return have.id
end

-- Waits until `c` meets the condition a dependant asked for.
local function wait_condition(c, cond, svcname, timeout)
  if cond == "service_started" then return true end
  if cond == "service_completed_successfully" then
    local code, err = bocker.container.wait(c.id)
    if not code then return nil, err end
    if code ~= 0 then return nil, string.format("service %q didn't complete successfully: exit %d", svcname, code) end
    return true
  end
  local deadline = bocker.now() + (timeout or 300)
  local first = bocker.now()
  while true do
    local row = bocker.container.get(c.id)
    if not row then return nil, "container " .. c.name .. " is gone" end
    if row.health == "healthy" then return true end
    if row.health == "unhealthy" then return nil, string.format("dependency failed to start: container %s is unhealthy", row.name) end
    if not row.running then return nil, string.format("dependency failed to start: container %s exited (%s)", row.name, tostring(row.state.exit_code)) end
    if row.health == nil and bocker.now() - first > 5 then
      return nil, string.format("container %s has no healthcheck (depends_on: service_healthy needs one)", row.name)
    end
    if bocker.now() > deadline then return nil, "timed out waiting for " .. row.name .. " to be healthy" end
    bocker.sleep(0.1)
  end
end

-- Brings the stack up; returns { {service, container row}... } or nil, err.
-- opts = { services = {...}, build = bool, remove_orphans = bool }
function M.up(model, opts)
  opts = opts or {}
  local ok, order = pcall(M.order, model, opts.services)
  if not ok then return nil, order end
  local r, err = ensure_networks(model, order)
  if not r then return nil, err end
  r, err = ensure_volumes(model, order)
  if not r then return nil, err end
  local existing = {}
  for _, c in ipairs(M.containers(model.name)) do
    local s = c.labels[M.LABEL_SERVICE]
    if model.services[s] then existing[s] = existing[s] or c
    elseif opts.remove_orphans then
      bocker.container.remove(c.id, { force = true })
      progress("Container", c.name or c.id, "Removed")
    else
      io.stderr:write("WARN Found orphan container (", c.name or c.id, ") for this project. Use --remove-orphans to clean it up.\n")
    end
  end
  local started, made_now = {}, {}
  for _, name in ipairs(order) do
    local svc = model.services[name]
    local deps = {}
    for d in pairs(svc.depends_on) do deps[#deps + 1] = d end
    table.sort(deps)
    for _, d in ipairs(deps) do
      local w, werr = wait_condition(started[d], svc.depends_on[d], d)
      if not w then return nil, werr end
    end
    local image_id, ierr = image_of(model, svc, opts)
    if not image_id then return nil, ierr end
    local old = existing[name]
    local number = old and tonumber(old.labels[M.LABEL_NUMBER]) or 1
    local spec = M.container_spec(model, svc, number)
    local hash = M.config_hash(spec, image_id)
    spec.labels[M.LABEL_HASH] = hash
    local cname = spec.name
    local c, new = nil, false
    if old and old.labels[M.LABEL_HASH] == hash then
      c = old
      if old.running then
        progress("Container", cname, "Running")
      else
        local st, serr = bocker.container.start(old.id, { detach = true })
        if not st or serr then return nil, string.format("%s: %s", cname, serr or "start failed") end
        progress("Container", cname, "Started")
      end
    else
      if old then
        bocker.container.stop(old.id, svc.stop_timeout or 10)
        local rm, rerr = bocker.container.remove(old.id, { force = true })
        if not rm then return nil, rerr end
        progress("Container", cname, "Recreated")
      end
      local made, cerr = bocker.container.create(spec)
      if not made then return nil, string.format("service %q: %s", name, cerr) end
      if not old then progress("Container", cname, "Created") end
      local st, serr = bocker.container.start(made.id, { detach = true })
      if not st or serr then return nil, string.format("%s: %s", cname, serr or "start failed") end
      progress("Container", cname, "Started")
      c, new = made, true
    end
    started[name] = c
    made_now[name] = new
  end
  local out = {}
  for _, name in ipairs(order) do out[#out + 1] = { service = name, container = started[name], new = made_now[name] } end
  return out
end

------------------------------------------------------------------ down

-- Stops running containers all at once (their stop signal, then KILL
-- after `timeout` seconds, else their own stop timeout, else 10), as
-- `bocker stop` does one by one.
function M.stop_all(rows, timeout)
  local running, start = {}, bocker.now()
  for _, c in ipairs(rows) do
    if c.running then
      bocker.container.kill(c.id, c.stop_signal or "TERM")
      running[#running + 1] = c
    end
  end
  for _, c in ipairs(running) do
    local left = math.max(0, start + (timeout or c.stop_timeout or 10) - bocker.now())
    if not bocker.container.wait(c.id, left) then
      bocker.container.kill(c.id, "KILL")
      bocker.container.wait(c.id, 5)
    end
    progress("Container", c.name or c.id, "Stopped")
  end
end

-- Removes the project's containers, then its networks, with opts.volumes
-- its named volumes: only what carries the project's label.
function M.down(project, opts)
  opts = opts or {}
  local failed = nil
  local rows = M.containers(project)
  M.stop_all(rows, opts.timeout)
  for _, c in ipairs(rows) do
    local name = c.name or c.id
    local ok, err = bocker.container.remove(c.id, { force = true, volumes = opts.volumes })
    if ok then progress("Container", name, "Removed") else failed = err end
  end
  if bocker.network and bocker.network.list and M.user_networks() then
    for _, n in ipairs(labelled(bocker.network.list(), project)) do
      local ok, err = bocker.network.remove(n.name)
      if ok then progress("Network", n.name, "Removed") else failed = err end
    end
  end
  if opts.volumes then
    for _, v in ipairs(labelled(bocker.volume.list(), project)) do
      local ok, err = bocker.volume.remove(v.name)
      if ok then progress("Volume", v.name, "Removed") else failed = err end
    end
  end
  if failed then return nil, failed end
  return true
end

-- The project a command acts on: -p, else the stack file's, else the
-- current folder's name (normalised as compose does).
function M.project_of(file, project)
  local stackfile = require "bocker.stackfile"
  if project then
    local n = stackfile.normalize_project(project)
    if n == "" then return nil, "invalid project name: " .. project end
    return n
  end
  local path = stackfile.find(file)
  if path then
    local model, err = stackfile.load(path)
    if not model then return nil, err end
    return model.name
  end
  local dir = stackfile.cwd()
  local n = stackfile.normalize_project(dir:match("([^/]+)/*$") or "")
  if n == "" then return nil, "no project name: use -p NAME" end
  return n
end

------------------------------------------------------------------ logs

-- The prefix compose shows for a container: SERVICE-N (or its
-- container_name), padded to `width`.
function M.log_prefix(c)
  local l = c.labels or {}
  local svc, num = l[M.LABEL_SERVICE], l[M.LABEL_NUMBER]
  local project = l[M.LABEL_PROJECT]
  if c.name and svc and num and c.name == string.format("%s-%s-%s", project, svc, num) then return svc .. "-" .. num end
  return c.name or c.id
end

-- Prints the lines of `containers` prefixed, interleaved as they come; with
-- follow, until all have ended or `stop()` says so. opts.tail: N, or
-- {[id] = N} per container (nil: the whole log).
function M.print_logs(containers, opts)
  opts = opts or {}
  local width = 0
  local readers = {}
  for _, c in ipairs(containers) do
    local p = M.log_prefix(c)
    if #p > width then width = #p end
    local tail = opts.tail
    if type(tail) == "table" then tail = tail[c.id] end
    local it, err = bocker.container.log_lines(c.id, { follow = opts.follow, tail = tail })
    if not it then return nil, err end
    readers[#readers + 1] = { prefix = p, it = it }
  end
  local fmtp = "%-" .. width .. "s  | %s\n"
  local live = #readers
  while live > 0 do
    local got = false
    for _, r in ipairs(readers) do
      if r.it then
        while true do
          local e = r.it(0)
          if e == nil then r.it = nil; live = live - 1; break end
          if e == false then break end
          io.stdout:write(string.format(fmtp, r.prefix, e.line))
          got = true
        end
      end
    end
    io.stdout:flush()
    if opts.stop and opts.stop() then break end
    if not got and live > 0 then bocker.sleep(0.05) end
  end
  return true
end

return M
