-- Output helpers for verbs: aligned tables, ages, sizes, statuses.
local M = {}

-- Display width of a string (characters, not bytes).
local function width(s) return utf8.len(s) or #s end

-- Prints rows under headers, columns padded to line up (as docker does).
function M.table(headers, rows, out)
  out = out or io.stdout
  local widths = {}
  for i, h in ipairs(headers) do widths[i] = width(h) end
  for _, r in ipairs(rows) do
    for i = 1, #headers do
      local s = tostring(r[i] or "")
      if width(s) > widths[i] then widths[i] = width(s) end
    end
  end
  local function line(cells)
    local parts = {}
    for i = 1, #headers do
      local s = tostring(cells[i] or "")
      if i < #headers then s = s .. string.rep(" ", widths[i] - width(s) + 3) end
      parts[i] = s
    end
    out:write((table.concat(parts):gsub("%s+$", "")), "\n")
  end
  line(headers)
  for _, r in ipairs(rows) do line(r) end
end

-- Docker's --format: "json" (one JSON object per line), "table" (nil:
-- the caller's own table), "table TEMPLATE" (a header row from `header`,
-- the fields a template names, then aligned columns split at tabs) or a
-- Go template per row. `\t` and `\n` in the format are tab and newline, as
-- docker reads them. Returns true, or nil and an error (one line).
function M.formatted(format, rows, header, out)
  out = out or io.stdout
  if format == "json" then
    for _, r in ipairs(rows) do out:write(bocker.json.encode(r), "\n") end
    return true
  end
  local tmpl = format:gsub("\\t", "\t"):gsub("\\n", "\n")
  local is_table = tmpl:match("^table%s") or tmpl == "table"
  if is_table then tmpl = tmpl:gsub("^table%s*", "") end
  tmpl = tmpl:gsub("^%s+", ""):gsub("%s+$", "")
  local ok, err = bocker.template.check(tmpl)
  if not ok then return nil, err end
  local lines = {}
  if is_table then
    local h, herr = bocker.template.render(tmpl, header or {})
    if not h then return nil, herr end
    lines[1] = h
  end
  for _, r in ipairs(rows) do
    local line, rerr = bocker.template.render(tmpl, r)
    if not line then return nil, rerr end
    lines[#lines + 1] = line
  end
  if not is_table then
    for _, l in ipairs(lines) do out:write(l, "\n") end
    return true
  end
  -- docker's tabwriter: cells padded by 3, at least 10 wide
  local cells, widths = {}, {}
  for i, l in ipairs(lines) do
    cells[i] = {}
    for c in (l .. "\t"):gmatch("(.-)\t") do cells[i][#cells[i] + 1] = c end
    for k = 1, #cells[i] - 1 do widths[k] = math.max(widths[k] or 0, width(cells[i][k]) + 3, 10) end
  end
  for _, row in ipairs(cells) do
    local parts = {}
    for k, c in ipairs(row) do
      parts[k] = k < #row and (c .. string.rep(" ", widths[k] - width(c))) or c
    end
    out:write(table.concat(parts), "\n")
  end
  return true
end

-- 3 -> "3s", 125 -> "2m", 7300 -> "2h", 200000 -> "2d"
function M.duration(secs)
  secs = math.max(0, math.floor(secs or 0))
  if secs < 60 then return secs .. "s" end
  if secs < 3600 then return math.floor(secs / 60) .. "m" end
  if secs < 86400 then return math.floor(secs / 3600) .. "h" end
  return math.floor(secs / 86400) .. "d"
end

function M.ago(t, now)
  if not t then return "" end
  return M.duration((now or bocker.now()) - t) .. " ago"
end

-- 1536 -> "1.5kB" (decimal units, as docker prints sizes)
function M.size(n)
  n = n or 0
  local units = { "B", "kB", "MB", "GB", "TB" }
  local i = 1
  while n >= 1000 and i < #units do n = n / 1000; i = i + 1 end
  if i == 1 then return string.format("%dB", n) end
  return string.format("%.3g%s", n, units[i])
end

-- "Up 3s", "Up 3s (healthy)", "Exited (0) 5s ago", "Restarting (1) 1s ago", "Created"
function M.status(c, now)
  now = now or bocker.now()
  local st = c.state or {}
  if c.running then
    local up = "Up " .. M.duration(now - (st.started or now))
    if c.paused then up = up .. " (Paused)"
    elseif c.health == "starting" then up = up .. " (health: starting)"
    elseif c.health then up = up .. " (" .. c.health .. ")" end
    return up
  end
  if st.status == "restarting" then
    return string.format("Restarting (%d) %s", st.exit_code or -1, M.ago(st.finished, now))
  end
  if st.status == "exited" then
    local code = st.exit_code or -1
    if st.finished then return string.format("Exited (%d) %s", code, M.ago(st.finished, now)) end
    return string.format("Exited (%d)", code)
  end
  return "Created"
end

-- Joins argv for display, quoting words with spaces.
function M.command(args)
  local out = {}
  for i, a in ipairs(args or {}) do
    if a == "" or a:find("[%s\"']") then a = string.format("%q", a) end
    out[i] = a
  end
  return table.concat(out, " ")
end

-- Shortens text to n characters, ending in "…" when cut.
function M.truncate(s, n)
  s = tostring(s or "")
  if utf8.len(s) and utf8.len(s) <= n then return s end
  return s:sub(1, utf8.offset(s, n) - 1) .. "…"
end

return M
