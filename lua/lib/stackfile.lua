-- Reading a stack file into the stack model (lua/lib/stack.lua acts on it).
--
-- A stack file is either Lua (bocker-stack.lua: returns a table, run in the
-- restricted Lua of build.lua, reading files of its own folder only) or a
-- compose.yaml in the Compose Specification (read by bocker.yaml.decode,
-- `${VAR}` interpolated from the environment and a `.env` beside it). Both
-- give the same compose-shaped table, and one normaliser turns it into the
-- model:
--
--   { name, dir, file,
--     services = { NAME = { name, image, build = {context, dockerfile, target, args},
--       command, entrypoint (lists or nil), environment = {"K=V"...}, ports = {"[IP:]H:C[/udp]"...},
--       mounts = {{type, source, target, readonly, options}...},
--       networks = { {name = KEY, aliases = {...}, ip = ?}... }, network_mode = ?,
--       depends_on = { NAME = "service_started"|"service_healthy"|"service_completed_successfully" },
--       healthcheck = {test, interval, timeout, retries, start_period} | nil, no_healthcheck,
--       restart, labels = {K = V}, user, working_dir, hostname, container_name, init,
--       stop_signal, stop_timeout, log = bocker.LogConfig | nil } },
--     networks = { KEY = { name, external, internal, subnet, gateway, labels } },
--     volumes = { KEY = { name, external, labels } } }
local M = {}

M.LUA_NAMES = { "bocker-stack.lua" }
M.COMPOSE_NAMES = { "compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml" }

local function exists(path)
  local f = io.open(path)
  if f then f:close() return true end
  return false
end

local function dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end

local function absolute(path, base)
  if path:sub(1, 1) == "/" then return path end
  local out = base
  for part in path:gmatch("[^/]+") do
    if part == ".." then out = dirname(out)
    elseif part ~= "." then out = out .. "/" .. part end
  end
  return out
end

-- The working directory, without asking the shell.
local function cwd()
  return bocker.cwd() or os.getenv("PWD") or "."
end
M.cwd = cwd

-- The stack file to use: -f FILE, else bocker-stack.lua, else a compose
-- file in `dir`.
function M.find(file, dir)
  dir = dir or cwd()
  if file then return absolute(file, dir) end
  for _, n in ipairs(M.LUA_NAMES) do
    if exists(dir .. "/" .. n) then return dir .. "/" .. n end
  end
  for _, n in ipairs(M.COMPOSE_NAMES) do
    if exists(dir .. "/" .. n) then return dir .. "/" .. n end
  end
  return nil, "no stack file: none of bocker-stack.lua, compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml in " .. dir
end

-- Compose's project names: lower case, [a-z0-9_-], starting with a letter or digit.
function M.normalize_project(name)
  local n = name:lower():gsub("[^a-z0-9_-]", ""):gsub("^[^a-z0-9]+", "")
  return n
end

---------------------------------------------------------------- interpolation

-- `.env` lines: K=V, `export K=V`, comments, quoted values.
function M.parse_env_lines(text, lookup)
  local out, order = {}, {}
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do
    line = line:gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" and line:sub(1, 1) ~= "#" then
      line = line:gsub("^export%s+", "")
      local k, v = line:match("^([^=%s]+)%s*=%s*(.*)$")
      if k then
        local q = v:sub(1, 1)
        if (q == '"' or q == "'") and v:sub(-1) == q and #v >= 2 then
          v = v:sub(2, -2)
          if q == '"' then v = v:gsub("\\n", "\n"):gsub('\\"', '"') end
        else
          v = v:gsub("%s+#.*$", "")
        end
        if out[k] == nil then order[#order + 1] = k end
        out[k] = v
      elseif lookup then
        -- a bare K: taken from the environment if set there
        local val = lookup(line)
        if val ~= nil then
          if out[line] == nil then order[#order + 1] = line end
          out[line] = val
        end
      end
    end
  end
  return out, order
end

-- Compose's interpolation of one string: $$, $VAR, ${VAR}, ${VAR:-d},
-- ${VAR-d}, ${VAR:?err}, ${VAR?err}, ${VAR:+x}, ${VAR+x}. `lookup(name)`
-- gives a value or nil. Returns the string or nil, err.
function M.interpolate(s, lookup)
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = s:sub(i, i)
    if c ~= "$" then
      local j = s:find("$", i, true) or (n + 1)
      out[#out + 1] = s:sub(i, j - 1)
      i = j
    elseif s:sub(i + 1, i + 1) == "$" then
      out[#out + 1] = "$"
      i = i + 2
    elseif s:sub(i + 1, i + 1) == "{" then
      -- find the matching brace (defaults may hold ${...} themselves)
      local depth, j = 1, i + 2
      while j <= n and depth > 0 do
        local d = s:sub(j, j)
        if d == "{" then depth = depth + 1 elseif d == "}" then depth = depth - 1 end
        j = j + 1
      end
      if depth > 0 then return nil, "invalid interpolation format: unclosed ${ in " .. s end
      local body = s:sub(i + 2, j - 2)
      local name, op, rest = body:match("^([%a_][%w_]*)(:?[-?+]?)(.*)$")
      if not name or (op == "" and rest ~= "") or op == ":" then
        return nil, "invalid interpolation format for " .. s .. ": ${" .. body .. "}"
      end
      local val = lookup(name)
      local set, nonempty = val ~= nil, val ~= nil and val ~= ""
      local sub, err = rest, nil
      if op:find("[-+?]") then
        sub, err = M.interpolate(rest, lookup)
        if not sub then return nil, err end
      end
      if op == "" then out[#out + 1] = val or ""
      elseif op == ":-" then out[#out + 1] = nonempty and val or sub
      elseif op == "-" then out[#out + 1] = set and val or sub
      elseif op == ":+" then out[#out + 1] = nonempty and sub or ""
      elseif op == "+" then out[#out + 1] = set and sub or ""
      elseif op == ":?" or op == "?" then
        if (op == ":?" and not nonempty) or (op == "?" and not set) then
          return nil, "required variable " .. name .. " is missing a value: " .. sub
        end
        out[#out + 1] = val
      end
      i = j
    else
      local name = s:match("^[%a_][%w_]*", i + 1)
      if name then
        out[#out + 1] = lookup(name) or ""
        i = i + 1 + #name
      else
        out[#out + 1] = "$"
        i = i + 1
      end
    end
  end
  return table.concat(out)
end

local function interpolate_tree(v, lookup, path)
  if type(v) == "string" then
    local s, err = M.interpolate(v, lookup)
    if not s then error(path .. ": " .. err, 0) end
    return s
  elseif type(v) == "table" then
    local mt = getmetatable(v)
    local out = setmetatable({}, type(mt) == "table" and mt or nil)
    for k, x in pairs(v) do out[k] = interpolate_tree(x, lookup, path .. "." .. tostring(k)) end
    return out
  end
  return v
end

------------------------------------------------------------------ small parsers

-- A command string split as compose does (shell words: quotes and
-- backslashes, no expansion).
function M.split_words(s)
  local words, cur, i, n, have = {}, {}, 1, #s, false
  while i <= n do
    local c = s:sub(i, i)
    if c == "'" then
      local j = s:find("'", i + 1, true)
      if not j then return nil, "unclosed quote in: " .. s end
      cur[#cur + 1] = s:sub(i + 1, j - 1); have = true
      i = j + 1
    elseif c == '"' then
      local j = i + 1
      while j <= n and s:sub(j, j) ~= '"' do
        if s:sub(j, j) == "\\" and j < n then
          local nx = s:sub(j + 1, j + 1)
          if nx == '"' or nx == "\\" or nx == "$" or nx == "`" then cur[#cur + 1] = nx else cur[#cur + 1] = "\\" .. nx end
          j = j + 2
        else
          cur[#cur + 1] = s:sub(j, j)
          j = j + 1
        end
      end
      if j > n then return nil, "unclosed quote in: " .. s end
      have = true
      i = j + 1
    elseif c == "\\" and i < n then
      cur[#cur + 1] = s:sub(i + 1, i + 1); have = true
      i = i + 2
    elseif c:match("%s") then
      if have then words[#words + 1] = table.concat(cur); cur, have = {}, false end
      i = i + 1
    else
      cur[#cur + 1] = c; have = true
      i = i + 1
    end
  end
  if have then words[#words + 1] = table.concat(cur) end
  return words
end

-- Compose durations: 10s, 1m30s, 500ms, 1h, 2us; a number is seconds.
function M.duration(v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil, "not a duration: " .. tostring(v) end
  local total, rest = 0, v
  if rest == "" then return nil, "empty duration" end
  local units = { h = 3600, m = 60, s = 1, ms = 0.001, us = 0.000001, ["µs"] = 0.000001, ns = 0.000000001 }
  while rest ~= "" do
    local num, unit, after = rest:match("^(%d+%.?%d*)(%a+)(.*)$")
    if not num or not units[unit] then return nil, "invalid duration: " .. v end
    total = total + tonumber(num) * units[unit]
    rest = after
  end
  return total
end

local NULL = bocker.yaml and bocker.yaml.null

local function is_null(v) return v == nil or (NULL ~= nil and v == NULL) end

local function scalar(v)
  if is_null(v) then return nil end
  if type(v) == "number" then
    if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then return tostring(math.tointeger(v)) end
    return tostring(v)
  end
  if type(v) == "boolean" then return tostring(v) end
  return v
end

local function is_list(t)
  return type(t) == "table" and (#t > 0 or next(t) == nil)
end

----------------------------------------------------------------- normalising

local SERVICE_KEYS = {
  image = true, build = true, command = true, entrypoint = true, environment = true, env_file = true,
  ports = true, volumes = true, networks = true, network_mode = true, depends_on = true, healthcheck = true,
  restart = true, labels = true, user = true, working_dir = true, hostname = true, container_name = true,
  init = true, stop_signal = true, stop_grace_period = true, expose = true, logging = true,
}

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

local function string_list(v, what)
  if is_null(v) then return nil end
  if type(v) == "string" then return { v } end
  if type(v) ~= "table" then fail("%s: a string or a list of strings expected", what) end
  local out = {}
  for i, x in ipairs(v) do
    local s = scalar(x)
    if type(s) ~= "string" then fail("%s[%d]: a string expected", what, i) end
    out[#out + 1] = s
  end
  return out
end

-- A map or a list of K=V as {K = V} (list order kept in `order`).
local function kv_map(v, what, lookup)
  local out, order = {}, {}
  if is_null(v) then return out, order end
  if type(v) ~= "table" then fail("%s: a map or a list expected", what) end
  if is_list(v) then
    for _, e in ipairs(v) do
      local s = scalar(e)
      if type(s) ~= "string" then fail("%s: a list of K=V strings expected", what) end
      local k, val = s:match("^([^=]+)=(.*)$")
      if not k then k = s; val = lookup and lookup(s) or nil end
      if val ~= nil or not lookup then
        if out[k] == nil then order[#order + 1] = k end
        out[k] = val or ""
      end
    end
  else
    for k, val in pairs(v) do
      local s = scalar(val)
      if is_null(val) and lookup then s = lookup(k) end
      if type(s) == "table" then fail("%s.%s: a scalar expected", what, k) end
      if s ~= nil or not lookup then
        order[#order + 1] = k
        out[k] = s or ""
      end
    end
    table.sort(order)
  end
  return out, order
end

local function read_file_text(reader, path)
  local text, err = reader(path)
  if not text then return nil, err end
  return text
end

local function env_list(svc, name, ctx)
  local env, order = {}, {}
  local function put(k, v)
    if env[k] == nil then order[#order + 1] = k end
    env[k] = v
  end
  local files = svc.env_file
  if not is_null(files) then
    if type(files) ~= "table" then files = { files } end
    for _, f in ipairs(files) do
      local path, required = f, true
      if type(f) == "table" then path = f.path; required = f.required ~= false end
      local text, err = read_file_text(ctx.read, path)
      if not text then
        if required then fail("service %q: env_file %s: %s", name, tostring(path), tostring(err)) end
      else
        local vals, ord = M.parse_env_lines(text, ctx.lookup)
        for _, k in ipairs(ord) do put(k, vals[k]) end
      end
    end
  end
  local vals, ord = kv_map(svc.environment, "service " .. name .. ": environment", ctx.lookup)
  for _, k in ipairs(ord) do put(k, vals[k]) end
  local out = {}
  for _, k in ipairs(order) do out[#out + 1] = k .. "=" .. env[k] end
  return out
end

local function ports_list(v, name)
  local out = {}
  if is_null(v) then return out end
  for i, p in ipairs(v) do
    if type(p) == "table" then
      if is_null(p.target) then fail("service %q: ports[%d]: target is required", name, i) end
      local s = scalar(p.target)
      if not is_null(p.published) then s = scalar(p.published) .. ":" .. s end
      if not is_null(p.host_ip) then s = p.host_ip .. ":" .. s end
      if not is_null(p.protocol) and p.protocol ~= "tcp" then s = s .. "/" .. p.protocol end
      out[#out + 1] = s
    else
      out[#out + 1] = scalar(p)
    end
  end
  return out
end

local function mounts_list(v, name, ctx, volumes)
  local out = {}
  if is_null(v) then return out end
  local function source_of(kind, src)
    if kind == "bind" then return absolute(src:gsub("^~", os.getenv("HOME") or "~"), ctx.dir) end
    if kind == "volume" and src ~= "" then
      local vol = volumes[src]
      if not vol then fail("service %q refers to undefined volume %s", name, src) end
      return vol.name
    end
    return src
  end
  for i, m in ipairs(v) do
    if type(m) == "string" then
      local parts = {}
      for part in (m .. ":"):gmatch("(.-):") do parts[#parts + 1] = part end
      if #parts == 1 then
        out[#out + 1] = { type = "volume", source = "", target = parts[1], readonly = false }
      else
        local src, dst, mode = parts[1], parts[2], parts[3] or "rw"
        if #parts > 3 or dst == "" then fail("service %q: invalid volume %s", name, m) end
        local kind = (src:match("^[./~]") or src:find("/", 1, true)) and "bind" or "volume"
        out[#out + 1] = { type = kind, source = source_of(kind, src), target = dst, readonly = mode:find("ro") ~= nil }
      end
    elseif type(m) == "table" then
      local kind = m.type or "volume"
      if kind ~= "bind" and kind ~= "volume" and kind ~= "tmpfs" then
        fail("service %q: volumes[%d]: unsupported type %s", name, i, tostring(kind))
      end
      if is_null(m.target) then fail("service %q: volumes[%d]: target is required", name, i) end
      local mnt = { type = kind, source = source_of(kind, scalar(m.source) or ""), target = m.target, readonly = m.read_only == true }
      if kind == "tmpfs" and type(m.tmpfs) == "table" and m.tmpfs.size then mnt.options = "size=" .. scalar(m.tmpfs.size) end
      out[#out + 1] = mnt
    else
      fail("service %q: volumes[%d]: a string or a map expected", name, i)
    end
  end
  return out
end

local function networks_of(v, name, networks)
  local out = {}
  if is_null(v) then
    out[1] = { name = "default", aliases = {} }
    networks.default = networks.default or { key = "default" }
    return out
  end
  local keys, entries = {}, {}
  if is_list(v) then
    for _, k in ipairs(v) do keys[#keys + 1] = k; entries[k] = {} end
  else
    for k, e in pairs(v) do keys[#keys + 1] = k; entries[k] = is_null(e) and {} or e end
    table.sort(keys)
  end
  for _, k in ipairs(keys) do
    if not networks[k] then
      if k == "default" then networks.default = { key = "default" }
      else fail("service %q refers to undefined network %s", name, k) end
    end
    local e = entries[k]
    for key in pairs(e) do
      if key ~= "aliases" and key ~= "ipv4_address" then fail("service %q: network %s: unknown key %q", name, k, key) end
    end
    out[#out + 1] = { name = k, aliases = string_list(e.aliases, "aliases") or {}, ip = e.ipv4_address }
  end
  return out
end

local function healthcheck_of(h, name)
  if is_null(h) then return nil end
  for k in pairs(h) do
    if not ({ test = 1, interval = 1, timeout = 1, retries = 1, start_period = 1, start_interval = 1, disable = 1 })[k] then
      fail("service %q: healthcheck: unknown key %q", name, k)
    end
  end
  if h.disable == true then return nil, true end
  local out = {}
  if type(h.test) == "string" then out.test = { "CMD-SHELL", h.test }
  elseif type(h.test) == "table" then
    out.test = string_list(h.test, "service " .. name .. ": healthcheck.test")
    if out.test[1] == "NONE" then return nil, true end
  end
  for _, k in ipairs({ "interval", "timeout", "start_period" }) do
    if not is_null(h[k]) then
      local d, err = M.duration(h[k])
      if not d then fail("service %q: healthcheck.%s: %s", name, k, err) end
      out[k] = d
    end
  end
  if not is_null(h.retries) then out.retries = math.tointeger(tonumber(h.retries)) end
  return out
end

local function depends_of(v, name)
  local out = {}
  if is_null(v) then return out end
  if is_list(v) then
    for _, d in ipairs(v) do out[d] = "service_started" end
  else
    for d, e in pairs(v) do
      local cond = (type(e) == "table" and e.condition) or "service_started"
      if cond ~= "service_started" and cond ~= "service_healthy" and cond ~= "service_completed_successfully" then
        fail("service %q: depends_on %s: unknown condition %s", name, d, tostring(cond))
      end
      out[d] = cond
    end
  end
  return out
end

local function build_of(b, name, ctx)
  if is_null(b) then return nil end
  if type(b) == "string" then return { context = absolute(b, ctx.dir), args = {} } end
  for k in pairs(b) do
    if k ~= "context" and k ~= "dockerfile" and k ~= "target" and k ~= "args" then
      fail("service %q: build: unknown key %q", name, k)
    end
  end
  local args = kv_map(b.args, "service " .. name .. ": build.args")
  return { context = absolute(b.context or ".", ctx.dir), dockerfile = b.dockerfile, target = b.target, args = args }
end

local function command_of(v, what)
  if is_null(v) then return nil end
  if type(v) == "string" then
    local words, err = M.split_words(v)
    if not words then fail("%s: %s", what, err) end
    return words
  end
  return string_list(v, what)
end

-- logging: { driver, options = { max-size = "10m", ... } } -> the spec's `log`
local function logging_of(v, name)
  if is_null(v) then return nil end
  if type(v) ~= "table" then fail("service %q: logging: a table expected", name) end
  for k in pairs(v) do
    if k ~= "driver" and k ~= "options" then fail("service %q: logging: unknown key %q", name, tostring(k)) end
  end
  local opts = {}
  if not is_null(v.options) then
    if type(v.options) ~= "table" then fail("service %q: logging.options: a map expected", name) end
    for k, x in pairs(v.options) do opts[k] = scalar(x) end
  end
  local log, err = require("bocker.logopts").spec(scalar(v.driver), opts)
  if not log then fail("service %q: logging: %s", name, err) end
  return log
end

local function service(name, svc, ctx, model)
  if type(svc) ~= "table" then fail("service %q: a table expected", name) end
  for k in pairs(svc) do
    if not SERVICE_KEYS[k] and not (type(k) == "string" and k:match("^x%-")) then
      fail("service %q: unknown key %q", name, tostring(k))
    end
  end
  if is_null(svc.image) and is_null(svc.build) then fail("service %q has neither an image nor a build context", name) end
  local hc, nohc = healthcheck_of(svc.healthcheck, name)
  local stop_timeout
  if not is_null(svc.stop_grace_period) then
    local d, err = M.duration(svc.stop_grace_period)
    if not d then fail("service %q: stop_grace_period: %s", name, err) end
    stop_timeout = math.ceil(d)
  end
  local labels = kv_map(svc.labels, "service " .. name .. ": labels")
  return {
    name = name,
    image = scalar(svc.image),
    build = build_of(svc.build, name, ctx),
    command = command_of(svc.command, "service " .. name .. ": command"),
    entrypoint = command_of(svc.entrypoint, "service " .. name .. ": entrypoint"),
    environment = env_list(svc, name, ctx),
    ports = ports_list(svc.ports, name),
    mounts = mounts_list(svc.volumes, name, ctx, model.volumes),
    network_mode = scalar(svc.network_mode),
    networks = (is_null(svc.network_mode) and networks_of(svc.networks, name, model.networks)) or {},
    depends_on = depends_of(svc.depends_on, name),
    healthcheck = hc,
    no_healthcheck = nohc or nil,
    restart = scalar(svc.restart),
    labels = labels,
    user = scalar(svc.user),
    working_dir = scalar(svc.working_dir),
    hostname = scalar(svc.hostname),
    container_name = scalar(svc.container_name),
    init = svc.init == true or nil,
    stop_signal = scalar(svc.stop_signal),
    stop_timeout = stop_timeout,
    log = logging_of(svc.logging, name),
  }
end

local TOP_KEYS = { name = true, services = true, networks = true, volumes = true, version = true }

-- The compose-shaped table `t` (from YAML or Lua) as the model.
-- ctx = { dir, project (from -p or nil), read = function(path) -> text | nil, err, lookup = function(name) }
function M.normalize(t, ctx)
  if type(t) ~= "table" then fail("a stack file must give a table, not %s", type(t)) end
  for k in pairs(t) do
    if not TOP_KEYS[k] and not (type(k) == "string" and k:match("^x%-")) then fail("unknown top-level key %q", tostring(k)) end
  end
  local dirbase = ctx.dir:match("([^/]+)/*$") or "default"
  local project = M.normalize_project(ctx.project or scalar(t.name) or dirbase)
  if project == "" then fail("project name %q is empty once normalised (use -p NAME)", ctx.project or t.name or dirbase) end
  local model = { name = project, dir = ctx.dir, file = ctx.file, services = {}, networks = {}, volumes = {} }
  for key, n in pairs(is_null(t.networks) and {} or t.networks) do
    n = is_null(n) and {} or n
    for k in pairs(n) do
      if not ({ driver = 1, internal = 1, ipam = 1, labels = 1, external = 1, name = 1 })[k] then
        fail("network %s: unknown key %q", key, k)
      end
    end
    if n.driver and n.driver ~= "bridge" then fail("network %s: driver %s is not supported (bridge only)", key, n.driver) end
    local subnet, gateway
    if type(n.ipam) == "table" and type(n.ipam.config) == "table" and n.ipam.config[1] then
      subnet, gateway = n.ipam.config[1].subnet, n.ipam.config[1].gateway
    end
    local external = n.external == true or (type(n.external) == "table")
    model.networks[key] = {
      key = key,
      name = n.name or (external and key) or (project .. "_" .. key),
      external = external, internal = n.internal == true, subnet = subnet, gateway = gateway,
      labels = kv_map(n.labels, "network " .. key .. ": labels"),
    }
  end
  for key, v in pairs(is_null(t.volumes) and {} or t.volumes) do
    v = is_null(v) and {} or v
    for k in pairs(v) do
      if not ({ labels = 1, external = 1, name = 1, driver = 1 })[k] then fail("volume %s: unknown key %q", key, k) end
    end
    if v.driver and v.driver ~= "local" then fail("volume %s: driver %s is not supported (local only)", key, v.driver) end
    local external = v.external == true
    model.volumes[key] = {
      key = key, name = v.name or (external and key) or (project .. "_" .. key), external = external,
      labels = kv_map(v.labels, "volume " .. key .. ": labels"),
    }
  end
  if type(t.services) ~= "table" or next(t.services) == nil then fail("no services in the stack file") end
  for name, svc in pairs(t.services) do
    model.services[name] = service(name, svc, ctx, model)
  end
  for key, n in pairs(model.networks) do
    if not n.name then n.name = project .. "_" .. key; n.labels = n.labels or {} end
  end
  for name, svc in pairs(model.services) do
    for d in pairs(svc.depends_on) do
      if not model.services[d] then fail("service %q depends on undefined service %q", name, d) end
    end
  end
  return model
end

------------------------------------------------------------------ loading

-- Reads a file of the stack's folder (relative paths are relative to it).
local function reader_in(dir)
  return function(path)
    local f, err = io.open(absolute(path, dir))
    if not f then return nil, err end
    local s = f:read("a")
    f:close()
    return s
  end
end

local function env_lookup(dotenv)
  return function(name)
    local v = os.getenv(name)
    if v ~= nil then return v end
    return dotenv[name]
  end
end

-- Runs a Lua stack file in the restricted Lua of build.lua.
local function run_lua(file, dir)
  local sandbox = require "bocker.sandbox"
  local context = assert(bocker.build.context_root(dir))
  local env = sandbox.env(context, {})
  env.bocker = { json = bocker.json, sha256 = bocker.sha256, version = bocker.version }
  env.build = nil
  local src, err = bocker.build.read_context(context, file:sub(#dir + 2))
  if not src then fail("%s: %s", file, err) end
  local chunk, lerr = load(src:gsub("^#[^\n]*", ""), "@" .. file, "t", env)
  if not chunk then fail("%s", lerr) end
  local ok, t = pcall(chunk)
  if not ok then fail("%s", tostring(t)) end
  return t
end

-- Loads `file` (found with M.find) into the model. opts.project: -p.
function M.load(file, opts)
  opts = opts or {}
  local dir = dirname(file)
  local read = reader_in(dir)
  local dotenv = {}
  local envtext = read(".env")
  if envtext then dotenv = M.parse_env_lines(envtext) end
  local lookup = env_lookup(dotenv)
  local ok, res = pcall(function()
    local t
    if file:match("%.lua$") then
      t = run_lua(file, dir)
    else
      local text, err = read(file)
      if not text then fail("%s", err) end
      local doc, yerr = bocker.yaml.decode(text)
      if doc == nil then fail("%s: %s", file, yerr) end
      t = interpolate_tree(doc, lookup, "")
    end
    return M.normalize(t, { dir = dir, file = file, project = opts.project, read = read, lookup = lookup })
  end)
  if not ok then return nil, tostring(res) end
  return res
end

return M
