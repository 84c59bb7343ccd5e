-- bocker top CONTAINER [ps OPTIONS]: the container's processes, as the
-- host's ps shows them (default -ef)
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local usage = "bocker top CONTAINER [ps OPTIONS]"
return {
  summary = "Display the running processes of a container",
  usage = usage,
  flags = {},
  run = function(args)
    if args[1] == "--help" then
      cli.parse("top", args, {})
      return 0
    end
    if #args < 1 then return cli.usage_error("top", usage, '"top" requires at least 1 argument') end
    local ps_args = { table.unpack(args, 2) }
    local t, err = bocker.container.top(args[1], ps_args)
    if not t then return cli.fail(1, "top", err) end
    fmt.table(t.Titles, t.Processes)
    return 0
  end,
}
