-- bocker port CONTAINER [PRIVATE_PORT[/PROTO]]: its published ports
local cli = require "bocker.cli"
local usage = "bocker port CONTAINER [PRIVATE_PORT[/PROTO]]"
return {
  summary = "List port mappings of a container",
  usage = usage,
  flags = {},
  run = function(args)
    local o, pos = cli.parse("port", args, {})
    if not o then return pos or 125 end
    if #pos < 1 or #pos > 2 then return cli.usage_error("port", usage, '"port" requires 1 or 2 arguments') end
    local c, err = bocker.container.get(pos[1])
    if not c then return cli.fail(1, "port", err) end
    local want_port, want_proto
    if pos[2] then
      want_port, want_proto = pos[2]:match("^(%d+)/?(%a*)$")
      if not want_port then return cli.fail(1, "port", "invalid port: %s", pos[2]) end
      want_port = tonumber(want_port)
      if want_proto == "" then want_proto = "tcp" end
    end
    local found = false
    for _, p in ipairs(((c.state or {}).net or {}).ports or {}) do
      local proto = p.proto or "tcp"
      if not want_port then
        print(string.format("%d/%s -> %s:%d", p.container_port, proto, p.host_ip or "0.0.0.0", p.host_port))
        found = true
      elseif p.container_port == want_port and proto == want_proto then
        print(string.format("%s:%d", p.host_ip or "0.0.0.0", p.host_port))
        found = true
      end
    end
    if pos[2] and not found then
      return cli.fail(1, "port", "No public port '%s' published for %s", pos[2], pos[1])
    end
    return 0
  end,
}
