-- bocker unpause CONTAINER...
local cli = require "bocker.cli"
return {
  summary = "Unpause all processes within containers",
  usage = "bocker unpause CONTAINER [CONTAINER...]",
  flags = {},
  run = function(args)
    local o, pos = cli.parse("unpause", args, {})
    if not o then return pos or 125 end
    if #pos == 0 then return cli.usage_error("unpause", "bocker unpause CONTAINER...", '"unpause" requires at least 1 argument') end
    local status = 0
    for _, ref in ipairs(pos) do
      local id, err = bocker.container.unpause(ref)
      if id then print(ref) else status = cli.fail(1, "unpause", err) end
    end
    return status
  end,
}
