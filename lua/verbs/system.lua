-- bocker system service [--socket PATH]: the Docker Engine API
local cli = require "bocker.cli"
local usage = "bocker system service [--socket PATH]"

local sub = {}

function sub.service(args)
  local spec = { { long = "socket", kind = "string", arg = "PATH", help = "Unix socket to serve on (mode 0600)" } }
  local o, pos = cli.parse("system service", args, spec)
  if not o then return pos or 125 end
  if #pos > 0 then return cli.usage_error("system service", usage, '"system service" accepts no arguments') end
  local ok, err = bocker.serve_api(o.socket)
  if not ok then return cli.fail(1, "system service", err) end
  return 0
end

return {
  summary = "Serve the Docker Engine API on a unix socket (service)",
  usage = usage,
  flags = {},
  run = function(args)
    local f = args[1] and sub[args[1]]
    if not f then
      io.stderr:write("bocker system: ", args[1] and ("unknown command '" .. args[1] .. "'") or "a command is needed",
        "\nUsage: ", usage, "\n")
      return 125
    end
    return f({ table.unpack(args, 2) })
  end,
}
