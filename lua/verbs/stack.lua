-- bocker stack ps|logs: a stack's containers and their output.
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local common = {
  { long = "file", kind = "string", arg = "FILE", help = "Stack file (gives the project name)" },
  { long = "project-name", short = "p", kind = "string", arg = "NAME", help = "Project name" },
}
local logs_spec = {
  { long = "follow", short = "f", kind = "bool", help = "Follow the output until the containers exit" },
  { long = "tail", short = "n", kind = "string", arg = "N", help = "Only the last N lines of each (or all)" },
}
for _, f in ipairs(common) do logs_spec[#logs_spec + 1] = f end
local USAGE = "bocker stack ps [--file FILE] [-p NAME]\n       bocker stack logs [-f] [--tail N] [--file FILE] [-p NAME] [SERVICE...]"

local function ps(args)
  local o, pos = cli.parse("stack ps", args, common)
  if not o then return pos or 125 end
  local stack = require "bocker.stack"
  local project, err = stack.project_of(o.file, o.project_name)
  if not project then return cli.fail(1, "stack ps", err) end
  local rows, now = {}, bocker.now()
  for _, c in ipairs(stack.containers(project)) do
    rows[#rows + 1] = { c.name or c.id, c.image_ref, c.labels[stack.LABEL_SERVICE] or "", fmt.status(c, now), table.concat(c.ports or {}, ", ") }
  end
  fmt.table({ "NAME", "IMAGE", "SERVICE", "STATUS", "PORTS" }, rows)
  return 0
end

local function logs(args)
  local o, pos = cli.parse("stack logs", args, logs_spec)
  if not o then return pos or 125 end
  local stack = require "bocker.stack"
  local project, err = stack.project_of(o.file, o.project_name)
  if not project then return cli.fail(1, "stack logs", err) end
  local tail
  if o.tail and o.tail ~= "all" then
    tail = math.tointeger(tonumber(o.tail))
    if not tail or tail < 0 then return cli.fail(125, "stack logs", "invalid --tail: %s", o.tail) end
  end
  local want = {}
  for _, s in ipairs(pos) do want[s] = true end
  local list = {}
  for _, c in ipairs(stack.containers(project)) do
    if #pos == 0 or want[c.labels[stack.LABEL_SERVICE]] then list[#list + 1] = c end
  end
  if o.follow then bocker.signals.trap { "INT", "TERM", "HUP" } end
  local ok, lerr = stack.print_logs(list, { follow = o.follow, tail = tail, stop = function() return bocker.signals.caught() ~= nil end })
  if not ok then return cli.fail(1, "stack logs", lerr) end
  return 0
end

return {
  summary = "A stack's containers (ps) and their prefixed output (logs)",
  usage = USAGE,
  flags = {},
  run = function(args)
    local sub = args[1]
    local rest = { table.unpack(args, 2) }
    if sub == "ps" then return ps(rest) end
    if sub == "logs" then return logs(rest) end
    if sub == "--help" or sub == "-h" or sub == nil then
      io.stdout:write("Usage: ", USAGE, "\n")
      return sub and 0 or 125
    end
    return cli.usage_error("stack", USAGE, "unknown subcommand: " .. tostring(sub))
  end,
}
