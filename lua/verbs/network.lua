-- bocker network ls | inspect | rm NAME | prune: the bridge network
-- (BOCKER_BRIDGE, BOCKER_SUBNET)
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local usage = "bocker network ls | inspect | rm NAME | prune"

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

-- Removes the network it names, and only that one.
function sub.rm(names)
  if #names == 0 then return cli.usage_error("network", usage, '"network rm" requires at least 1 argument') end
  local cfg, err = bocker.network.config()
  if not cfg then return cli.fail(1, "network", err) end
  local status = 0
  for _, n in ipairs(names) do
    if n ~= cfg.bridge then
      status = cli.fail(1, "network rm", "No such network: %s", n)
    else
      local name, rerr = bocker.network.remove()
      if name then print(name) else status = cli.fail(1, "network rm", rerr) end
    end
  end
  return status
end

return {
  summary = "Show or remove the bridge network (ls, inspect, rm, prune)",
  usage = usage,
  flags = {},
  run = function(args)
    local f = args[1] and sub[args[1]]
    if not f then
      io.stderr:write("bocker network: ", args[1] and ("unknown command '" .. args[1] .. "'") or "a command is needed",
        "\nUsage: ", usage, "\n")
      return 125
    end
    return f({ table.unpack(args, 2) })
  end,
}
