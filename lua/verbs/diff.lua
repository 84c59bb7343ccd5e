-- bocker diff CONTAINER: what the container changed in its filesystem
-- (A added, C changed, D deleted), from its overlay's upper dir
local cli = require "bocker.cli"
local usage = "bocker diff CONTAINER"
local kinds = { [0] = "C", [1] = "A", [2] = "D" }
return {
  summary = "Inspect changes to files or directories on a container's filesystem",
  usage = usage,
  flags = {},
  run = function(args)
    local o, pos = cli.parse("diff", args, {})
    if not o then return pos or 125 end
    if #pos ~= 1 then return cli.usage_error("diff", usage, '"diff" requires exactly 1 argument') end
    local l, err = bocker.container.changes(pos[1])
    if not l then return cli.fail(1, "diff", err) end
    local out = {}
    for i, c in ipairs(l) do out[i] = kinds[c.Kind] .. " " .. c.Path .. "\n" end
    io.stdout:write(table.concat(out))
    return 0
  end,
}
