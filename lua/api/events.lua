-- GET /events: the store's container events as Docker's JSON messages,
-- streamed (until `until`, or for as long as the client stays).
local api = require "bocker.api"

-- "1700000000", "1700000000.123456789" (Docker's clients send both)
local function time_param(v)
  if not v or v == "" then return nil end
  return tonumber(v)
end

local function message(e)
  local attrs = {}
  for k, v in pairs(e.attributes or {}) do attrs[k] = v end
  attrs.name = attrs.name or e.name
  return {
    status = e.action, id = e.id, from = (e.attributes or {}).image,
    Type = e.type, Action = e.action, Actor = { ID = e.id, Attributes = attrs },
    scope = "local", time = e.time_nano // 1000000000, timeNano = e.time_nano,
  }
end

return {
  { "GET", "/events", function(req, res)
    local f, err = api.filters(req)
    if not f then return res:error(400, err) end
    local since, until_ = time_param(req.query.since), time_param(req.query["until"])
    if (req.query.since and req.query.since ~= "" and not since) or (req.query["until"] and req.query["until"] ~= "" and not until_) then
      return res:error(400, "since and until are unix timestamps")
    end
    local iter, ierr = bocker.events.read { since = since or bocker.now(), ["until"] = until_, follow = until_ == nil or until_ > bocker.now(), filter = f, idle = 1 }
    if not iter then return res:error(400, ierr) end
    -- the head goes out now: a client waits for it before it shows anything
    res:header("Content-Type", "application/json")
    res:write("")
    -- `false` after a second without events: a client that went away ends the handler
    for e in iter do
      if e == false then
        if not res:alive() then break end
      elseif not api.stream(res, message(e)) then
        break
      end
    end
  end },
}
