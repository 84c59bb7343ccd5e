-- bocker bundle -o DIR [RUN FLAGS] IMAGE [CMD [ARG...]]
-- bocker bundle -o DIR CONTAINER
-- Writes an OCI bundle (DIR/config.json, DIR/rootfs) that runc, crun or
-- any OCI runtime runs: `runc run --bundle DIR NAME`.
local cli = require "bocker.cli"
local run = require("bocker").verbs.load("run")

local usage = "bocker bundle -o DIR [RUN FLAGS] IMAGE|CONTAINER [COMMAND [ARG...]]"

return {
  summary = "Write a container or image as an OCI bundle for any OCI runtime",
  usage = usage,
  flags = { { long = "output", short = "o", kind = "string", arg = "DIR", help = "The bundle folder (missing or empty)" } },
  run = function(args)
    -- -o DIR first; everything after it is run's flags, image and command
    local dir
    local rest = {}
    local i = 1
    while i <= #args do
      local a = args[i]
      if (a == "-o" or a == "--output") and not dir then dir = args[i + 1]; i = i + 2
      elseif a:match("^%-%-output=") and not dir then dir = a:sub(10); i = i + 1
      else rest[#rest + 1] = a; i = i + 1 end
    end
    if not dir or dir == "" then return cli.usage_error("bundle", usage, '"bundle" requires -o DIR') end
    if #rest == 1 and bocker.container.get(rest[1]) then
      local config, err = bocker.container.bundle(rest[1], dir)
      if not config then return cli.fail(125, "bundle", err) end
      print(config)
      return 0
    end
    -- an image: a container record made for the occasion, exported, removed
    local c, o = run.create("bundle", rest)
    if not c then return o end
    local config, err = bocker.container.bundle(c.id, dir)
    bocker.container.remove(c.id, { force = true, volumes = true })
    if not config then return cli.fail(125, "bundle", err) end
    print(config)
    return 0
  end,
}
