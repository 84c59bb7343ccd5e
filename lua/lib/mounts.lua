-- Turns -v, --mount, --tmpfs and --volumes-from into mount specs for
-- bocker.container.create.
local M = {}

local function split(s, sep)
  local out = {}
  for part in (s .. sep):gmatch("(.-)" .. sep) do out[#out + 1] = part end
  return out
end

-- -v SRC:DST[:ro|rw]; SRC absolute = bind mount, else a named volume.
function M.parse_volume(v)
  -- -v /path alone: an anonymous volume
  if v:sub(1, 1) == "/" and not v:find(":", 1, true) then
    return { type = "volume", source = "", target = v, readonly = false }
  end
  local parts = split(v, ":")
  if #parts < 2 or #parts > 3 or parts[1] == "" or parts[2] == "" then
    return nil, string.format("invalid volume specification: '%s'", v)
  end
  local mode = parts[3] or "rw"
  if mode ~= "ro" and mode ~= "rw" then return nil, string.format("invalid mode: %s", mode) end
  if parts[2]:sub(1, 1) ~= "/" then
    return nil, string.format("invalid volume specification: '%s': destination must be absolute", v)
  end
  local kind = parts[1]:sub(1, 1) == "/" and "bind" or "volume"
  return { type = kind, source = parts[1], target = parts[2], readonly = mode == "ro" }
end

-- --mount type=bind,src=/a,dst=/b,readonly
function M.parse_mount(s)
  local m = { type = "volume", readonly = false }
  for _, kv in ipairs(split(s, ",")) do
    local k, v = kv:match("^([^=]+)=(.*)$")
    k = k or kv
    if k == "type" then m.type = v
    elseif k == "src" or k == "source" then m.source = v
    elseif k == "dst" or k == "destination" or k == "target" then m.target = v
    elseif k == "readonly" or k == "ro" then m.readonly = (v == nil or v == "true" or v == "1")
    elseif k == "tmpfs-size" then m.options = "size=" .. v
    else return nil, string.format("unexpected key '%s' in '%s'", k, s) end
  end
  if not m.target then return nil, "target is required in --mount " .. s end
  if m.type ~= "bind" and m.type ~= "volume" and m.type ~= "tmpfs" then
    return nil, "unsupported mount type: " .. tostring(m.type)
  end
  m.source = m.source or ""
  return m
end

-- --tmpfs /path[:size=64m]
function M.parse_tmpfs(s)
  local path, opts = s:match("^([^:]+):?(.*)$")
  if not path or path:sub(1, 1) ~= "/" then return nil, "invalid tmpfs: " .. s end
  return { type = "tmpfs", source = "", target = path, options = opts ~= "" and opts or nil }
end

function M.from_flags(o)
  local out = {}
  for _, v in ipairs(o.volume or {}) do
    local m, err = M.parse_volume(v)
    if not m then return nil, err end
    out[#out + 1] = m
  end
  for _, s in ipairs(o.mount or {}) do
    local m, err = M.parse_mount(s)
    if not m then return nil, err end
    out[#out + 1] = m
  end
  for _, s in ipairs(o.tmpfs or {}) do
    local m, err = M.parse_tmpfs(s)
    if not m then return nil, err end
    out[#out + 1] = m
  end
  for _, s in ipairs(o.volumes_from or {}) do
    local ref, mode = s:match("^([^:]+):?(.*)$")
    local c, err = bocker.container.get(ref or s)
    if not c then return nil, err end
    for _, m in ipairs(c.mounts or {}) do
      if m.type ~= "tmpfs" then
        out[#out + 1] = { type = m.type, source = m.source, target = m.target,
          readonly = (mode == "ro") or (mode ~= "rw" and m.readonly) }
      end
    end
  end
  return out
end

return M
