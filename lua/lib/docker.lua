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
      WorkingDir = c.workdir or "/", Tty = c.tty or false, OpenStdin = c.interactive or false, Labels = c.labels or {},
      Healthcheck = healthcheck_of(c.healthcheck), StopSignal = c.stop_signal, StopTimeout = c.stop_timeout,
    },
    HostConfig = {
      NetworkMode = network_mode(c), AutoRemove = c.auto_remove or false, Privileged = (c.security or {}).privileged or false,
      ReadonlyRootfs = (c.security or {}).read_only or false, CpuShares = (c.limits or {}).cpu_shares or 0,
      Memory = math.max(0, (c.limits or {}).memory or 0), PidsLimit = (c.limits or {}).pids,
      RestartPolicy = restart_policy_of(c.restart), Init = c.init or false,
      LogConfig = require("bocker.logopts").docker_config(c.log),
    },
    Mounts = mounts_of(c),
    NetworkSettings = {
      IPAddress = primary.ip or "", IPPrefixLen = primary.prefix or 0, Gateway = primary.gateway or "",
      MacAddress = primary.mac or "", Ports = {}, Networks = nets,
    },
    Bocker = c,
  }
end

-- GET /images/json
function M.image_summary(i)
  return {
    Id = i.id, ParentId = i.parent or "", RepoTags = array(i.tags or {}), RepoDigests = array(i.digest and { i.digest } or {}),
    Created = math.floor(i.created or 0), Size = i.size or 0, VirtualSize = i.size or 0, SharedSize = -1,
    Labels = (i.config or {}).labels or {}, Containers = -1,
  }
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

return M
