-- What every verb shares: flag parsing with docker's error shape, and
-- one-line failures with an exit status.
local flags = require "bocker.flags"
local M = {}

-- Prints "bocker VERB: message" to stderr and returns code (for `return`).
function M.fail(code, verb, fmt, ...)
  local msg = select("#", ...) > 0 and string.format(fmt, ...) or fmt
  io.stderr:write("bocker ", verb, ": ", tostring(msg), "\n")
  return code
end

-- Parses args for verb; on a bad flag prints the error and the hint to
-- run help and returns nil (the verb then returns 125).
function M.parse(verb, args, spec, how)
  local all = { { long = "help", kind = "bool", help = "Print usage" } }
  for _, f in ipairs(spec) do all[#all + 1] = f end
  local opts, pos = flags.parse(args, all, how)
  if not opts then
    io.stderr:write("bocker ", verb, ": ", pos, "\nSee 'bocker help ", verb, "'.\n")
    return nil
  end
  if opts.help then
    local v = bocker.verbs.load(verb)
    io.stdout:write("Usage: ", (v and v.usage) or ("bocker " .. verb), "\n\n", (v and v.summary) or "", "\n")
    if #spec > 0 then io.stdout:write("\nOptions:\n", flags.help(spec), "\n") end
    return nil, 0
  end
  return opts, pos
end

-- Wrong number of arguments: docker's message and status 125.
function M.usage_error(verb, usage, why)
  io.stderr:write("bocker ", verb, ": ", why or "wrong number of arguments", "\nUsage: ", usage,
    "\nSee 'bocker help ", verb, "'.\n")
  return 125
end

-- For verbs that act on each named container (pause, unpause, wait):
-- parses no flags, refuses an empty list, calls act(ref) for each and
-- prints what it returns; the status is 1 if any failed.
function M.each_container(verb, args, act)
  local o, pos = M.parse(verb, args, {})
  if not o then return pos or 125 end
  if #pos == 0 then
    return M.usage_error(verb, "bocker " .. verb .. " CONTAINER...", '"' .. verb .. '" requires at least 1 argument')
  end
  local status = 0
  for _, ref in ipairs(pos) do
    local out, err = act(ref)
    if out ~= nil then print(out) else status = M.fail(1, verb, err) end
  end
  return status
end

return M
