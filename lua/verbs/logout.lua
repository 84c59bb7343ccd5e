-- bocker logout REGISTRY
local cli = require "bocker.cli"
return {
  summary = "Forget the credentials of a registry",
  usage = "bocker logout REGISTRY",
  flags = {},
  run = function(args)
    local o, pos = cli.parse("logout", args, {})
    if not o then return pos or 125 end
    if #pos ~= 1 then return cli.usage_error("logout", "bocker logout REGISTRY") end
    local ok, err = bocker.registry.logout(pos[1])
    if ok == nil then return cli.fail(1, "logout", err) end
    print(ok and ("Removing login credentials for " .. pos[1]) or ("Not logged in to " .. pos[1]))
    return 0
  end,
}
