-- bocker login -u USER [-p PASS | --password-stdin] REGISTRY
local cli = require "bocker.cli"
local spec = {
  { long = "username", short = "u", kind = "string", help = "User name" },
  { long = "password", short = "p", kind = "string", help = "Password" },
  { long = "password-stdin", kind = "bool", help = "Read the password from stdin" },
}
return {
  summary = "Log in to a registry (credentials kept in $BOCKER_ROOT/auth.json)",
  usage = "bocker login -u USER [-p PASS | --password-stdin] REGISTRY",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("login", args, spec)
    if not o then return pos or 125 end
    if #pos ~= 1 or not o.username then
      return cli.usage_error("login", "bocker login -u USER [-p PASS | --password-stdin] REGISTRY")
    end
    local pass = o.password
    if o.password_stdin then pass = (io.read("l") or "") end
    if not pass then return cli.fail(1, "login", "a password is needed (-p or --password-stdin)") end
    local ok, err = bocker.registry.login(pos[1], o.username, pass)
    if not ok then return cli.fail(1, "login", err) end
    print("Login Succeeded")
    return 0
  end,
}
