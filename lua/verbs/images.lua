-- bocker images: IMAGE_ID and SOURCE as the seed shows, plus age and size.
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local filters = require "bocker.filters"
local spec = {
  { long = "filter", short = "f", kind = "list", arg = "KEY=VALUE", help = "reference=PATTERN, dangling=true|false, label=K[=V], before=IMAGE, since=IMAGE" },
  { long = "all", short = "a", kind = "bool", help = "Also intermediate images (untagged parents of others)" },
  { long = "quiet", short = "q", kind = "bool", help = "Only show image ids" },
  { long = "format", kind = "string", arg = "json|TEMPLATE", help = "Print as JSON, or each image through a Go template ({{.ID}} {{.Repository}} {{.Tag}} {{.Source}} {{.CreatedSince}} {{.CreatedAt}} {{.Size}}; 'table ...' adds a header)" },
}
return {
  summary = "List images",
  usage = "bocker images [-a] [-q] [-f KEY=VALUE] [--format json|TEMPLATE] [REPOSITORY[:TAG]]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("images", args, spec)
    if not o then return pos or 125 end
    if #pos > 1 then return cli.usage_error("images", "bocker images [FLAGS] [REPOSITORY[:TAG]]", '"images" accepts at most 1 argument') end
    local f, ferr, fstatus = filters.parse(o.filter, filters.image_keys)
    if not f then return cli.fail(fstatus, "images", ferr) end
    -- the argument is one more reference filter, as docker's
    if pos[1] then f.reference = f.reference or {}; table.insert(f.reference, pos[1]) end
    local imgs = bocker.image.list()
    -- without -a, intermediate images are hidden, as docker does: untagged
    -- parents of others that were themselves made from an image (build steps)
    if not o.all then imgs = filters.top_images(imgs) end
    local err
    imgs, err = filters.images(imgs, f)
    if not imgs then return cli.fail(1, "images", err) end
    if f.reference then
      local shown = {}
      for n, i in ipairs(imgs) do
        local c = {}
        for k, v in pairs(i) do c[k] = v end
        c.tags = filters.matching_tags(i, f.reference)
        shown[n] = c
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
