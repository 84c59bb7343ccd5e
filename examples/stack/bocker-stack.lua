-- The same stack as compose.yaml, in Lua: `bocker up -d -f bocker-stack.lua`.
-- A stack file runs in the restricted Lua of build.lua (no host commands,
-- reads files of this folder only), so loops and functions are allowed.
local image = "busybox:latest"
local function sh(script) return { "sh", "-c", script } end
return {
  name = "demo",
  services = {
    web = {
      image = image,
      command = sh('mkdir -p /www && echo "hello from web" > /www/index.html && exec httpd -f -p 80 -h /www'),
      labels = { tier = "front" },
      volumes = { "site:/data" },
    },
    client = {
      image = image,
      command = sh("sleep 1; wget -qO- http://web/index.html; sleep 3600"),
      depends_on = { "web" },
    },
  },
  volumes = { site = {} },
}
