-- bocker stats [--no-stream] [-a] [--format T] [CONTAINER...]: live CPU,
-- memory, network, block I/O and pids use, from the containers' cgroups
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local spec = {
  { long = "all", short = "a", kind = "bool", help = "Show all containers (default shows just running)" },
  { long = "no-stream", kind = "bool", help = "Print one sample and exit" },
  { long = "no-trunc", kind = "bool", help = "Do not truncate output" },
  { long = "format", kind = "string", arg = "TEMPLATE", help = "Go template: .Container .Name .ID .CPUPerc .MemUsage .MemPerc .NetIO .BlockIO .PIDs, or json" },
}
local usage = "bocker stats [--no-stream] [-a] [--format TEMPLATE] [CONTAINER...]"

-- MiB-style sizes (binary, as docker's stats shows memory)
local function binary(n)
  local units = { "B", "KiB", "MiB", "GiB", "TiB" }
  local i = 1
  while n >= 1024 and i < #units do n = n / 1024; i = i + 1 end
  return (i == 1 and string.format("%dB", n)) or string.format("%.4g%s", n, units[i])
end

-- one row from a sample and the one before it (CPU % is their delta)
local function row(s, prev)
  local cpu = 0
  if prev then
    local dc = s.cpu_stats.cpu_usage.total_usage - prev.cpu_stats.cpu_usage.total_usage
    local ds = s.cpu_stats.system_cpu_usage - prev.cpu_stats.system_cpu_usage
    if dc > 0 and ds > 0 then cpu = dc / ds * s.cpu_stats.online_cpus * 100 end
  end
  local m = s.memory_stats
  local cache = (m.stats or {}).total_inactive_file or (m.stats or {}).inactive_file or 0
  local used = m.usage > cache and m.usage - cache or m.usage
  local rx, tx = 0, 0
  for _, n in pairs(s.networks or {}) do rx, tx = rx + n.rx_bytes, tx + n.tx_bytes end
  local r, w = 0, 0
  for _, b in ipairs(s.blkio_stats.io_service_bytes_recursive or {}) do
    local op = b.op:lower()
    if op == "read" then r = r + b.value elseif op == "write" then w = w + b.value end
  end
  return {
    Container = s.id, ID = s.id, Name = s.name:gsub("^/", ""), CPUPerc = string.format("%.2f%%", cpu),
    MemUsage = binary(used) .. " / " .. binary(m.limit), MemPerc = string.format("%.2f%%", m.limit > 0 and used / m.limit * 100 or 0),
    NetIO = fmt.size(rx) .. " / " .. fmt.size(tx), BlockIO = fmt.size(r) .. " / " .. fmt.size(w), PIDs = tostring(s.pids_stats.current or 0),
  }
end

local default_format = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
local header = { Container = "CONTAINER", ID = "CONTAINER ID", Name = "NAME", CPUPerc = "CPU %", MemUsage = "MEM USAGE / LIMIT",
  MemPerc = "MEM %", NetIO = "NET I/O", BlockIO = "BLOCK I/O", PIDs = "PIDS" }

return {
  summary = "Display a live stream of container resource usage statistics",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("stats", args, spec)
    if not o then return pos or 125 end
    local refs = pos
    if #refs == 0 then
      for _, c in ipairs(bocker.container.list()) do
        if o.all or c.running then refs[#refs + 1] = c.id end
      end
    end
    local prev, status = {}, 0
    local function sample()
      local rows = {}
      for _, ref in ipairs(refs) do
        local s, err = bocker.container.stats(ref)
        if s then
          rows[#rows + 1] = row(s, prev[ref])
          prev[ref] = s
        elseif #pos > 0 then
          status = cli.fail(1, "stats", err)
          return nil
        end
      end
      return rows
    end
    if not sample() then return status end
    bocker.sleep(o.no_stream and 1 or 0.5)
    while true do
      local rows = sample()
      if not rows then return status end
      if not o.no_stream then io.stdout:write("\27[2J\27[H") end
      local ok, err = fmt.formatted(o.format or default_format, rows, header)
      if not ok then return cli.fail(125, "stats", err) end
      io.stdout:flush()
      if o.no_stream then return status end
      bocker.sleep(1)
    end
  end,
}
