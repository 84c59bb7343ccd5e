-- POST /containers/create: Docker's Config, HostConfig and
-- NetworkingConfig as a `bocker.container.create` spec. Fields bocker does
-- not know are ignored (as the engine ignores them); a value bocker cannot
-- honour is an error (the route answers 400 with it). Zero values count
-- as absent: clients send every field, most of them empty.
local M = {}

local function empty(v)
  return v == nil or v == false or v == 0 or v == "" or (type(v) == "table" and next(v) == nil)
end

local function list(v)
  if type(v) == "string" then return { v } end
  if type(v) ~= "table" then return nil end
  local out = {}
  for i, x in ipairs(v) do out[i] = tostring(x) end
  return out
end

local function seconds(ns) if not empty(ns) then return ns / 1e9 end end

-- HostConfig fields that change what a container is, and that bocker has
-- no way to carry out: a non-zero value is refused rather than dropped.
local refused = {
  "CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime", "BlkioWeight", "BlkioWeightDevice",
  "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "KernelMemory",
  "KernelMemoryTCP", "DeviceCgroupRules", "DeviceRequests", "VolumesFrom", "Links", "CgroupParent", "UsernsMode",
  "CpuCount", "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth", "MemorySwappiness", "OomScoreAdj",
}

-- "80/tcp" and its bindings as `-p` strings
local function port_specs(bindings)
  local out = {}
  local keys = {}
  for k in pairs(bindings or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, cport in ipairs(keys) do
    local bs = bindings[cport]
    if type(bs) ~= "table" or #bs == 0 then bs = { {} } end
    for _, b in ipairs(bs) do
      local ip, hp = b.HostIp or "", b.HostPort or ""
      if ip ~= "" then out[#out + 1] = ip .. ":" .. hp .. ":" .. cport
      elseif hp ~= "" then out[#out + 1] = hp .. ":" .. cport
      else out[#out + 1] = cport end
    end
  end
  return out
end

local function mounts_of(cfg, hc)
  local mounts = require "bocker.mounts"
  local out = {}
  for _, b in ipairs(hc.Binds or {}) do
    local m, err = mounts.parse_volume(b)
    if not m then return nil, err end
    out[#out + 1] = m
  end
  for _, m in ipairs(hc.Mounts or {}) do
    local t = (m.Type or "volume"):lower()
    if t ~= "bind" and t ~= "volume" and t ~= "tmpfs" then return nil, "unsupported mount type: " .. t end
    if type(m.Target) ~= "string" or m.Target == "" then return nil, "invalid mount config: Target must not be empty" end
    local opts
    if t == "tmpfs" and type(m.TmpfsOptions) == "table" then
      local o = {}
      if not empty(m.TmpfsOptions.SizeBytes) then o[#o + 1] = "size=" .. math.tointeger(m.TmpfsOptions.SizeBytes) end
      if not empty(m.TmpfsOptions.Mode) then o[#o + 1] = string.format("mode=%o", m.TmpfsOptions.Mode) end
      opts = #o > 0 and table.concat(o, ",") or nil
    end
    out[#out + 1] = { type = t, source = t == "tmpfs" and "" or (m.Source or ""), target = m.Target, readonly = m.ReadOnly or false, options = opts }
  end
  local paths = {}
  for p in pairs(hc.Tmpfs or {}) do paths[#paths + 1] = p end
  table.sort(paths)
  for _, p in ipairs(paths) do
    local o = hc.Tmpfs[p]
    out[#out + 1] = { type = "tmpfs", source = "", target = p, readonly = false, options = (o ~= "" and o) or nil }
  end
  -- Config.Volumes: anonymous volumes at these paths
  local anon = {}
  for p in pairs(cfg.Volumes or {}) do anon[#anon + 1] = p end
  table.sort(anon)
  for _, p in ipairs(anon) do
    local taken = false
    for _, m in ipairs(out) do if m.target == p then taken = true end end
    if not taken then out[#out + 1] = { type = "volume", source = "", target = p, readonly = false } end
  end
  return out
end

local function restart_of(p)
  if type(p) ~= "table" or empty(p.Name) or p.Name == "no" then return nil end
  if p.Name == "on-failure" and not empty(p.MaximumRetryCount) then return "on-failure:" .. math.tointeger(p.MaximumRetryCount) end
  return p.Name
end

local function healthcheck_of(h)
  if type(h) ~= "table" or empty(h) then return nil end
  if type(h.Test) == "table" and h.Test[1] == "NONE" then return nil, true end
  return {
    test = not empty(h.Test) and list(h.Test) or nil,
    interval = seconds(h.Interval), timeout = seconds(h.Timeout), start_period = seconds(h.StartPeriod),
    retries = not empty(h.Retries) and math.tointeger(h.Retries) or nil,
  }
end

local function devices_of(ds)
  local out = {}
  for _, d in ipairs(ds or {}) do
    local s = d.PathOnHost or ""
    if not empty(d.PathInContainer) then s = s .. ":" .. d.PathInContainer end
    if not empty(d.CgroupPermissions) then s = s .. ":" .. d.CgroupPermissions end
    out[#out + 1] = s
  end
  return out
end

-- network mode and user networks (NetworkMode plus EndpointsConfig)
local function networks_of(cfg, hc, ncfg)
  if cfg.NetworkDisabled then return "none" end
  local mode = hc.NetworkMode
  if empty(mode) or mode == "default" then mode = "bridge" end
  local eps = (ncfg or {}).EndpointsConfig or {}
  local builtin = mode == "bridge" or mode == "host" or mode == "none" or mode:match("^container:")
  if builtin then return mode end
  local nets = { { name = mode } }
  local names = {}
  for n in pairs(eps) do if n ~= mode then names[#names + 1] = n end end
  table.sort(names)
  for _, n in ipairs(names) do nets[#nets + 1] = { name = n } end
  for _, n in ipairs(nets) do
    local ep = eps[n.name]
    if type(ep) == "table" then
      -- compose adds the service's name and the short id as aliases
      if not empty(ep.Aliases) then n.aliases = list(ep.Aliases) end
      local ipam = ep.IPAMConfig
      if type(ipam) == "table" and not empty(ipam.IPv4Address) then n.ip = ipam.IPv4Address end
    end
  end
  return nil, nets
end

-- HostConfig.LogConfig: the logs part's rules (lua/lib/logopts.lua)
local function log_of(lc)
  -- the docker CLI sends --log-opt without --log-driver as Type ""
  if type(lc) ~= "table" or (empty(lc.Type) and empty(lc.Config)) then return nil end
  return (require "bocker.logopts").spec(lc.Type, lc.Config)
end

local function ulimits_of(us)
  if empty(us) then return nil end
  local out = {}
  for i, u in ipairs(us) do out[i] = { name = u.Name, soft = u.Soft, hard = u.Hard } end
  return out
end

-- The spec for bocker.container.create, or nil and the reason (a 400).
function M.spec(body, name)
  if type(body) ~= "table" then return nil, "the request body is not a JSON object" end
  local hc = type(body.HostConfig) == "table" and body.HostConfig or {}
  if empty(body.Image) then return nil, "Config.Image is required" end
  for _, k in ipairs(refused) do
    if not empty(hc[k]) and not (k == "MemorySwappiness" and hc[k] == -1) then
      return nil, string.format("HostConfig.%s is not supported by bocker", k)
    end
  end
  if not empty(hc.Runtime) and hc.Runtime ~= "runc" and hc.Runtime ~= "bocker" then
    return nil, "HostConfig.Runtime " .. hc.Runtime .. " is not supported by bocker"
  end
  if hc.OomKillDisable then return nil, "HostConfig.OomKillDisable is not supported by bocker" end
  local mounts, merr = mounts_of(body, hc)
  if not mounts then return nil, merr end
  local network, networks = networks_of(body, hc, body.NetworkingConfig)
  local healthcheck, no_hc = healthcheck_of(body.Healthcheck)
  local log, lerr = log_of(hc.LogConfig)
  if lerr then return nil, lerr end
  local entrypoint = body.Entrypoint
  if type(entrypoint) == "string" then entrypoint = { entrypoint } end
  if type(entrypoint) == "table" and #entrypoint == 1 and entrypoint[1] == "" then entrypoint = bocker.json.array() end
  local memory
  if not empty(hc.Memory) then memory = math.tointeger(hc.Memory) end
  local spec = {
    image = body.Image,
    cmd = not empty(body.Cmd) and list(body.Cmd) or nil,
    entrypoint = type(entrypoint) == "table" and list(entrypoint) or nil,
    name = (not empty(name)) and name:gsub("^/", "") or nil,
    env = list(body.Env) or {},
    workdir = not empty(body.WorkingDir) and body.WorkingDir or nil,
    hostname = not empty(body.Hostname) and body.Hostname or nil,
    user = not empty(body.User) and body.User or nil,
    tty = body.Tty or false,
    interactive = body.OpenStdin or false,
    rm = hc.AutoRemove or false,
    cpu_shares = not empty(hc.CpuShares) and math.tointeger(hc.CpuShares) or nil,
    memory = memory,
    pids_limit = (not empty(hc.PidsLimit) and hc.PidsLimit > 0) and math.tointeger(hc.PidsLimit) or nil,
    mounts = mounts,
    network = network,
    networks = networks,
    add_hosts = list(hc.ExtraHosts) or {},
    dns = list(hc.Dns) or {},
    dns_search = list(hc.DnsSearch) or {},
    ports = port_specs(hc.PortBindings),
    publish_all = hc.PublishAllPorts or nil,
    privileged = hc.Privileged or nil,
    cap_add = list(hc.CapAdd) or {},
    cap_drop = list(hc.CapDrop) or {},
    security_opt = list(hc.SecurityOpt) or {},
    read_only = hc.ReadonlyRootfs or nil,
    devices = devices_of(hc.Devices),
    labels = type(body.Labels) == "table" and body.Labels or nil,
    restart = restart_of(hc.RestartPolicy),
    healthcheck = healthcheck,
    no_healthcheck = no_hc or nil,
    init = hc.Init or nil,
    stop_signal = not empty(body.StopSignal) and body.StopSignal or nil,
    stop_timeout = not empty(body.StopTimeout) and math.tointeger(body.StopTimeout) or nil,
    -- the keys of the run/create flags of #16 (runflags, logs, attach):
    -- given only when set, so a bocker without one refuses only a request
    -- that needs it
    ulimits = ulimits_of(hc.Ulimits),
    shm_size = not empty(hc.ShmSize) and math.tointeger(hc.ShmSize) or nil,
    sysctls = not empty(hc.Sysctls) and hc.Sysctls or nil,
    cpus = not empty(hc.NanoCpus) and hc.NanoCpus / 1e9 or nil,
    cpuset_cpus = not empty(hc.CpusetCpus) and hc.CpusetCpus or nil,
    memory_swap = not empty(hc.MemorySwap) and math.tointeger(hc.MemorySwap) or nil,
    memory_reservation = not empty(hc.MemoryReservation) and math.tointeger(hc.MemoryReservation) or nil,
    group_add = not empty(hc.GroupAdd) and list(hc.GroupAdd) or nil,
    ipc = not empty(hc.IpcMode) and hc.IpcMode ~= "private" and hc.IpcMode or nil,
    pid = not empty(hc.PidMode) and hc.PidMode or nil,
    uts = not empty(hc.UTSMode) and hc.UTSMode or nil,
    log = log,
    stdin_once = body.StdinOnce or nil,
  }
  return spec
end

return M
