-- bocker inspect NAME...: containers or images as JSON.
local cli = require "bocker.cli"
return {
  summary = "Show containers or images as JSON",
  usage = "bocker inspect [--spec] CONTAINER|IMAGE [...]",
  flags = { { long = "spec", kind = "bool", help = "A container's OCI runtime configuration (config.json)" } },
  run = function(args)
    local o, pos = cli.parse("inspect", args, { { long = "spec", kind = "bool" } })
    if not o then return pos or 125 end
    if #pos == 0 then return cli.usage_error("inspect", "bocker inspect [--spec] CONTAINER|IMAGE [...]", '"inspect" requires at least 1 argument') end
    local out, status = {}, 0
    for _, ref in ipairs(pos) do
      local v = bocker.container.get(ref) or bocker.image.get(ref)
      if v and o.spec then
        local spec, err = bocker.container.spec(ref)
        if not spec then return cli.fail(125, "inspect", err) end
        v = spec
      end
      if v then out[#out + 1] = v else status = cli.fail(1, "inspect", "No such object: %s", ref) end
    end
    print(bocker.json.encode(out))
    return status
  end,
}
