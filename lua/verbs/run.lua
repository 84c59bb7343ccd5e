-- bocker run [FLAGS] IMAGE [CMD [ARG...]]
local cli = require "bocker.cli"
local units = require "bocker.units"

local spec = {
  { long = "detach", short = "d", kind = "bool", help = "Run in the background and print the container id" },
  { long = "interactive", short = "i", kind = "bool", help = "Keep stdin attached" },
  { long = "tty", short = "t", kind = "bool", help = "Allocate a pseudo-terminal" },
  { long = "attach", short = "a", kind = "list", arg = "STREAM", help = "Attach to stdin, stdout or stderr (repeatable; default: stdout and stderr, and stdin with -i)" },
  { long = "detach-keys", kind = "string", arg = "KEYS", help = "Keys that detach from the container (default ctrl-p,ctrl-q)" },
  { long = "sig-proxy", kind = "bool", default = true, help = "Forward received signals to the container (without -t)" },
  { long = "rm", kind = "bool", help = "Remove the container when it exits" },
  { long = "name", kind = "string", help = "Name the container" },
  { long = "env", short = "e", kind = "list", arg = "K=V", help = "Set an environment variable" },
  { long = "env-file", kind = "list", arg = "FILE", help = "Read environment variables from a file" },
  { long = "workdir", short = "w", kind = "string", arg = "DIR", help = "Working directory inside the container" },
  { long = "hostname", short = "h", kind = "string", help = "Container host name (default: its id)" },
  { long = "entrypoint", kind = "string", help = "Override the image's entrypoint" },
  { long = "user", short = "u", kind = "string", arg = "USER[:GROUP]", help = "User to run as" },
  { long = "cpu-shares", short = "c", kind = "int", help = "CPU shares (default $BOCKER_CPU_SHARE or 512)" },
  { long = "memory", short = "m", kind = "string", arg = "SIZE", help = "Memory limit, b/k/m/g (default $BOCKER_MEM_LIMIT MB or 512 MB)" },
  { long = "pids-limit", kind = "int", help = "Maximum number of processes" },
  { long = "cpus", kind = "string", arg = "NUMBER", help = "Number of CPUs (CFS quota, e.g. 1.5)" },
  { long = "cpuset-cpus", kind = "string", arg = "LIST", help = "CPUs it may run on (0-3, 0,1)" },
  { long = "memory-swap", kind = "string", arg = "SIZE", help = "Memory plus swap limit (-1: unlimited swap)" },
  { long = "memory-reservation", kind = "string", arg = "SIZE", help = "Memory soft limit" },
  { long = "shm-size", kind = "string", arg = "SIZE", help = "Size of /dev/shm (default 64m)" },
  { long = "ulimit", kind = "list", arg = "NAME=SOFT[:HARD]", help = "Resource limit (nofile=1024:2048)" },
  { long = "sysctl", kind = "list", arg = "KEY=VALUE", help = "Namespaced kernel parameter (net.*, kernel.shm*, fs.mqueue.*)" },
  { long = "group-add", kind = "list", arg = "GROUP", help = "Add a supplementary group (name in the image or number)" },
  { long = "ipc", kind = "string", arg = "MODE", help = "IPC namespace: private, shareable, host or container:NAME" },
  { long = "pid", kind = "string", arg = "MODE", help = "PID namespace: host or container:NAME" },
  { long = "uts", kind = "string", arg = "MODE", help = "UTS namespace: host" },
  { long = "volume", short = "v", kind = "list", arg = "SRC:DST[:ro]", help = "Bind mount a host path or a named volume" },
  { long = "mount", kind = "list", arg = "type=bind,src=..,dst=..", help = "Attach a mount (long form)" },
  { long = "tmpfs", kind = "list", arg = "PATH[:OPTS]", help = "Mount a tmpfs" },
  { long = "volumes-from", kind = "list", arg = "CONTAINER[:ro]", help = "Mount the volumes of another container" },
  { long = "network", kind = "list", arg = "bridge|none|host|container:X|NAME", help = "Network mode, or a user network (repeatable: the first is the primary)" },
  { long = "net", kind = "list", arg = "MODE", help = "Same as --network" },
  { long = "network-alias", kind = "list", arg = "NAME", help = "Another name on the (first) user network" },
  { long = "ip", kind = "string", arg = "IP", help = "Address on the (first) user network" },
  { long = "add-host", kind = "list", arg = "NAME:IP", help = "Add a line to /etc/hosts (IP host-gateway: the gateway)" },
  { long = "dns", kind = "list", arg = "IP", help = "DNS server (on a user network: where other names are forwarded)" },
  { long = "dns-search", kind = "list", arg = "DOMAIN", help = "DNS search domain" },
  { long = "publish", short = "p", kind = "list", arg = "[IP:]HOST:CTR[/udp]", help = "Publish a container port" },
  { long = "publish-all", short = "P", kind = "bool", help = "Publish the image's exposed ports" },
  { long = "privileged", kind = "bool", help = "All capabilities and devices, no masks, no seccomp" },
  { long = "cap-add", kind = "list", arg = "CAP", help = "Add a capability (NET_ADMIN, CAP_SYS_TIME, ALL)" },
  { long = "cap-drop", kind = "list", arg = "CAP", help = "Drop a capability (or ALL)" },
  { long = "security-opt", kind = "list", arg = "OPT", help = "seccomp=unconfined|PROFILE.json, no-new-privileges" },
  { long = "read-only", kind = "bool", help = "Mount the root filesystem read-only" },
  { long = "device", kind = "list", arg = "HOST[:CTR][:rwm]", help = "Add a host device" },
  { long = "platform", kind = "string", help = "Platform when the image must be pulled" },
  { long = "pull", kind = "string", arg = "missing|always|never", default = "missing", help = "When to pull the image" },
  { long = "restart", kind = "string", arg = "POLICY", help = "no, on-failure[:N], always or unless-stopped" },
  { long = "label", short = "l", kind = "list", arg = "K=V", help = "Set a label" },
  { long = "label-file", kind = "list", arg = "FILE", help = "Read labels from a file (K=V lines)" },
  { long = "log-driver", kind = "string", arg = "DRIVER", help = "json-file (default), local, k8s-file or none (no log)" },
  { long = "log-opt", kind = "list", arg = "K=V", help = "Log option: max-size=10m, max-file=3, labels=…, env=…" },
  { long = "health-cmd", kind = "string", arg = "CMD", help = "Command that checks the container's health (run as exec)" },
  { long = "health-interval", kind = "string", arg = "DURATION", help = "Time between checks (default 30s)" },
  { long = "health-timeout", kind = "string", arg = "DURATION", help = "Time a check may take (default 30s)" },
  { long = "health-retries", kind = "int", help = "Failures in a row that make it unhealthy (default 3)" },
  { long = "health-start-period", kind = "string", arg = "DURATION", help = "Time to start, when failures do not count (default 0s)" },
  { long = "no-healthcheck", kind = "bool", help = "Disable any health check, also the image's" },
  { long = "init", kind = "bool", help = "Run an init as pid 1 that reaps zombies and forwards signals" },
  { long = "stop-signal", kind = "string", arg = "SIGNAL", help = "Signal that stops the container (default the image's, else SIGTERM)" },
  { long = "stop-timeout", kind = "int", arg = "SECONDS", help = "Seconds stop waits before SIGKILL (default 10)" },
}

local function read_env_file(path, env)
  local f, err = io.open(path)
  if not f then return nil, err end
  for line in f:lines() do
    line = line:gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" and line:sub(1, 1) ~= "#" then env[#env + 1] = line end
  end
  f:close()
  return true
end

-- "-e K" takes K from the environment of bocker itself, as docker does.
local function expand_env(list)
  local out = {}
  for _, e in ipairs(list) do
    if e:find("=", 1, true) then out[#out + 1] = e
    else
      local v = os.getenv(e)
      if v then out[#out + 1] = e .. "=" .. v end
    end
  end
  return out
end

-- KEY=VALUE lines of --label-file, then --label (a bare KEY: empty value).
local function read_labels(o)
  local labels, n = {}, 0
  local function add(kv)
    local k, v = kv:match("^([^=]*)=(.*)$")
    if not k then k, v = kv, "" end
    if k == "" then return nil, string.format("invalid label '%s': empty key", kv) end
    labels[k] = v
    n = n + 1
    return true
  end
  for _, path in ipairs(o.label_file) do
    local f, err = io.open(path)
    if not f then return nil, "open label file: " .. err end
    for line in f:lines() do
      line = line:gsub("^%s+", ""):gsub("%s+$", "")
      if line ~= "" and line:sub(1, 1) ~= "#" then
        local ok, lerr = add(line)
        if not ok then f:close() return nil, lerr end
      end
    end
    f:close()
  end
  for _, kv in ipairs(o.label) do
    local ok, err = add(kv)
    if not ok then return nil, err end
  end
  return n > 0 and labels or nil
end

-- --health-* flags as the spec's healthcheck table (nil: the image's).
local function read_healthcheck(o)
  local hc, any = {}, false
  if o.health_cmd then hc.test = { "CMD-SHELL", o.health_cmd }; any = true end
  for _, k in ipairs { "interval", "timeout", "start_period" } do
    local v = o["health_" .. k]
    if v then
      local secs, err = units.duration(v)
      if not secs then return nil, "--health-" .. k:gsub("_", "-") .. ": " .. err end
      hc[k] = secs
      any = true
    end
  end
  if o.health_retries then hc.retries = o.health_retries; any = true end
  return any and hc or false
end

local M = {
  summary = "Run a command in a new container",
  usage = "bocker run [FLAGS] IMAGE [COMMAND [ARG...]]",
  flags = spec,
}

-- Parses run's flags and creates the container (pulling the image first if
-- needed). Returns the container and the flags, or nil and an exit status.
-- Shared with `bocker create`. `ahead(o)`, if given, is called once the
-- flags parse, before the work of the create: what it returns comes back
-- third (`run` starts the container's monitor there, so that its exec runs
-- beside the create).
function M.create(verb, args, ahead)
  local o, pos = cli.parse(verb, args, spec, { interspersed = false })
  if not o then return nil, pos or 125 end
  if #pos < 1 then
    return nil, cli.usage_error(verb, (M.usage:gsub("^bocker run", "bocker " .. verb)), '"' .. verb .. '" requires at least 1 argument')
  end
  local early = ahead and ahead(o)
  local image = table.remove(pos, 1)
  if o.detach and #o.attach > 0 then
    return nil, cli.fail(125, verb, "Conflicting options: -a and -d")
  end
  local env = {}
  for _, f in ipairs(o.env_file) do
    local ok, err = read_env_file(f, env)
    if not ok then return nil, cli.fail(125, verb, "open env file: %s", err) end
  end
  for _, e in ipairs(o.env) do env[#env + 1] = e end
  local memory
  if o.memory then
    local err
    memory, err = units.bytes(o.memory)
    if not memory then return nil, cli.fail(125, verb, "invalid argument for -m/--memory: %s", err) end
  end
  local mounts, err = (require "bocker.mounts").from_flags(o)
  if not mounts then return nil, cli.fail(125, verb, err) end
  local rf = require "bocker.runflags"
  local ulimits, uerr = rf.ulimits(o.ulimit)
  if not ulimits then return nil, cli.fail(125, verb, uerr) end
  local sysctls, serr = rf.sysctls(o.sysctl)
  if serr then return nil, cli.fail(125, verb, serr) end
  local sizes = {}
  for _, f in ipairs { { "memory_swap", "memory-swap", true }, { "memory_reservation", "memory-reservation" }, { "shm_size", "shm-size" } } do
    local n, e = rf.size(f[2], o[f[1]], f[3])
    if e then return nil, cli.fail(125, verb, e) end
    sizes[f[1]] = n
  end
  local cpus, cperr = rf.cpus(o.cpus)
  if cperr then return nil, cli.fail(125, verb, cperr) end
  if o.pull ~= "missing" and o.pull ~= "always" and o.pull ~= "never" then
    return nil, cli.fail(125, verb, 'invalid --pull "%s" (missing, always or never)', o.pull)
  end
  -- img_… names an image of this store: never something to pull
  local pullable = not image:match("^img_")
  if pullable and (o.pull == "always" or (o.pull == "missing" and not bocker.image.get(image))) then
    if o.pull == "missing" then io.stderr:write("Unable to find image '", image, "' locally\n") end
    local ok, perr = bocker.image.pull(image, { platform = o.platform, progress = (require "bocker.progress").new() })
    if not ok then return nil, cli.fail(125, verb, perr) end
  end
  local labels, lerr = read_labels(o)
  if lerr then return nil, cli.fail(125, verb, lerr) end
  local healthcheck, herr = read_healthcheck(o)
  if healthcheck == nil then return nil, cli.fail(125, verb, herr) end
  local log
  if o.log_driver or #o.log_opt > 0 then
    local logopts = require "bocker.logopts"
    local lopts, loerr = logopts.parse_opts(o.log_opt)
    if lopts then log, loerr = logopts.spec(o.log_driver, lopts) end
    if not log then return nil, cli.fail(125, verb, loerr) end
  end
  -- --network: a mode, or user networks (the first one gets --ip and the aliases)
  local nets = {}
  for _, n in ipairs(o.network) do nets[#nets + 1] = n end
  for _, n in ipairs(o.net) do nets[#nets + 1] = n end
  local network, networks = nets[1], nil
  if #o.network_alias > 0 or o.ip or #nets > 1 then
    if not network or network == "bridge" or network == "none" or network == "host" or network:match("^container:") then
      if #nets > 1 then return nil, cli.fail(125, verb, "conflicting options: cannot attach both user-defined and non-user-defined network-modes") end
      return nil, cli.fail(125, verb, "--network-alias and --ip need a user network (--network NAME)")
    end
    networks = {}
    for i, n in ipairs(nets) do
      networks[i] = { name = n }
    end
    networks[1].aliases = #o.network_alias > 0 and o.network_alias or nil
    networks[1].ip = o.ip
    network = nil
  end
  local c, cerr = bocker.container.create {
    image = image,
    cmd = #pos > 0 and pos or nil,
    entrypoint = o.entrypoint and { o.entrypoint } or nil,
    name = o.name,
    env = expand_env(env),
    workdir = o.workdir,
    hostname = o.hostname,
    user = o.user,
    tty = o.tty,
    interactive = o.interactive,
    -- attached stdin (Docker's StdinOnce): its end closes the container's
    stdin_once = (o.interactive and not o.detach) or nil,
    rm = o.rm,
    cpu_shares = o.cpu_shares,
    memory = memory,
    pids_limit = o.pids_limit,
    mounts = mounts,
    network = network,
    networks = networks,
    add_hosts = o.add_host,
    dns = o.dns,
    dns_search = o.dns_search,
    ports = o.publish,
    publish_all = o.publish_all or nil,
    privileged = o.privileged or nil,
    cap_add = o.cap_add,
    cap_drop = o.cap_drop,
    security_opt = o.security_opt,
    read_only = o.read_only or nil,
    devices = o.device,
    labels = labels,
    log = log,
    restart = o.restart,
    healthcheck = healthcheck or nil,
    no_healthcheck = o.no_healthcheck or nil,
    init = o.init or nil,
    stop_signal = o.stop_signal,
    stop_timeout = o.stop_timeout,
    ulimits = ulimits,
    sysctls = sysctls,
    shm_size = sizes.shm_size,
    cpus = cpus,
    cpuset_cpus = o.cpuset_cpus,
    memory_swap = sizes.memory_swap,
    memory_reservation = sizes.memory_reservation,
    group_add = o.group_add,
    ipc = o.ipc,
    pid = o.pid,
    uts = o.uts,
  }
  if not c then return nil, cli.fail(125, verb, cerr) end
  return c, o, early
end

-- -a STREAM... as a set; nil, err for an unknown stream
local function streams_of(list)
  local set = {}
  for _, s in ipairs(list) do
    local l = s:lower()
    if l ~= "stdin" and l ~= "stdout" and l ~= "stderr" then
      return nil, string.format('invalid argument "%s" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR', s)
    end
    set[l] = true
  end
  return set
end

-- Starts a created container attached through its monitor's socket (what
-- -a, --detach-keys and --sig-proxy=false need); its exit status.
function M.start_attached(verb, c, o)
  local streams, err = streams_of(o.attach or {})
  if not streams then return cli.fail(125, verb, err) end
  if not next(streams) then streams = { stdout = true, stderr = true, stdin = o.interactive } end
  local status, aerr, code = bocker.container.attach(c.id, nil, {
    stdin = (streams.stdin and o.interactive) or false,
    stdout = streams.stdout or false,
    stderr = streams.stderr or false,
    detach_keys = o.detach_keys,
    sig_proxy = o.sig_proxy,
    start = true,
  })
  if not status then return cli.fail(code or 125, verb, aerr) end
  return status
end

-- Whether the container is started through its monitor's attach socket.
local function attached(o)
  return not o.detach and (#o.attach > 0 or o.detach_keys or o.sig_proxy == false)
end

function M.run(args)
  local c, o, monitor = M.create("run", args, function(o)
    if not attached(o) then return bocker.container.monitor() end
  end)
  if not c then return o end
  if attached(o) then
    return M.start_attached("run", c, o)
  end
  local status, serr = bocker.container.start(c.id, { detach = o.detach, monitor = monitor })
  if not status then return cli.fail(125, "run", serr) end
  if o.detach then
    if serr then return cli.fail(status, "run", serr) end
    print(c.id)
  end
  return status
end

return M
