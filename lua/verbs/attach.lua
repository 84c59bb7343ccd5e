-- bocker attach [--no-stdin] [--detach-keys KEYS] [--sig-proxy=false] CONTAINER:
-- the output of a running container (also a detached one), and its stdin
-- when it was created with -i; the detach keys leave it running.
local cli = require "bocker.cli"
local spec = {
  { long = "no-stdin", kind = "bool", help = "Do not attach stdin" },
  { long = "detach-keys", kind = "string", arg = "KEYS", help = "Keys that detach (default ctrl-p,ctrl-q)" },
  { long = "sig-proxy", kind = "bool", default = true, help = "Forward received signals to the container (without a terminal)" },
}
local usage = "bocker attach [--no-stdin] [--detach-keys KEYS] [--sig-proxy=false] CONTAINER"
return {
  summary = "Attach to a running container's output and input",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("attach", args, spec)
    if not o then return pos or 125 end
    if #pos ~= 1 then return cli.usage_error("attach", usage, '"attach" requires exactly 1 argument') end
    local c, err = bocker.container.get(pos[1])
    if not c then return cli.fail(1, "attach", err) end
    if not c.running then return cli.fail(1, "attach", "You cannot attach to a stopped container, start it first") end
    if c.paused then return cli.fail(1, "attach", "You cannot attach to a paused container, unpause it first") end
    local status, aerr = bocker.container.attach(c.id, nil, {
      stdin = c.interactive and not o.no_stdin,
      detach_keys = o.detach_keys,
      wait = false,
      sig_proxy = o.sig_proxy,
    })
    if not status then return cli.fail(1, "attach", aerr) end
    return status
  end,
}
