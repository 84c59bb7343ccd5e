-- bocker's records in the shapes of Docker's API (what `docker` clients
-- decode and what `--format` templates name): containers (list and
-- inspect), images, version, info. One place, used by the API routes
-- (lua/api/) and the verbs.
local fmt = require "bocker.fmt"
local M = {}

local array = bocker.json.array

local function state_name(c)
  if c.paused then return "paused" end
  if c.running then return "running" end
  local st = (c.state or {}).status
  if st == "exited" then return "exited" end
  return st or "created"
end

-- the record's command line (entrypoint and cmd are already merged)
local function path_and_args(c)
  local args = c.args or {}
  local rest = {}
  for i = 2, #args do rest[#rest + 1] = args[i] end
  return args[1] or "", array(rest)
end

local function ports_of(c)
  local out = array()
  local st = (c.state or {}).net or {}
  for _, p in ipairs(st.ports or {}) do
    out[#out + 1] = { PrivatePort = p.container_port, PublicPort = p.host_port, Type = p.proto or "tcp", IP = p.host_ip or "0.0.0.0" }
  end
  return out
end

-- NetworkSettings.Ports: {"80/tcp": [{HostIp, HostPort}]} (what `docker port` reads)
local function port_map_of(c)
  local out = {}
  for _, p in ipairs(((c.state or {}).net or {}).ports or {}) do
    local k = string.format("%d/%s", p.container_port, p.proto or "tcp")
    out[k] = out[k] or array()
    table.insert(out[k], { HostIp = p.host_ip or "0.0.0.0", HostPort = tostring(p.host_port) })
  end
  return out
end

local function networks_of(c)
  local nets = {}
  local st = (c.state or {}).net
  if st and st.ip then
    nets[st.network or (c.network == "bridge" and "bridge") or st.bridge or "bridge"] = {
      IPAddress = st.ip, IPPrefixLen = st.prefix or 0, Gateway = st.gateway or "", MacAddress = st.mac or "",
      NetworkID = st.bridge or "",
    }
  end
  -- user networks after the first (and those connected later)
  for _, l in ipairs(st and st.attachments or {}) do
    nets[l.network] = { IPAddress = l.ip, IPPrefixLen = l.prefix, Gateway = l.gateway, MacAddress = l.mac, NetworkID = l.bridge }
  end
  return nets
end

-- Docker's NetworkMode: a user network's name, `container:ID`, or the mode
local function network_mode(c)
  if c.network == "user" and c.networks and c.networks[1] then return c.networks[1].name end
  if c.network == "container" and c.net_container then return "container:" .. c.net_container end
  return c.network or "bridge"
end

local function mounts_of(c)
  local out = array()
  for _, m in ipairs(c.mounts or {}) do
    out[#out + 1] = { Type = m.kind, Source = m.source, Destination = m.target, RW = not m.readonly,
      Name = m.kind == "volume" and m.source or nil }
  end
  return out
end

-- GET /containers/json, `ps --format`
function M.container_summary(c, now)
  local path, args = path_and_args(c)
  local cmd = path
  if #args > 0 then cmd = cmd .. " " .. table.concat(args, " ") end
  return {
    Id = c.id, Names = array({ "/" .. (c.name or c.id) }), Image = c.image_ref or c.image, ImageID = c.image,
    Command = cmd, Created = math.floor(c.created or 0), State = state_name(c), Status = fmt.status(c, now),
    Ports = ports_of(c), Labels = c.labels or {}, Mounts = mounts_of(c),
    HostConfig = { NetworkMode = network_mode(c) },
    NetworkSettings = { Networks = networks_of(c) },
  }
end

-- State.Health as docker shows it (times as RFC 3339)
local function health_of(h)
  if not h then return nil end
  local log = array()
  for _, r in ipairs(h.log or {}) do
    log[#log + 1] = { Start = bocker.rfc3339(r.start), End = bocker.rfc3339(r["end"]), ExitCode = r.exit_code, Output = r.output }
  end
  return { Status = h.status, FailingStreak = h.failing_streak or 0, Log = log }
end

-- Config.Healthcheck (durations in nanoseconds, as the record keeps them)
local function healthcheck_of(hc)
  if not hc then return nil end
  return { Test = array(hc.test or {}), Interval = hc.interval, Timeout = hc.timeout, StartPeriod = hc.start_period, Retries = hc.retries }
end

-- HostConfig.Ulimits from the record's { name, soft, hard }
local function ulimits_of(us)
  if not us or #us == 0 then return nil end
  local out = array()
  for i, u in ipairs(us) do out[i] = { Name = u.name, Soft = u.soft, Hard = u.hard } end
  return out
end

-- HostConfig.RestartPolicy from "on-failure:3"
local function restart_policy_of(p)
  local name, n = (p or "no"):match("^([^:]*):?(%d*)$")
  return { Name = name or "no", MaximumRetryCount = tonumber(n) or 0 }
end

-- GET /containers/{id}/json, `inspect --format`
function M.container_inspect(c)
  local st = c.state or {}
  local path, args = path_and_args(c)
  local nets = networks_of(c)
  local primary = (st.net or {})
  return {
    Id = c.id, Name = "/" .. (c.name or c.id), Created = bocker.rfc3339(c.created or 0), Path = path, Args = args,
    State = {
      Status = state_name(c), Running = c.running and not c.paused or false, Paused = c.paused or false,
      Restarting = st.status == "restarting", Health = health_of(st.health), OOMKilled = st.oom_killed or false, Dead = false, Pid = c.running and st.pid or 0,
      ExitCode = st.exit_code or 0, Error = st.error or "",
      StartedAt = st.started and bocker.rfc3339(st.started) or "0001-01-01T00:00:00Z",
      FinishedAt = st.finished and bocker.rfc3339(st.finished) or "0001-01-01T00:00:00Z",
    },
    Image = c.image, RestartCount = c.restart_count or 0, Driver = "overlay", Platform = "linux",
    Config = {
      Hostname = c.hostname, User = c.user or "", Env = array(c.env or {}), Cmd = array(c.args or {}), Image = c.image_ref or c.image,
      WorkingDir = c.workdir or "/", Tty = c.tty or false, OpenStdin = c.interactive or false, StdinOnce = c.stdin_once or false, Labels = c.labels or {},
      Healthcheck = healthcheck_of(c.healthcheck), StopSignal = c.stop_signal, StopTimeout = c.stop_timeout,
    },
    HostConfig = {
      NetworkMode = network_mode(c), AutoRemove = c.auto_remove or false, Privileged = (c.security or {}).privileged or false,
      ReadonlyRootfs = (c.security or {}).read_only or false, CpuShares = (c.limits or {}).cpu_shares or 0,
      Memory = math.max(0, (c.limits or {}).memory or 0), PidsLimit = (c.limits or {}).pids,
      RestartPolicy = restart_policy_of(c.restart), Init = c.init or false,
      -- the run flags of #16 (absent from records made before them)
      MemorySwap = (c.limits or {}).memory_swap or 0, MemoryReservation = (c.limits or {}).memory_reservation or 0,
      NanoCpus = (c.limits or {}).nano_cpus or 0, CpusetCpus = (c.limits or {}).cpuset_cpus or "",
      Ulimits = ulimits_of(c.ulimits), ShmSize = c.shm_size or 67108864, Sysctls = c.sysctls,
      GroupAdd = c.group_add and array(c.group_add) or nil, IpcMode = c.ipc or "private", PidMode = c.pid or "",
      UTSMode = c.uts or "",
      LogConfig = require("bocker.logopts").docker_config(c.log),
    },
    Mounts = mounts_of(c),
    NetworkSettings = {
      IPAddress = primary.ip or "", IPPrefixLen = primary.prefix or 0, Gateway = primary.gateway or "",
      MacAddress = primary.mac or "", Ports = port_map_of(c), Networks = nets,
    },
    Bocker = c,
  }
end

-- `ps --format`: the row Docker's CLI formats (its names, its texts)
function M.container_ps_row(c, now)
  local s = M.container_summary(c, now)
  local ports = {}
  for _, p in ipairs(s.Ports) do
    if p.PublicPort then ports[#ports + 1] = string.format("%s:%d->%d/%s", p.IP, p.PublicPort, p.PrivatePort, p.Type)
    else ports[#ports + 1] = string.format("%d/%s", p.PrivatePort, p.Type) end
  end
  local labels = {}
  for k, v in pairs(c.labels or {}) do labels[#labels + 1] = k .. "=" .. v end
  table.sort(labels)
  local mounts = {}
  for _, m in ipairs(s.Mounts) do mounts[#mounts + 1] = m.Name or m.Source end
  local nets = {}
  for n in pairs(s.NetworkSettings.Networks) do nets[#nets + 1] = n end
  table.sort(nets)
  local size = ""
  if c.size_rw then size = fmt.size(c.size_rw) .. " (virtual " .. fmt.size(c.size_root_fs or 0) .. ")" end
  return {
    ID = c.id, Image = s.Image, Command = string.format("%q", s.Command), CreatedAt = os.date("!%Y-%m-%d %H:%M:%S +0000 UTC", s.Created),
    RunningFor = fmt.ago(c.created, now), Ports = table.concat(ports, ", "), State = s.State, Status = s.Status, Size = size,
    Names = c.name or c.id, Labels = table.concat(labels, ","), Mounts = table.concat(mounts, ","), Networks = table.concat(nets, ","),
  }
end

-- GET /containers/{id}/stats: a sample of bocker.container.stats with
-- the time it was read and the sample before it (CPU % is their delta)
function M.stats(s, prev)
  s.read = bocker.rfc3339(bocker.now())
  s.preread = prev and prev.read or "0001-01-01T00:00:00Z"
  s.precpu_stats = prev and prev.cpu_stats or { cpu_usage = { total_usage = 0 }, throttling_data = {} }
  s.storage_stats = {}
  s.blkio_stats.io_service_bytes_recursive = array(s.blkio_stats.io_service_bytes_recursive or {})
  return s
end

-- POST /containers/{id}/update: Docker's resources as the limits of
-- bocker.container.update, or nil and why (a value bocker cannot change)
function M.update_limits(b)
  local function set(v) return v ~= nil and v ~= 0 and v ~= "" end
  for _, k in ipairs { "CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime", "BlkioWeight", "KernelMemory", "CpusetMems" } do
    if set(b[k]) then return nil, k .. " cannot be updated by bocker" end
  end
  local l = {}
  if set(b.Memory) then l.memory = math.tointeger(b.Memory) end
  if set(b.MemorySwap) then l.memory_swap = math.tointeger(b.MemorySwap) end
  if set(b.MemoryReservation) then l.memory_reservation = math.tointeger(b.MemoryReservation) end
  if set(b.CpuShares) then l.cpu_shares = math.tointeger(b.CpuShares) end
  if set(b.NanoCpus) then l.cpus = b.NanoCpus / 1e9 end
  if set(b.CpusetCpus) then l.cpuset_cpus = b.CpusetCpus end
  if set(b.PidsLimit) then l.pids_limit = math.tointeger(b.PidsLimit) end
  local rp = b.RestartPolicy
  if type(rp) == "table" and set(rp.Name) then
    l.restart = rp.Name
    if rp.Name == "on-failure" and set(rp.MaximumRetryCount) then l.restart = "on-failure:" .. math.tointeger(rp.MaximumRetryCount) end
  end
  return l
end

-- "reg:5000/a/b:tag" -> "reg:5000/a/b", "tag" (no tag: "latest")
function M.split_tag(name)
  local repo, tag = name:match("^(.*):([^:/]+)$")
  if repo then return repo, tag end
  return name, "latest"
end

-- RepoDigests: NAME@sha256:... for each repository the image is tagged in
local function repo_digests(i)
  local out = array()
  if not i.manifest_digest then return out end
  local seen = {}
  for _, t in ipairs(i.tags or {}) do
    local repo = M.split_tag(t)
    if not seen[repo] then seen[repo] = true; out[#out + 1] = repo .. "@" .. i.manifest_digest end
  end
  return out
end

local function set_of(list)
  if not list or #list == 0 then return nil end
  local out = {}
  for _, k in ipairs(list) do out[k:find("/") and k or (k .. "/tcp")] = {} end
  return out
end

local function volumes_of(list)
  if not list or #list == 0 then return nil end
  local out = {}
  for _, k in ipairs(list) do out[k] = {} end
  return out
end

-- GET /images/json
function M.image_summary(i)
  return {
    Id = i.id, ParentId = i.parent or "", RepoTags = array(i.tags or {}), RepoDigests = repo_digests(i),
    Created = math.floor(i.created or 0), Size = i.size or 0, VirtualSize = i.size or 0, SharedSize = -1,
    Labels = (i.config or {}).labels or {}, Containers = -1,
  }
end

-- an image's config as Docker's Config (ContainerConfig shape)
function M.image_config(c)
  c = c or {}
  return {
    Hostname = "", Domainname = "", User = c.user or "", AttachStdin = false, AttachStdout = false, AttachStderr = false,
    ExposedPorts = set_of(c.exposed_ports), Tty = false, OpenStdin = false, StdinOnce = false,
    Env = array(c.env or {}), Cmd = c.cmd and array(c.cmd) or nil, Healthcheck = healthcheck_of(c.healthcheck),
    Image = "", Volumes = volumes_of(c.volumes), WorkingDir = c.working_dir or "",
    Entrypoint = c.entrypoint and array(c.entrypoint) or nil, OnBuild = array(c.onbuild or {}),
    Labels = c.labels or {}, StopSignal = c.stop_signal, Shell = c.shell and array(c.shell) or nil,
  }
end

-- GET /images/{name}/json, `inspect IMAGE` (layers: bocker.image.layers)
function M.image_inspect(i, layers)
  local os_name, arch = ((i.platform or bocker.host().platform) .. "/"):match("^([^/]+)/([^/]+)")
  local diff_ids = array()
  for _, l in ipairs(layers or {}) do diff_ids[#diff_ids + 1] = l.diff_id or ("sha256:" .. bocker.sha256(l.id)) end
  local last = (i.history or {})[#(i.history or {})] or {}
  return {
    Id = i.id, RepoTags = array(i.tags or {}), RepoDigests = repo_digests(i), Parent = i.parent or "",
    Comment = last.comment or "", Created = bocker.rfc3339(i.created or 0), Container = "",
    ContainerConfig = M.image_config(nil), DockerVersion = "", Author = last.author or "",
    Config = M.image_config(i.config), Architecture = arch or "amd64", Os = os_name or "linux",
    Size = i.size or 0, VirtualSize = i.size or 0,
    GraphDriver = { Name = "overlay", Data = {} },
    RootFS = { Type = "layers", Layers = diff_ids },
    Metadata = { LastTagTime = "0001-01-01T00:00:00Z" },
    Bocker = i,
  }
end

-- GET /images/{name}/history
function M.image_history(rows)
  local out = array()
  for _, r in ipairs(rows or {}) do
    out[#out + 1] = { Id = r.id or "<missing>", Created = math.floor(r.created or 0), CreatedBy = r.created_by or "",
      Tags = array({}), Size = r.size or 0, Comment = r.comment or "" }
  end
  return out
end

-- GET /version, `version --format`
function M.version()
  local h = bocker.host()
  local os_name, arch = h.platform:match("^([^/]+)/(.+)$")
  return {
    Version = h.version, ApiVersion = "1.41", MinAPIVersion = "1.24", Os = os_name, Arch = arch,
    KernelVersion = h.kernel, GitCommit = h.build, GoVersion = _VERSION, BuildTime = "",
    Platform = { Name = "bocker" },
    Components = array({ { Name = "Engine", Version = h.version, Details = { ApiVersion = "1.41", MinAPIVersion = "1.24",
      GitCommit = h.build, GoVersion = _VERSION, Os = os_name, Arch = arch, KernelVersion = h.kernel, Experimental = "false",
      BuildTime = "" } } }),
    Build = h.build, Lua = _VERSION, Kernel = h.kernel, CgroupVersion = tostring(h.cgroup_version),
  }
end

-- GET /info, `info --format`
function M.info()
  local h = bocker.host()
  local running, paused, stopped = 0, 0, 0
  local cs = bocker.container.list()
  for _, c in ipairs(cs) do
    if c.paused then paused = paused + 1 elseif c.running then running = running + 1 else stopped = stopped + 1 end
  end
  local os_name, arch = h.platform:match("^([^/]+)/(.+)$")
  return {
    ID = h.build, Name = h.hostname or "", Containers = #cs, ContainersRunning = running, ContainersPaused = paused,
    ContainersStopped = stopped, Images = #bocker.image.list(), Volumes = #bocker.volume.list(), Driver = "overlay",
    CgroupDriver = "cgroupfs", CgroupVersion = tostring(h.cgroup_version), KernelVersion = h.kernel,
    OperatingSystem = h.os, OSType = os_name, Architecture = arch, NCPU = h.cpus, MemTotal = h.memory,
    DockerRootDir = bocker.root(), ServerVersion = h.version, DefaultRuntime = "bocker",
    Runtimes = { bocker = { path = "bocker" } }, SecurityOptions = array({ "name=seccomp,profile=builtin" }),
    Warnings = array(),
  }
end

-- GET /networks/{id}, `network inspect`
function M.network_inspect(n)
  local containers = {}
  local prefix = (n.subnet or ""):match("/(%d+)$") or "0"
  for _, c in ipairs(bocker.network.containers(n.name) or {}) do
    containers[c.id] = { Name = c.name or "", EndpointID = "", MacAddress = "",
      IPv4Address = (c.ip ~= "" and (c.ip .. "/" .. prefix)) or "", IPv6Address = "" }
  end
  return {
    Name = n.name, Id = n.id, Created = bocker.rfc3339(n.created or 0), Scope = "local", Driver = n.driver or "bridge",
    EnableIPv6 = false, Internal = n.internal or false, Attachable = true, Ingress = false,
    IPAM = { Driver = "default", Options = {}, Config = array({ { Subnet = n.subnet, Gateway = n.gateway } }) },
    ConfigFrom = { Network = "" }, ConfigOnly = false,
    Containers = containers, Labels = n.labels or {}, Options = { ["bocker.bridge"] = n.bridge },
  }
end

-- GET /volumes/{name}, `volume inspect`
function M.volume_inspect(v)
  return {
    Name = v.name, Driver = "local", Mountpoint = v.mountpoint, CreatedAt = bocker.rfc3339(v.created or 0),
    Labels = v.labels or {}, Scope = "local", Options = {},
    UsageData = v.containers and { Size = -1, RefCount = #v.containers } or nil,
  }
end

-- GET /system/df, `system df`: images, containers, volumes and what they hold
function M.system_df()
  local cs = bocker.container.list()
  local per_image = {}
  local containers = array()
  local now = bocker.now()
  for _, c in ipairs(cs) do
    per_image[c.image] = (per_image[c.image] or 0) + 1
    local s = M.container_summary(c, now)
    s.SizeRw, s.SizeRootFs = c.size_rw or 0, 0
    containers[#containers + 1] = s
  end
  local images, layers = array(), 0
  for _, i in ipairs(bocker.image.list()) do
    local s = M.image_summary(i)
    s.Containers = per_image[i.id] or 0
    images[#images + 1] = s
    layers = layers + (i.size or 0)
  end
  local volumes = array()
  for _, v in ipairs(bocker.volume.list()) do
    local full = bocker.volume.get(v.name) or v
    local d = M.volume_inspect(full)
    d.UsageData = { Size = -1, RefCount = #(full.containers or {}) }
    volumes[#volumes + 1] = d
  end
  return { LayersSize = layers, Images = images, Containers = containers, Volumes = volumes, BuildCache = array() }
end

return M
