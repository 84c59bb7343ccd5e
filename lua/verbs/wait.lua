-- bocker wait CONTAINER...: block until they exit, print exit codes.
local cli = require "bocker.cli"
return {
  summary = "Wait for containers to exit and print their exit codes",
  usage = "bocker wait CONTAINER [CONTAINER...]",
  flags = {},
  run = function(args)
    local o, pos = cli.parse("wait", args, {})
    if not o then return pos or 125 end
    if #pos == 0 then return cli.usage_error("wait", "bocker wait CONTAINER...", '"wait" requires at least 1 argument') end
    local status = 0
    for _, ref in ipairs(pos) do
      local code, err = bocker.container.wait(ref)
      if code then print(code) else status = cli.fail(1, "wait", err) end
    end
    return status
  end,
}
