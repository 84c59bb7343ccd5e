-- bocker network ls | prune: the bridge network (BOCKER_BRIDGE, BOCKER_SUBNET)
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local usage = "bocker network ls | inspect | prune"

local sub = {}

function sub.ls()
  local cfg, err = bocker.network.config()
  if not cfg then return cli.fail(1, "network", err) end
  fmt.table({ "NAME", "DRIVER", "SUBNET", "GATEWAY", "EGRESS" },
    { { cfg.bridge, "bridge", cfg.subnet, cfg.gateway, tostring(cfg.egress) } })
  return 0
end

function sub.inspect()
  local cfg, err = bocker.network.config()
  if not cfg then return cli.fail(1, "network", err) end
  cfg.containers = bocker.network.containers()
  print(bocker.json.encode(cfg))
  return 0
end

function sub.prune()
  local name, err = bocker.network.remove()
  if not name then return cli.fail(1, "network", err) end
  print("Deleted: " .. name)
  return 0
end
sub.rm = sub.prune

return {
  summary = "Show or remove the bridge network (ls, inspect, prune)",
  usage = usage,
  flags = {},
  run = function(args)
    local f = args[1] and sub[args[1]]
    if not f then
      io.stderr:write("bocker network: ", args[1] and ("unknown command '" .. args[1] .. "'") or "a command is needed",
        "\nUsage: ", usage, "\n")
      return 125
    end
    return f()
  end,
}
