-- Docker-style flag parsing for verbs.
--
-- A spec is a list of flags:
--   { long = "name", short = "n", kind = "string"|"bool"|"list"|"int", arg = "NAME", help = "..." }
-- parse(args, spec, { interspersed = false }) returns opts, positional
-- or nil, err. Forms: -d, -it (grouped bools), --name x, --name=x, -n x,
-- -nx, -e K=V repeated (kind "list"), and `--` ends the flags. With
-- interspersed = false (run, exec) the first positional ends the flags.
local M = {}

local function find(spec, long, short)
  for _, f in ipairs(spec) do
    if (long and f.long == long) or (short and f.short == short) then return f end
  end
end

local function set(opts, f, value)
  local key = f.long:gsub("-", "_")
  if f.kind == "list" then
    opts[key] = opts[key] or {}
    table.insert(opts[key], value)
  elseif f.kind == "int" then
    local n = tonumber(value)
    if not n or n ~= math.floor(n) then
      return nil, string.format('invalid argument "%s" for "--%s" flag: not an integer', value, f.long)
    end
    opts[key] = math.tointeger(n)
  elseif f.kind == "bool" then
    if value == true or value == "true" then opts[key] = true
    elseif value == "false" then opts[key] = false
    else return nil, string.format('invalid argument "%s" for "--%s" flag', value, f.long) end
  else
    opts[key] = value
  end
  return true
end

function M.parse(args, spec, how)
  how = how or {}
  local interspersed = how.interspersed ~= false
  local opts, pos = {}, {}
  for _, f in ipairs(spec) do
    local key = f.long:gsub("-", "_")
    if f.kind == "list" then opts[key] = {}
    elseif f.kind == "bool" then opts[key] = f.default or false
    elseif f.default ~= nil then opts[key] = f.default end
  end
  local i, n = 1, #args
  while i <= n do
    local a = args[i]
    if a == "--" then
      for j = i + 1, n do pos[#pos + 1] = args[j] end
      break
    elseif a:sub(1, 2) == "--" and #a > 2 then
      local name, value = a:match("^%-%-([^=]+)=(.*)$")
      name = name or a:sub(3)
      local f = find(spec, name)
      if not f then return nil, "unknown flag: --" .. name end
      if f.kind == "bool" then
        local ok, err = set(opts, f, value == nil and true or value)
        if not ok then return nil, err end
      else
        if value == nil then
          i = i + 1
          value = args[i]
          if value == nil then return nil, "flag needs an argument: --" .. name end
        end
        local ok, err = set(opts, f, value)
        if not ok then return nil, err end
      end
    elseif a:sub(1, 1) == "-" and #a > 1 then
      local j = 2
      while j <= #a do
        local c = a:sub(j, j)
        local f = find(spec, nil, c)
        if not f then return nil, string.format("unknown shorthand flag: '%s' in %s", c, a) end
        if f.kind == "bool" then
          set(opts, f, true)
          j = j + 1
        else
          local value = a:sub(j + 1)
          if value == "" then
            i = i + 1
            value = args[i]
            if value == nil then return nil, string.format("flag needs an argument: '%s' in -%s", c, c) end
          elseif value:sub(1, 1) == "=" then
            value = value:sub(2)
          end
          local ok, err = set(opts, f, value)
          if not ok then return nil, err end
          break
        end
      end
    else
      if not interspersed then
        for j = i, n do pos[#pos + 1] = args[j] end
        break
      end
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return opts, pos
end

-- Help text for a spec: one aligned line per flag.
function M.help(spec)
  local rows, width = {}, 0
  for _, f in ipairs(spec) do
    local left = (f.short and ("-" .. f.short .. ", ") or "    ") .. "--" .. f.long
    if f.kind ~= "bool" then left = left .. " " .. (f.arg or (f.kind == "int" and "int" or "string")) end
    rows[#rows + 1] = { left, f.help or "" }
    if #left > width then width = #left end
  end
  local out = {}
  for _, r in ipairs(rows) do
    out[#out + 1] = "  " .. r[1] .. string.rep(" ", width - #r[1] + 3) .. r[2]
  end
  return table.concat(out, "\n")
end

return M
