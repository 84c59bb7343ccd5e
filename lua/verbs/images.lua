-- bocker images: IMAGE_ID and SOURCE as the seed shows, plus age and size.
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local spec = {
  { long = "all", short = "a", kind = "bool", help = "Also intermediate images (untagged parents of others)" },
  { long = "quiet", short = "q", kind = "bool", help = "Only show image ids" },
  { long = "format", kind = "string", arg = "json|TEMPLATE", help = "Print as JSON, or each image through a Go template ({{.ID}} {{.Repository}} {{.Tag}} {{.Source}} {{.CreatedSince}} {{.CreatedAt}} {{.Size}}; 'table ...' adds a header)" },
}
return {
  summary = "List images",
  usage = "bocker images [-a] [-q] [--format json|TEMPLATE]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("images", args, spec)
    if not o then return pos or 125 end
    local imgs = bocker.image.list()
    if not o.all then
      -- hide intermediate images, as docker does: untagged parents of
      -- others that were themselves made from an image (build steps)
      local parents = {}
      for _, i in ipairs(imgs) do if i.parent then parents[i.parent] = true end end
      local shown = {}
      for _, i in ipairs(imgs) do
        local derived = (i.source or ""):match("^img_") or i.source == "scratch"
        if #(i.tags or {}) > 0 or not parents[i.id] or not derived then shown[#shown + 1] = i end
      end
      imgs = shown
    end
    if o.quiet then
      local ids = {}
      for n, i in ipairs(imgs) do ids[n] = i.id .. "\n" end
      io.stdout:write(table.concat(ids))
      return 0
    end
    if o.format == "json" then
      print(bocker.json.encode(imgs))
      return 0
    end
    if o.format and o.format ~= "table" then
      -- one row per tag, as docker lists them
      local rows = {}
      for _, i in ipairs(imgs) do
        local row = { ID = i.id, Source = i.source or "", CreatedSince = fmt.ago(i.created), CreatedAt = bocker.rfc3339(i.created or 0),
          Size = fmt.size(i.size), Digest = i.digest or "<none>" }
        local tags = #(i.tags or {}) > 0 and i.tags or { false }
        for _, t in ipairs(tags) do
          local r = {}
          for k, v in pairs(row) do r[k] = v end
          r.Repository, r.Tag = "<none>", "<none>"
          if t then r.Repository, r.Tag = t:match("^(.*):([^:/]+)$") end
          if not r.Repository then r.Repository, r.Tag = t, "" end
          rows[#rows + 1] = r
        end
      end
      local ok, err = fmt.formatted(o.format, rows, { ID = "IMAGE ID", Repository = "REPOSITORY", Tag = "TAG", Source = "SOURCE",
        CreatedSince = "CREATED", CreatedAt = "CREATED AT", Size = "SIZE", Digest = "DIGEST" })
      if not ok then return cli.fail(1, "images", err) end
      return 0
    end
    local rows = {}
    for _, i in ipairs(imgs) do
      local source = #(i.tags or {}) > 0 and table.concat(i.tags, ",") or i.source
      rows[#rows + 1] = { i.id, source, fmt.ago(i.created), fmt.size(i.size) }
    end
    fmt.table({ "IMAGE_ID", "SOURCE", "CREATED", "SIZE" }, rows)
    return 0
  end,
}
