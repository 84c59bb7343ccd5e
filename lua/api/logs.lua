-- GET /containers/{id}/logs: the log as Docker streams it, each chunk in
-- a multiplexed frame (stdout 1, stderr 2), or raw for a container with a
-- terminal.
local api = require "bocker.api"

local frame_code = { stdout = 1, stderr = 2 }

-- Docker names the multiplexed stream so from API 1.42 on; before, the
-- type says raw-stream whatever the framing (clients go by the Tty)
local function content_type(req, tty)
  local major, minor = req.path:match("^/v(%d+)%.(%d+)/")
  local recent = not major or tonumber(major) > 1 or tonumber(minor) >= 42
  if tty or not recent then return "application/vnd.docker.raw-stream" end
  return "application/vnd.docker.multiplexed-stream"
end

return {
  { "GET", "/containers/{id}/logs", function(req, res, p)
    local c = bocker.container.get(p.id)
    if not c then return res:error(404, "No such container: " .. p.id) end
    local q = req.query
    local stdout, stderr = api.flag(q.stdout), api.flag(q.stderr)
    if not stdout and not stderr then
      return res:error(400, "Bad parameters: you must choose at least one stream")
    end
    if c.log and c.log.driver == "none" then
      return res:error(501, "configured logging driver does not support reading")
    end
    local tail
    if q.tail and q.tail ~= "" and q.tail ~= "all" then
      tail = math.tointeger(tonumber(q.tail))
      if not tail then return res:error(400, "invalid tail: " .. q.tail) end
      if tail < 0 then tail = nil end
    end
    -- since/until: Unix seconds, as the engine takes them ("0": not given)
    local times = {}
    for _, k in ipairs { "since", "until" } do
      local v = q[k]
      if v ~= nil and v ~= "" and v ~= "0" then
        local frac = v:match("^%d+%.(%d+)$")
        if not (v:match("^%d+$") or (frac and #frac <= 9)) then
          return res:error(400, string.format("invalid value for %s: %q (Unix seconds)", k, v))
        end
        times[k] = v
      end
    end
    res:status(200)
    res:header("Content-Type", content_type(req, c.tty))
    -- the head now: a follower of a quiet container sees the answer begin
    res:write("")
    local ok, err = bocker.container.logs(c.id, {
      follow = api.flag(q.follow), tail = tail, since = times.since, ["until"] = times["until"],
      timestamps = api.flag(q.timestamps), details = api.flag(q.details), stdout = stdout, stderr = stderr,
      write = function(stream, chunk)
        if c.tty then return res:write(chunk) end
        return res:write(bocker.api_frame(frame_code[stream], chunk))
      end,
    })
    -- the head is out: an error can only end the stream (and be logged)
    if not ok then error(err) end
  end },
}
