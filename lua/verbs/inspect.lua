-- bocker inspect NAME...: containers or images as JSON.
local cli = require "bocker.cli"
return {
  summary = "Show containers or images as JSON",
  usage = "bocker inspect CONTAINER|IMAGE [...]",
  flags = {},
  run = function(args)
    local o, pos = cli.parse("inspect", args, {})
    if not o then return pos or 125 end
    if #pos == 0 then return cli.usage_error("inspect", "bocker inspect CONTAINER|IMAGE [...]", '"inspect" requires at least 1 argument') end
    local out, status = {}, 0
    for _, ref in ipairs(pos) do
      local v = bocker.container.get(ref) or bocker.image.get(ref)
      if v then out[#out + 1] = v else status = cli.fail(1, "inspect", "No such object: %s", ref) end
    end
    print(bocker.json.encode(out))
    return status
  end,
}
