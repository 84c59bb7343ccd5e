-- Turns -v, --mount, --tmpfs and --volumes-from into mount specs for
-- bocker.container.create.
local M = {}

local function split(s, sep)
  local out = {}
  for part in (s .. sep):gmatch("(.-)" .. sep) do out[#out + 1] = part end
  return out
end

-- A -v source that is a host path: absolute, or relative to the cwd
-- ("." "./x" "../x", as docker's CLI turns them absolute), or "~/x".
local function host_path(src)
  if src:sub(1, 1) == "/" then return src end
  if src == "." or src == ".." or src:sub(1, 2) == "./" or src:sub(1, 3) == "../" then
    local cwd = bocker.cwd() or os.getenv("PWD")
    if not cwd then return nil end
    local path = cwd:gsub("/+$", "") .. "/" .. src
    -- lexically clean, as filepath.Abs does
    local parts = {}
    for part in path:gmatch("[^/]+") do
      if part == ".." then table.remove(parts)
      elseif part ~= "." then parts[#parts + 1] = part end
    end
    return "/" .. table.concat(parts, "/")
  end
  if src == "~" or src:sub(1, 2) == "~/" then
    local home = os.getenv("HOME")
    return home and (home .. src:sub(2)) or nil
  end
  return nil
end

-- The mode field of -v: ro|rw, z|Z (SELinux relabel: no SELinux here, a
-- no-op), nocopy, a consistency (no-op on Linux) and rprivate (what
-- bocker does); other propagations are refused.
local function volume_mode(mode)
  local ro, seen = false, {}
  for opt in (mode .. ","):gmatch("([^,]*),") do
    if opt == "ro" or opt == "rw" then
      if seen.rw then return nil, "invalid mode: " .. mode end
      seen.rw = true
      ro = opt == "ro"
    elseif opt == "z" or opt == "Z" or opt == "nocopy" or opt == "consistent" or opt == "cached"
      or opt == "delegated" or opt == "rprivate" or opt == "private" then
      -- accepted, nothing to do
    elseif opt == "shared" or opt == "rshared" or opt == "slave" or opt == "rslave" then
      return nil, string.format("invalid mode: %s (bind propagation %s is not supported by bocker: binds are rprivate)", mode, opt)
    else
      return nil, "invalid mode: " .. mode
    end
  end
  return ro
end

-- -v SRC:DST[:MODE]; SRC a host path = bind mount (its folder made if
-- missing, as docker does for -v), else a named volume.
function M.parse_volume(v)
  -- -v /path alone: an anonymous volume
  if v:sub(1, 1) == "/" and not v:find(":", 1, true) then
    return { type = "volume", source = "", target = v, readonly = false }
  end
  local parts = split(v, ":")
  if #parts < 2 or #parts > 3 or parts[1] == "" or parts[2] == "" then
    return nil, string.format("invalid volume specification: '%s'", v)
  end
  local ro, merr = volume_mode(parts[3] or "rw")
  if ro == nil then return nil, merr end
  if parts[2]:sub(1, 1) ~= "/" then
    return nil, string.format("invalid volume specification: '%s': destination must be absolute", v)
  end
  local src = host_path(parts[1])
  if src then
    return { type = "bind", source = src, target = parts[2], readonly = ro, create_source = true }
  end
  return { type = "volume", source = parts[1], target = parts[2], readonly = ro }
end

-- --mount type=bind,src=/a,dst=/b,readonly
function M.parse_mount(s)
  local m = { type = "volume", readonly = false }
  local tmpfs_opts = {}
  for _, kv in ipairs(split(s, ",")) do
    local k, v = kv:match("^([^=]+)=(.*)$")
    k = k or kv
    if k == "type" then m.type = v
    elseif k == "src" or k == "source" then m.source = v
    elseif k == "dst" or k == "destination" or k == "target" then m.target = v
    elseif k == "readonly" or k == "ro" then m.readonly = (v == nil or v == "true" or v == "1")
    elseif k == "tmpfs-size" then tmpfs_opts[#tmpfs_opts + 1] = "size=" .. v
    elseif k == "tmpfs-mode" then tmpfs_opts[#tmpfs_opts + 1] = "mode=" .. v
    else return nil, string.format("unexpected key '%s' in '%s'", k, s) end
  end
  if not m.target then return nil, "target is required in --mount " .. s end
  if #tmpfs_opts > 0 then
    local merged, err = M.merge_tmpfs_options(tmpfs_opts)
    if not merged then return nil, err end
    m.options = table.concat(merged, ",")
  end
  if m.type ~= "bind" and m.type ~= "volume" and m.type ~= "tmpfs" then
    return nil, "unsupported mount type: " .. tostring(m.type)
  end
  m.source = m.source or ""
  return m
end

-- tmpfs options as docker merges them (mount.MergeTmpfsOptions): flags
-- and KEY=VALUE data, the last of each kind winning; data keys only
-- size, mode, uid, gid, nr_inodes, nr_blocks, mpol.
local TMPFS_FLAGS = {
  ro = "ro", rw = "ro", suid = "suid", nosuid = "suid", dev = "dev", nodev = "dev", exec = "exec", noexec = "exec",
  sync = "sync", async = "sync", dirsync = "dirsync", mand = "mand", nomand = "mand", atime = "atime", noatime = "atime",
  diratime = "diratime", nodiratime = "diratime", relatime = "relatime", norelatime = "relatime",
  strictatime = "strictatime", nostrictatime = "strictatime",
}
local TMPFS_DATA = { size = "^%d+[kKmMgG%%]?$", mode = "^[0-7]+$", uid = "^%d+$", gid = "^%d+$", nr_inodes = "^%d+[kKmMgG]?$", nr_blocks = "^%d+[kKmMgG]?$", mpol = "^[%w:,%-]+$" }

function M.merge_tmpfs_options(list)
  local out, flags_seen, data_seen = {}, {}, {}
  for i = #list, 1, -1 do
    local opt = list[i]
    if opt ~= "defaults" and opt ~= "" then
      local group = TMPFS_FLAGS[opt]
      if group then
        if not flags_seen[group] then
          flags_seen[group] = true
          table.insert(out, 1, opt)
        end
      else
        local k, v = opt:match("^([%w_]+)=(.+)$")
        if not k or not TMPFS_DATA[k] then return nil, string.format("invalid tmpfs option %q", opt) end
        if not v:match(TMPFS_DATA[k]) then return nil, string.format("invalid tmpfs option %q: bad value", opt) end
        if not data_seen[k] then
          data_seen[k] = true
          table.insert(out, 1, opt)
        end
      end
    end
  end
  return out
end

-- --tmpfs /path[:OPTS]: docker's defaults noexec,nosuid,nodev with the
-- given options merged over them; size takes k/m/g (or N%).
function M.parse_tmpfs(s)
  local path, opts = s:match("^([^:]+):?(.*)$")
  if not path or path:sub(1, 1) ~= "/" then return nil, "invalid tmpfs: " .. s end
  local list = { "noexec", "nosuid", "nodev" }
  for _, o in ipairs(split(opts, ",")) do list[#list + 1] = o end
  local merged, err = M.merge_tmpfs_options(list)
  if not merged then return nil, err end
  local ro = false
  for _, o in ipairs(merged) do ro = ro or o == "ro" end
  return { type = "tmpfs", source = "", target = path, readonly = ro, options = table.concat(merged, ",") }
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
