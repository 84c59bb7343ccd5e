-- bocker cp: files between a container and the host, either way
-- (CONTAINER:PATH on one side; `-` for a tar stream on stdin/stdout).
local cli = require "bocker.cli"
local usage = "bocker cp [-a] [-L] CONTAINER:SRC_PATH DEST_PATH|-\n       bocker cp [-a] [-L] SRC_PATH|- CONTAINER:DEST_PATH"
local spec = {
  { long = "archive", short = "a", kind = "bool", help = "Keep the files' uid/gid (else root's in the container)" },
  { long = "follow-link", short = "L", kind = "bool", help = "Follow a symlink at the source in the container" },
}

-- "name:/path" -> "name", "/path"; a local path (with a / before any :) -> nil
local function split(arg)
  local c, p = arg:match("^([^/:][^/:]*):(.*)$")
  if c and p then return c, p ~= "" and p or "/" end
end

return {
  summary = "Copy files between a container and the host",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("cp", args, spec)
    if not o then return pos or 125 end
    if #pos ~= 2 then return cli.usage_error("cp", usage, '"cp" requires exactly 2 arguments') end
    local sc, sp = split(pos[1])
    local dc, dp = split(pos[2])
    if sc and dc then return cli.fail(1, "cp", "copying between containers is not supported") end
    if not sc and not dc then return cli.fail(1, "cp", "must specify at least one container source") end
    if sc then
      if o.follow_link then
        local st = bocker.container.archive_stat(sc, sp)
        if st and st.linkTarget ~= "" then sp = st.linkTarget end
      end
      local ok, err = bocker.container.copy_out(sc, sp, pos[2])
      if not ok then return cli.fail(1, "cp", err) end
      return 0
    end
    local src = pos[1]
    local ok, err = bocker.container.copy_in(dc, src, dp, { archive = o.archive })
    if not ok then return cli.fail(1, "cp", err) end
    return 0
  end,
}
