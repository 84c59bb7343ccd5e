-- bocker image ls|pull|push|rm|tag|inspect|history|save|load|import|build|prune:
-- Docker's `image X` forms, each the verb it names.
local cli = require "bocker.cli"

local verbs = {
  ls = "images", list = "images", pull = "pull", push = "push", rm = "rmi", remove = "rmi", tag = "tag",
  inspect = "inspect", history = "history", save = "save", load = "load", import = "import", build = "build",
}

local usage = "bocker image ls|pull|push|rm|tag|inspect|history|save|load|import|build|prune [ARGS...]"

-- `image prune [-a] [-f]`: dangling images (every unused one with -a)
local function prune(args)
  local spec = {
    { long = "all", short = "a", kind = "bool", help = "Every image no container uses, tagged or not" },
    { long = "force", short = "f", kind = "bool", help = "Do not ask (there is no prompt)" },
  }
  local o, pos = cli.parse("image prune", args, spec)
  if not o then return pos or 125 end
  if #pos > 0 then return cli.usage_error("image prune", usage, '"image prune" accepts no arguments') end
  local images = require "bocker.images"
  local removed = images.prune(o.all)
  if #removed > 0 then print("Deleted Images:") end
  for _, r in ipairs(removed) do print("deleted: " .. r) end
  return 0
end

return {
  summary = "Manage images (ls, pull, push, rm, tag, inspect, history, save, load, import, build, prune)",
  usage = usage,
  flags = {},
  run = function(args)
    local sub = table.remove(args, 1)
    if sub == "prune" then return prune(args) end
    local name = sub and verbs[sub]
    if not name then
      io.stderr:write("bocker image: ", sub and ("unknown command '" .. sub .. "'") or "a command is needed", "\nUsage: ", usage, "\n")
      return 125
    end
    local v, err = bocker.verbs.load(name)
    if not v then return cli.fail(125, "image", err) end
    return v.run(args)
  end,
}
