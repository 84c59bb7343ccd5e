-- Summarizes a BOCKER_TRACE file of several runs: per phase, the median
-- wall time since the previous phase (any process), and the CPU time,
-- run-queue wait and blocked time of the process that reached the phase.
--   BOCKER_TRACE=/tmp/t bocker run ...   (several times)
--   bocker script scripts/trace-phases.lua /tmp/t
local file = arg[1] or error("usage: bocker script trace-phases.lua TRACEFILE")

local runs, cur = {}, nil
for line in io.lines(file) do
  local pid, ms, cpu, rq, phase = line:match("^%s*(%d+)%s+([%d.]+)%s+([%d.]+)%s+([%d.]+)%s+(.-)%s*$")
  if pid then
    ms, cpu, rq = tonumber(ms), tonumber(cpu), tonumber(rq)
    -- a run starts where the CLI's timeline starts again
    if phase == "process start" and ms < 1.0 then
      cur = {}
      runs[#runs + 1] = cur
    end
    if cur then cur[#cur + 1] = { pid = pid, ms = ms, cpu = cpu, rq = rq, phase = phase } end
  end
end
if #runs == 0 then error("no runs in " .. file) end

local order, by = {}, {}
local function add(name, wall, cpu, rq)
  if not by[name] then
    by[name] = { wall = {}, cpu = {}, rq = {}, blocked = {} }
    order[#order + 1] = name
  end
  local b = by[name]
  b.wall[#b.wall + 1], b.cpu[#b.cpu + 1], b.rq[#b.rq + 1] = wall, cpu, rq
  b.blocked[#b.blocked + 1] = wall - cpu - rq
end
local totals = {}
for _, r in ipairs(runs) do
  local prev, last, seen = 0, {}, {}
  for _, p in ipairs(r) do
    local l = last[p.pid] or { cpu = 0, rq = 0 }
    local name = p.phase
    if name == "process start" then
      -- the CLI's own exec is not on the timeline; the monitor's is
      name = p.pid == r[1].pid and "cli: process start (its exec not counted)" or "monitor: exec'd, process start"
    end
    if seen[name] then name = name .. " (again)" end
    seen[name] = true
    add(name, p.ms - prev, p.cpu - l.cpu, p.rq - l.rq)
    prev, last[p.pid] = p.ms, { cpu = p.cpu, rq = p.rq }
  end
  totals[#totals + 1] = r[#r].ms
end

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local n = #s
  if n == 0 then return 0 end
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

print(string.format("%8s %8s %8s %8s  %s", "wall ms", "cpu", "runq", "blocked", "phase (medians of " .. #runs .. " runs)"))
for _, name in ipairs(order) do
  local b = by[name]
  print(string.format("%8.2f %8.2f %8.2f %8.2f  %s", median(b.wall), median(b.cpu), median(b.rq), median(b.blocked), name))
end
print(string.format("%8.2f %26s  %s", median(totals), "", "total, first to last mark"))
