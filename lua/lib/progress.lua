-- Pull progress: a bar per layer on a terminal (stderr), plain lines
-- otherwise. new() returns a callback for bocker.image.pull.
local M = {}

local function short(d) return (d or ""):gsub("^sha256:", ""):sub(1, 12) end

local function bar(done, total, width)
  local frac = total > 0 and math.min(1, done / total) or 0
  local n = math.floor(frac * width)
  return string.rep("#", n) .. string.rep(" ", width - n), frac * 100
end

function M.new(out)
  out = out or io.stderr
  local tty = bocker.isatty(2)
  local layers, count, drawn = {}, 0, 0
  local function draw()
    if drawn > 0 then out:write(string.format("\27[%dA", drawn)) end
    for i = 1, count do
      local l = layers[i] or { state = "waiting", done = 0, total = 0 }
      local b, pct = bar(l.done, l.total, 40)
      local label = l.state == "downloading" and string.format("%s %5.1f%%", b, pct) or l.state
      out:write(string.format("\27[2K%s: %s\n", short(l.digest or l.diff_id) ~= "" and short(l.digest or l.diff_id) or ("layer " .. i), label))
    end
    drawn = count
    out:flush()
  end
  return function(ev)
    local i = ev.index and ev.index + 1
    if ev.event == "resolved" then
      count = ev.layers
      if not tty then out:write("Pulling ", count, " layers (", short(ev.manifest_digest), ")\n") end
    elseif ev.event == "layer_cached" then
      layers[i] = { state = "already exists", diff_id = ev.diff_id, done = 1, total = 1 }
      if not tty then out:write(short(ev.diff_id), ": already exists\n") end
    elseif ev.event == "layer_started" then
      layers[i] = { state = "downloading", digest = ev.digest, done = 0, total = ev.size }
      if not tty then out:write(short(ev.digest), ": downloading ", ev.size, " bytes\n") end
    elseif ev.event == "layer_bytes" then
      local l = layers[i]
      if l then l.done, l.total = ev.downloaded, ev.total end
    elseif ev.event == "layer_extracting" then
      if layers[i] then layers[i].state = "extracting" end
    elseif ev.event == "layer_done" then
      local l = layers[i] or {}
      l.state, l.done = "done", l.total or 0
      layers[i] = l
      if not tty then out:write(short(l.digest or ev.diff_id), ": done\n") end
    end
    if tty and count > 0 then draw() end
  end
end

return M
