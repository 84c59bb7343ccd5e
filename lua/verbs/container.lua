-- bocker container COMMAND: Docker's `container X` forms (ls, ps, inspect,
-- rm, start, stop, ...), each the verb of the same name; `container prune`
-- removes only stopped containers.
local cli = require "bocker.cli"
local usage = "bocker container ls|ps|list|inspect|create|run|start|stop|restart|kill|rm|pause|unpause|wait|logs|exec|attach|top|stats|port|rename|diff|update|cp|export|commit|prune [ARGS...]"

local aliases = { ls = "ps", list = "ps", remove = "rm" }
local verbs = {
  ps = true, inspect = true, create = true, run = true, start = true, stop = true, restart = true, kill = true, rm = true,
  pause = true, unpause = true, wait = true, logs = true, exec = true, attach = true, top = true, stats = true, port = true,
  rename = true, diff = true, update = true, cp = true, export = true, commit = true,
}

-- container prune [-f] [--filter label=K=V]: stopped containers only
local function prune(args)
  local spec = {
    { long = "force", short = "f", kind = "bool", help = "Do not prompt for confirmation" },
    { long = "filter", kind = "list", arg = "FILTER", help = "label=KEY[=VALUE]" },
  }
  local o, pos = cli.parse("container prune", args, spec)
  if not o then return pos or 125 end
  if #pos > 0 then return cli.usage_error("container prune", "bocker container prune [-f] [--filter label=K=V]", '"container prune" accepts no arguments') end
  local filters = require "bocker.filters"
  local f, ferr, fstatus = filters.parse(o.filter, { label = true })
  if not f then return cli.fail(fstatus, "container prune", ferr) end
  local deleted, space, status = {}, 0, 0
  for _, c in ipairs(bocker.container.list()) do
    if not c.running and c.state.status ~= "restarting" and filters.match(c, f) then
      local sz = bocker.container.size(c.id)
      local id, err = bocker.container.remove(c.id, {})
      if id then deleted[#deleted + 1] = id; space = space + ((sz and sz.rw) or 0)
      else status = cli.fail(1, "container prune", err) end
    end
  end
  if #deleted > 0 then print("Deleted Containers:\n" .. table.concat(deleted, "\n") .. "\n") end
  print("Total reclaimed space: " .. (require "bocker.fmt").size(space))
  return status
end

return {
  summary = "Manage containers (container ls, inspect, rm, prune, ...)",
  usage = usage,
  flags = {},
  run = function(args)
    local sub = args[1]
    sub = aliases[sub] or sub
    local rest = { table.unpack(args, 2) }
    if sub == "prune" then return prune(rest) end
    if not sub or not verbs[sub] then
      io.stderr:write("bocker container: ", sub and ("unknown command '" .. sub .. "'") or "a command is needed", "\nUsage: ", usage, "\n")
      return 125
    end
    local v, err = bocker.verbs.load(sub)
    if not v then return cli.fail(125, "container", err or ("no verb " .. sub)) end
    return v.run(rest)
  end,
}
