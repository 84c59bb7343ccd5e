-- attach, resize and exec: the routes that hijack the connection
-- (res:hijack: 101 UPGRADED when the client asks, as Docker's CLI and
-- docker-py do; else a 200 stream that carries output only). The relay
-- itself is Rust (bocker.container.attach, exec_start): the monitor's
-- attach socket or the exec'd process on one side, the client on the other.
local api = require "bocker.api"

local function str(v) return type(v) == "string" and v ~= "" and v or nil end

local function decode_body(req)
  if req.body == nil or req.body == "" then return {} end
  local ok, v = pcall(bocker.json.decode, req.body)
  if not ok or type(v) ~= "table" then return nil, "invalid JSON body" end
  return v
end

local function string_list(v, what)
  if v == nil then return {} end
  if type(v) == "string" then return { v } end
  if type(v) ~= "table" then return nil, what .. " must be a list of strings" end
  local out = {}
  for i, s in ipairs(v) do
    if type(s) ~= "string" then return nil, what .. " must be a list of strings" end
    out[i] = s
  end
  return out
end

-- the log so far, to a hijacked connection (attach's logs=1)
local function replay_log(id, conn, stdout, stderr)
  local ok, err = bocker.container.logs(id, {
    stdout = stdout, stderr = stderr,
    write = function(stream, chunk) return conn:write(chunk, stream) end,
  })
  if not ok and err then io.stderr:write("bocker: api: attach ", id, ": logs: ", tostring(err), "\n") end
end

local function attach(req, res, p)
  local c = bocker.container.get(p.id)
  if not c then return res:error(404, "No such container: " .. p.id) end
  local q = req.query
  local stdin, stdout, stderr = api.flag(q.stdin), api.flag(q.stdout), api.flag(q.stderr)
  local stream, logs = api.flag(q.stream), api.flag(q.logs)
  if not stream and not logs then return res:error(400, "Bad parameters: stream or logs is needed") end
  if c.state.status == "paused" or c.paused then
    return res:error(409, "You cannot attach to a paused container, unpause it first")
  end
  local conn = res:hijack { tty = c.tty }
  if logs then replay_log(c.id, conn, stdout, stderr) end
  if not stream then return conn:close() end
  local outcome, err = bocker.container.attach(c.id, conn, {
    stdin = stdin, stdout = stdout, stderr = stderr, detach_keys = q.detachKeys,
  })
  if not outcome then
    io.stderr:write("bocker: api: attach ", c.id, ": ", tostring(err), "\n")
  end
end

local function resize_params(q)
  local h, w = math.tointeger(tonumber(q.h)), math.tointeger(tonumber(q.w))
  if not h or not w or h < 0 or w < 0 or h > 65535 or w > 65535 then return nil end
  return h, w
end

local function exec_create(req, res, p)
  local body, berr = decode_body(req)
  if not body then return res:error(400, berr) end
  if body.Privileged == true then
    return res:error(400, "bocker cannot run a privileged exec: it runs with the container's own capabilities")
  end
  local args, aerr = string_list(body.Cmd, "Cmd")
  if not args then return res:error(400, aerr) end
  local env, eerr = string_list(body.Env, "Env")
  if not env then return res:error(400, eerr) end
  local rec, err, status = bocker.container.exec_create(p.id, {
    args = args, env = env,
    workdir = str(body.WorkingDir), user = str(body.User),
    tty = body.Tty == true,
    attach_stdin = body.AttachStdin == true,
    attach_stdout = body.AttachStdout == true,
    attach_stderr = body.AttachStderr == true,
    detach_keys = str(body.DetachKeys),
  })
  if not rec then return res:error(status or 500, err) end
  res:json({ Id = rec.id }, 201)
end

local function exec_start(req, res, p)
  local body, berr = decode_body(req)
  if not body then return res:error(400, berr) end
  local rec, err, status = bocker.container.exec_get(p.id)
  if not rec then return res:error(status or 404, err) end
  if rec.started then return res:error(409, "Exec command " .. rec.id .. " has already run") end
  local c = bocker.container.get(rec.container)
  if not c or not c.running then return res:error(409, "Container " .. rec.container .. " is not running") end
  if c.paused then return res:error(409, "Container " .. rec.container .. " is paused, unpause the container before exec") end
  if body.Detach == true then
    local out, serr, sstatus = bocker.container.exec_start(rec.id)
    if not out then return res:error(sstatus or 500, serr) end
    return res:send("", 200)
  end
  local conn = res:hijack { tty = rec.tty }
  local out, serr = bocker.container.exec_start(rec.id, { conn = conn })
  if not out then
    -- the head is sent: the error goes to the client as output
    conn:write("bocker: " .. tostring(serr) .. "\n", "stderr")
    conn:close()
  end
end

local function exec_json(_, res, p)
  local rec, err, status = bocker.container.exec_get(p.id)
  if not rec then return res:error(status or 404, err) end
  local args = {}
  for i = 2, #rec.args do args[#args + 1] = rec.args[i] end
  res:json {
    ID = rec.id,
    Running = rec.running,
    ExitCode = rec.exit_code or (rec.started and not rec.running and -1 or nil),
    ProcessConfig = {
      tty = rec.tty, entrypoint = rec.args[1], arguments = bocker.json.array(args),
      privileged = false, user = rec.user or "",
    },
    OpenStdin = rec.attach_stdin, OpenStderr = rec.attach_stderr, OpenStdout = rec.attach_stdout,
    CanRemove = false,
    ContainerID = rec.container,
    DetachKeys = rec.detach_keys or "",
    Pid = rec.pid or 0,
  }
end

return {
  { "POST", "/containers/{id}/attach", attach },
  { "POST", "/containers/{id}/resize", function(req, res, p)
    local h, w = resize_params(req.query)
    if not h then return res:error(400, "h and w must be numbers from 0 to 65535") end
    local ok, err, status = bocker.container.resize(p.id, h, w)
    if not ok then return res:error(status or 500, err) end
    res:send("", 200)
  end },
  { "POST", "/containers/{id}/exec", exec_create },
  { "POST", "/exec/{id}/start", exec_start },
  { "GET", "/exec/{id}/json", exec_json },
  { "POST", "/exec/{id}/resize", function(req, res, p)
    local h, w = resize_params(req.query)
    if not h then return res:error(400, "h and w must be numbers from 0 to 65535") end
    local ok, err, status = bocker.container.exec_resize(p.id, h, w)
    if not ok then return res:error(status or 500, err) end
    res:send("", 200)
  end },
}
