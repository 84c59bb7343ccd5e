-- The twin of ./Dockerfile: a C program compiled in a compiler image and
-- shipped alone in a small one.
--   bocker build -t hello examples/multistage
--   bocker build --build-arg GCC_IMAGE=my-gcc:1 examples/multistage
local build = require "bocker.build"
local args = build.args

local gcc = build.stage("build", args.GCC_IMAGE or "gcc:12")
gcc:workdir("/src")
gcc:copy("hello.c", "/src/")
gcc:run("mkdir -p /out && gcc -static -O2 -o /out/hello hello.c", {
  mounts = { { type = "cache", target = "/root/.cache", id = "multistage-gcc" } },
})

local app = build.from(args.BASE_IMAGE or "busybox:latest")
app:copy("/out/hello", "/usr/local/bin/hello", { from = gcc:id() })
app:write("/etc/hello/motd", "built by bocker\n")
app:cmd({ "/usr/local/bin/hello" })
