-- bocker history [-q] [--no-trunc] [--format json] IMAGE: the image's
-- history entries, newest first, as docker history shows them.
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local spec = {
  { long = "quiet", short = "q", kind = "bool", help = "Only show image ids" },
  { long = "no-trunc", kind = "bool", help = "Do not shorten CREATED BY" },
  { long = "format", kind = "string", arg = "json", help = "Print as JSON" },
}
local usage = "bocker history [-q] [--no-trunc] [--format json] IMAGE"
return {
  summary = "Show the history of an image",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("history", args, spec)
    if not o then return pos or 125 end
    if #pos ~= 1 then return cli.usage_error("history", usage, '"history" requires exactly 1 argument') end
    if o.format and o.format ~= "json" then return cli.fail(125, "history", 'invalid --format %q: only json is supported', o.format) end
    local rows, err = bocker.image.history(pos[1])
    if not rows then return cli.fail(1, "history", err) end
    if o.format == "json" then
      print(bocker.json.encode(rows))
      return 0
    end
    if o.quiet then
      local out = {}
      for i, r in ipairs(rows) do out[i] = (r.id or "<missing>") .. "\n" end
      io.stdout:write(table.concat(out))
      return 0
    end
    local lines = {}
    for i, r in ipairs(rows) do
      local by = r.created_by or ""
      if not o.no_trunc then by = fmt.truncate(by, 45) end
      lines[i] = { r.id or "<missing>", fmt.ago(r.created), by, fmt.size(r.size), r.comment or "" }
    end
    fmt.table({ "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT" }, lines)
    return 0
  end,
}
