-- bocker inspect NAME...: containers as the Docker API shows them (bocker's
-- own record under `Bocker`; --bocker: that record alone), images as JSON.
local cli = require "bocker.cli"
local docker = require "bocker.docker"
local fmt = require "bocker.fmt"
local usage = "bocker inspect [--spec|--bocker] [-f TEMPLATE] [-s] [--type container|image] CONTAINER|IMAGE [...]"
local spec = {
  { long = "spec", kind = "bool", help = "A container's OCI runtime configuration (config.json)" },
  { long = "bocker", kind = "bool", help = "A container's record as bocker keeps it" },
  { long = "format", short = "f", kind = "string", arg = "TEMPLATE", help = "Go template ({{.State.Pid}}, {{json .Config}}) or json" },
  { long = "size", short = "s", kind = "bool", help = "A container's SizeRw and SizeRootFs" },
  { long = "type", kind = "string", arg = "TYPE", help = "Only objects of this type (container or image)" },
}
return {
  summary = "Show containers or images as JSON",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("inspect", args, spec)
    if not o then return pos or 125 end
    if #pos == 0 then return cli.usage_error("inspect", usage, '"inspect" requires at least 1 argument') end
    if o.type and o.type ~= "container" and o.type ~= "image" then return cli.fail(125, "inspect", '"%s" is not a valid value for --type', o.type) end
    local out, status = {}, 0
    for _, ref in ipairs(pos) do
      local c = o.type ~= "image" and bocker.container.get(ref) or nil
      local v
      if c and o.spec then
        local s, err = bocker.container.spec(ref)
        if not s then return cli.fail(125, "inspect", err) end
        v = s
      elseif c and o.bocker then
        v = c
      elseif c then
        v = docker.container_inspect(c)
        if o.size then
          local sz = bocker.container.size(c.id)
          if sz then v.SizeRw, v.SizeRootFs = sz.rw, sz.root_fs end
        end
      elseif o.type ~= "container" then
        v = bocker.image.get(ref)
      end
      if v then out[#out + 1] = v else status = cli.fail(1, "inspect", "No such object: %s", ref) end
    end
    if o.format and o.format ~= "json" then
      local ok, err = fmt.formatted(o.format, out)
      if not ok then return cli.fail(125, "inspect", "template parsing error: %s", err) end
    else
      print(bocker.json.encode(bocker.json.array(out)))
    end
    return status
  end,
}
