-- bocker help [VERB]: every verb, built-in and user, with its summary.
-- The list takes built-in summaries from the binary (read at build time)
-- and loads only user verbs, so `bocker help` compiles no other verb.

local function verb_help(name)
  local flags = require "bocker.flags"
  local v, err = bocker.verbs.load(name)
  if not v then
    io.stderr:write("bocker help: ", err, "\nSee 'bocker help'.\n")
    return 125
  end
  io.stdout:write("Usage: ", v.usage or ("bocker " .. name), "\n\n", v.summary or "", "\n")
  if v.flags and #v.flags > 0 then io.stdout:write("\nOptions:\n", flags.help(v.flags), "\n") end
  if v.help then io.stdout:write("\n", v.help, "\n") end
  return 0
end

return {
  summary = "Show the verbs, or how to use one",
  usage = "bocker help [VERB]",
  run = function(args)
    if args[1] then return verb_help(args[1]) end
    local rows, width = {}, 0
    for _, v in ipairs(bocker.verbs.list()) do
      local summary = v.summary
      if not summary then
        local ok, mod = pcall(bocker.verbs.load, v.name)
        summary = (ok and mod and mod.summary) or "(does not load)"
      end
      if v.source ~= "builtin" then summary = summary .. "  [" .. v.source .. "]" end
      rows[#rows + 1] = { v.name, summary }
      if #v.name > width then width = #v.name end
    end
    local out = {
      "bocker " .. bocker.version .. ": containers, with verbs written in Lua",
      "",
      "Usage:",
      "  bocker VERB [ARGS...]        run a verb",
      "  bocker                       Lua REPL (reads a script from stdin when not a terminal)",
      "  bocker script FILE.lua [ARGS...]",
      "",
      "Verbs:",
    }
    for _, r in ipairs(rows) do
      out[#out + 1] = "  " .. r[1] .. string.rep(" ", width - #r[1] + 3) .. r[2]
    end
    out[#out + 1] = ""
    out[#out + 1] = "Run 'bocker help VERB' for a verb's flags. Add verbs as NAME.lua in ~/.config/bocker/verbs or $BOCKER_VERBS."
    io.stdout:write(table.concat(out, "\n"), "\n")
    return 0
  end,
}
