-- bocker start [-a] CONTAINER...: run created or exited containers again
-- (same root filesystem, same record); -a waits with the output attached.
local cli = require "bocker.cli"
local spec = {
  { long = "attach", short = "a", kind = "bool", help = "Attach: show the output and return its exit status" },
  { long = "interactive", short = "i", kind = "bool", help = "Attach stdin (a container created with -i)" },
  { long = "detach-keys", kind = "string", arg = "KEYS", help = "Keys that detach from the container (default ctrl-p,ctrl-q)" },
  { long = "restartable", kind = "bool", help = "Start every container whose restart policy brings it back after a reboot" },
}

-- After a host's boot (scripts/bocker-restart.service): `always`
-- containers, and `unless-stopped` ones the user did not stop, that are
-- neither running nor waiting to restart (their monitor is gone).
local function start_restartable()
  local status = 0
  for _, c in ipairs(bocker.container.list()) do
    local policy = c.restart or "no"
    local wanted = policy == "always" or (policy == "unless-stopped" and not c.user_stopped)
    if wanted and not c.running and c.state.status ~= "restarting" then
      local st, serr = bocker.container.start(c.id, { detach = true })
      if not st or serr then status = cli.fail(1, "start", "%s: %s", c.name or c.id, serr or "start failed")
      else print(c.name or c.id) end
    end
  end
  return status
end
return {
  summary = "Start created or stopped containers",
  usage = "bocker start [-a [-i] [--detach-keys KEYS]] CONTAINER [CONTAINER...] | bocker start --restartable",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("start", args, spec)
    if not o then return pos or 125 end
    if o.restartable then
      if #pos > 0 then return cli.usage_error("start", "bocker start --restartable", "--restartable takes no container") end
      return start_restartable()
    end
    if #pos == 0 then return cli.usage_error("start", "bocker start [-a] CONTAINER...", '"start" requires at least 1 argument') end
    if o.attach and #pos > 1 then return cli.fail(125, "start", "you cannot attach to more than one container") end
    local status = 0
    for _, ref in ipairs(pos) do
      local c, err = bocker.container.get(ref)
      if not c then
        status = cli.fail(1, "start", err)
      elseif not c.running and o.attach and (o.interactive or o.detach_keys) then
        -- through the monitor's attach socket: stdin, detach keys
        return bocker.verbs.load("run").start_attached("start", c, {
          attach = {}, interactive = o.interactive and c.interactive, detach_keys = o.detach_keys, sig_proxy = true,
        })
      elseif not c.running then
        local st, serr = bocker.container.start(c.id, { detach = not o.attach })
        if not st then
          status = cli.fail(1, "start", serr)
        elseif o.attach then
          return st
        elseif serr then
          status = cli.fail(st, "start", serr)
        else
          print(ref)
        end
      else
        print(ref) -- already running: nothing to do, as docker
      end
    end
    return status
  end,
}
