---@meta
-- The Lua API of bocker: the `bocker` table (also `require "bocker"`).
-- This file is the reference and LuaLS annotations for editors: point
-- your language server's workspace.library at lua/meta.
--
-- Conventions: expected failures return `nil, err` (a one-line message);
-- misuse (wrong types, unknown keys in a spec table) raises an error.
-- Containers and images cross the boundary as tables holding their id.

---@class bocker
---@field version string bocker's version
bocker = {}

---The store root ($BOCKER_ROOT, default /var/bocker).
---@return string
function bocker.root() end

---Seconds since the epoch (float).
---@return number
function bocker.now() end

---This bocker and its host: `{version, build, kernel, os, platform,
---cgroup_version (1|2), cpus, memory (bytes)}` (what `version` and
---`info` print).
---@return table
function bocker.host() end

---Seconds since the epoch as RFC 3339 UTC ("2026-11-30T04:00:00Z").
---@param seconds number
---@return string
function bocker.rfc3339(seconds) end

---True if file descriptor `fd` (default 1) is a terminal.
---@param fd? integer
---@return boolean
function bocker.isatty(fd) end

---@param seconds number
function bocker.sleep(seconds) end

bocker.signals = {}
---From now on these signals ("INT", "TERM", "HUP") only set a flag instead
---of ending the process, so a polling loop can undo what it started (the
---Dockerfile scheduler kills its RUN containers and removes its images).
---@param names string[]
function bocker.signals.trap(names) end
---The last trapped signal that arrived ("INT", "TERM", "HUP"), or nil.
---@return string|nil
function bocker.signals.caught() end

bocker.json = {}
---@param v any
---@return string
function bocker.json.encode(v) end
---@param s string
---@return any
function bocker.json.decode(s) end

---The current working directory (a stack file's default folder).
---@return string|nil cwd, string|nil err
function bocker.cwd() end

bocker.yaml = {}
---Stands for a YAML `null` (`KEY:` with no value) inside decoded tables.
bocker.yaml.null = nil
---Reads the first document of a YAML text (YAML 1.2, by yaml-rust2):
---mappings become tables with string keys, sequences lists, `<<` merge keys
---are applied, anchors resolved, `null` is `bocker.yaml.null`. A syntax
---error gives nil and "line L, column C: what".
---@param text string
---@return table|nil doc, string|nil err
function bocker.yaml.decode(text) end
---Marks a table as a list: `bocker.json.encode` and the API's JSON then
---write `[]` for it when empty (the API writes other empty tables as `{}`).
---@param t? table
---@return table
function bocker.json.array(t) end

---Serves the Docker Engine API on a unix socket (default
---/run/bocker/docker.sock) until killed; nil, err if the socket is taken.
---@param socket? string
---@return boolean|nil ok, string? err
function bocker.serve_api(socket) end

---The API's route files: `{ builtin = {"containers", ...}, user = {PATH...} }`.
---@return table
function bocker.api_files() end

---`data` in the Docker API's multiplexed stream framing (what logs, attach
---and exec without a terminal send): an 8-byte header per frame.
---@param stream integer 0 stdin, 1 stdout, 2 stderr
---@param data string
---@return string
function bocker.api_frame(stream, data) end

bocker.template = {}
---Renders a Go text/template (Docker's `--format` language: fields
---`{{.State.Pid}}`, pipelines, if/else/range/with, variables, and the
---functions json, join, split, lower, upper, title, truncate, pad, len,
---index, slice, print, printf, println, eq, ne, lt, le, gt, ge, and, or,
---not) over a value. Parse errors name what is wrong; nothing is printed.
---`lua/lib/fmt.lua` `formatted(format, rows, header)` adds `json`,
---`table TEMPLATE` and `\t`/`\n` escapes as the docker CLI reads them.
---@param src string
---@param value any
---@return string|nil text, string? err
function bocker.template.render(src, value) end
---Checks a template without running it.
---@param src string
---@return boolean|nil ok, string? err
function bocker.template.check(src) end

---------------------------------------------------------------- verbs
bocker.verbs = {}

---@class bocker.VerbInfo
---@field name string
---@field source string "builtin" or the path of the user's file
---@field summary string|nil a built-in verb's summary (read when the binary was built)

---Every verb, user and built-in, sorted by name.
---@return bocker.VerbInfo[]
function bocker.verbs.list() end

---Loads a verb module: `{ summary, usage, flags?, run = function(args) }`.
---@param name string
---@return table|nil verb, string|nil err
function bocker.verbs.load(name) end

---------------------------------------------------------------- images
bocker.image = {}

---@class bocker.ImageConfig
---@field entrypoint? string[]
---@field cmd? string[]
---@field env? string[]
---@field working_dir? string
---@field user? string
---@field exposed_ports? string[]
---@field volumes? string[]
---@field labels? table<string,string>

---@class bocker.Image
---@field id string `img_…`
---@field source string where it came from (`centos:7`, or a folder)
---@field tags string[] `NAME:TAG` names
---@field created number
---@field layers string[] layer ids, bottom first
---@field config bocker.ImageConfig
---@field size integer bytes
---@field parent? string
---@field history table[]

---Makes a one-layer image from a root filesystem folder.
---@param dir string
---@return bocker.Image|nil, string|nil err
function bocker.image.init(dir) end

---@return bocker.Image[]
function bocker.image.list() end

---By id, NAME[:TAG] or unique id prefix.
---@param ref string
---@return bocker.Image|nil, string|nil err
function bocker.image.get(ref) end

---The image's layers: `{ id, size, diff_id?, digest? }`, bottom first.
---@param ref string
---@return table[]|nil, string|nil err
function bocker.image.layers(ref) end

---@param ref string
---@param name string NAME[:TAG]
---@return bocker.Image|nil, string|nil err
function bocker.image.tag(ref, name) end

---Takes the name NAME[:TAG] off its image; the image stays with its other
---names (`rmi` of a name among others, as Docker's).
---@param name string
---@return bocker.Image|nil, string|nil err "No such image: NAME"
function bocker.image.untag(name) end

---Removes an image and the layers no other image or container uses.
---@param ref string
---@param opts? { force?: boolean }
---Untagged parents nothing else needs (build steps) go too (`parents`).
---@return { id: string, layers: string[], parents: string[] }|nil, string|nil err
function bocker.image.remove(ref, opts) end

---------------------------------------------------------------- containers
bocker.container = {}

---@class bocker.Mount
---@field type "bind"|"volume"|"tmpfs"
---@field source string host path, volume name, or "" for tmpfs
---@field target string absolute path in the container
---@field readonly? boolean
---@field options? string tmpfs options, e.g. "size=64m" (`--tmpfs` gives Docker's merged list: "noexec,nosuid,nodev,size=64m")
---@field create_source? boolean a bind whose missing host folder is made at create (what `-v` sets, as Docker's Binds; `--mount` does not)

---@class bocker.CreateSpec
---@field image string id, NAME[:TAG] or prefix
---@field cmd? string[] replaces the image's Cmd
---@field entrypoint? string[] replaces the image's Entrypoint (and resets Cmd)
---@field name? string
---@field env? string[] K=V
---@field workdir? string
---@field hostname? string default: the container id
---@field user? string name or uid[:gid]
---@field tty? boolean
---@field interactive? boolean
---@field stdin_once? boolean close stdin when the first attached client's stdin ends (Docker's StdinOnce; `run -i` without `-d` sets it)
---@field rm? boolean remove when it exits
---@field cpu_shares? integer default $BOCKER_CPU_SHARE or 512
---@field memory? integer bytes, default $BOCKER_MEM_LIMIT MB or 512 MB; 0 or -1: no limit
---@field pids_limit? integer
---@field mounts? bocker.Mount[]
---@field network? string `bridge`, `none`, `host`, `container:NAME` (its network namespace; it must run) or a user network's name
---@field networks? { name: string, aliases?: string[], ip?: string }[] user networks (after `network`, if that names one); the first is the primary: eth0, published ports, default route
---@field add_hosts? string[] `NAME:IP` lines for /etc/hosts (`NAME:host-gateway`: the network's gateway)
---@field dns? string[] nameservers (on a user network: where the responder forwards other names)
---@field dns_search? string[] search domains for resolv.conf
---@field ports? string[] `[IP:]HOST:CTR[/udp]`
---@field bridge? string bridge for this container (default $BOCKER_BRIDGE or bridge0)
---@field subnet? string its subnet (default $BOCKER_SUBNET or 10.0.0.0/24)
---@field publish_all? boolean
---@field privileged? boolean all capabilities and host devices, no masked paths, /sys writable, no seccomp
---@field cap_add? string[] capability names (`NET_ADMIN`, `CAP_SYS_TIME`, `ALL`) added to Docker's default set
---@field cap_drop? string[] capability names (or `ALL`) dropped before cap_add applies
---@field security_opt? string[] `seccomp=unconfined`, `seccomp=PROFILE.json` (Docker's format), `no-new-privileges[=true|false]`
---@field read_only? boolean mount the root filesystem read-only
---@field devices? string[] `HOST[:CONTAINER][:rwm]` host devices to add
---@field labels? table<string, string> merged over the image's LABELs
---@field restart? string `no`|`on-failure[:N]`|`always`|`unless-stopped` (the monitor restarts the process with Docker's backoff; not with `rm`)
---@field healthcheck? bocker.HealthcheckSpec merged over the image's HEALTHCHECK, field by field
---@field no_healthcheck? boolean no health check, not even the image's
---@field init? boolean pid 1 is a tiny init: it reaps orphans and forwards signals to the command
---@field stop_signal? string what `stop` sends (`SIGINT`, `15`); default the image's STOPSIGNAL, else SIGTERM
---@field stop_timeout? integer seconds `stop` waits before SIGKILL (default 10)
---@field ulimits? { name: string, soft: integer, hard: integer }[] rlimits (Docker's names: nofile, nproc, core, memlock, stack, …; -1 unlimited), exec'd processes too
---@field shm_size? integer bytes of /dev/shm (0 or absent: 64 MiB)
---@field sysctls? table<string, string> only namespaced ones: `net.*` (not with the host's network), `kernel.shm*`/`kernel.msg*`/`kernel.sem`/`fs.mqueue.*` (only with an ipc namespace of its own)
---@field cpus? number CPUs of CFS quota (Docker's NanoCpus / 1e9): 0.5 = 50 ms per 100 ms
---@field cpuset_cpus? string CPUs it may run on: "0-1", "0,2"
---@field memory_swap? integer memory + swap in bytes (-1 unlimited swap; absent: as much swap again as memory)
---@field memory_reservation? integer bytes of memory soft limit (v1 memory.soft_limit_in_bytes, v2 memory.low)
---@field group_add? string[] more supplementary groups: names in the image's /etc/group, or numbers (exec'd processes too)
---@field ipc? "private"|"shareable"|"host"|string `container:NAME` joins a running container's ipc namespace (it must be `shareable` or `host`)
---@field pid? "host"|string `container:NAME`: a running container's pid namespace
---@field uts? "host" the host's uts namespace and name (not with `hostname`)
---@field log? bocker.LogConfig what the monitor keeps of the output (default: json-file, no rotation)

---Limits `bocker.container.update` changes (an absent key: unchanged).
---@class bocker.UpdateSpec
---@field memory? integer bytes (at least 6 MB); -1 unlimited; 0 unchanged
---@field memory_swap? integer memory + swap bytes; -1 unlimited
---@field memory_reservation? integer bytes
---@field cpu_shares? integer
---@field cpus? number 0 removes the quota
---@field cpuset_cpus? string
---@field pids_limit? integer 0 or less: unlimited
---@field restart? string `no`|`on-failure[:N]`|`always`|`unless-stopped` (not for an `rm` container)

---A container's log settings (`--log-driver`/`--log-opt`; `require("bocker.logopts").spec(driver, opts)` makes one from Docker's names). Unknown keys are an error.
---@class bocker.LogConfig
---@field driver? "json-file"|"local"|"k8s-file"|"none" the first three keep the same file (`local`: 20 MB, 5 files unless told); `none` keeps nothing
---@field max_size? integer bytes: the file is rotated before it would grow past them
---@field max_file? integer files kept, the one written included (1: the file starts over); more than 1 needs max_size (but for `local`)
---@field labels? string[] label names `logs --details` shows before each line
---@field env? string[] environment variable names `logs --details` shows
---@field tag? string kept (Docker's `tag` log option), not shown

---A health check in a create spec: times in seconds.
---@class bocker.HealthcheckSpec
---@field test? string[] `{"CMD", argv...}`, `{"CMD-SHELL", "command"}` or `{"NONE"}`
---@field interval? number default 30
---@field timeout? number default 30
---@field retries? integer failures in a row that make it unhealthy (default 3)
---@field start_period? number failures before then do not count (default 0)

---Docker's `State.Health`: the last 5 results (output up to 4 KiB each; times in seconds).
---@class bocker.Health
---@field status "starting"|"healthy"|"unhealthy"
---@field failing_streak integer
---@field log { start: number, ["end"]: number, exit_code: integer, output: string }[]

---@class bocker.Security
---@field privileged? boolean
---@field cap_add? string[] normalized `CAP_…` names
---@field cap_drop? string[]
---@field seccomp { mode: "default"|"unconfined"|"profile", json?: string }
---@field no_new_privileges? boolean
---@field read_only? boolean
---@field devices? { host: string, container: string, permissions: string }[]

---@class bocker.Container
---@field id string `ps_…`
---@field name? string
---@field image string image id
---@field image_ref string what the user called the image
---@field args string[] the argv it runs
---@field env string[]
---@field workdir string
---@field hostname string
---@field limits { cpu_shares: integer, memory: integer, pids?: integer, memory_swap?: integer, memory_reservation?: integer, nano_cpus?: integer, cpuset_cpus?: string }
---@field ulimits? { name: string, soft: integer, hard: integer }[]
---@field shm_size? integer bytes of /dev/shm (absent: 64 MiB)
---@field sysctls? table<string, string>
---@field group_add? string[]
---@field ipc? string `shareable`, `host` or `container:ID` (absent: private)
---@field pid? string `host` or `container:ID` (absent: its own)
---@field uts? string `host` (absent: its own)
---@field mounts bocker.Mount[]
---@field security bocker.Security how it is confined
---@field created number
---@field running boolean
---@field paused boolean running with its cgroup frozen (`pause`)
---@field labels table<string, string> the image's LABELs with the create spec's over them
---@field restart string the restart policy (`no`, `on-failure:3`, `always`, `unless-stopped`)
---@field restart_count integer how often its monitor ran it again (Docker's RestartCount)
---@field health? "starting"|"healthy"|"unhealthy" while it runs with a health check
---@field user_stopped boolean the user stopped or killed it (no restart; `start --restartable` skips it if `unless-stopped`)
---@field healthcheck? bocker.Healthcheck the check it runs (nanoseconds)
---@field init? boolean
---@field stop_signal? string
---@field stop_timeout? integer
---@field log? bocker.LogConfig absent: the default (json-file, no rotation)
---@field state { status: "created"|"running"|"exited"|"restarting", pid?: integer, monitor_pid?: integer, started?: number, finished?: number, exit_code?: integer, error?: string, net?: table, oom_killed: boolean, restart_count: integer, health?: bocker.Health }

---A container's OCI runtime-spec configuration (what `config.json` of its bundle holds).
---@param ref string id, name or prefix
---@return table|nil spec, string|nil err
function bocker.container.spec(ref) end

---Writes the container as an OCI bundle: `dir/config.json` and `dir/rootfs` (its image's layers and its changes, flattened). `dir` must be missing or empty.
---@param ref string
---@param dir string
---@return string|nil config_path, string|nil err
function bocker.container.bundle(ref, dir) end

---Creates a container record (nothing runs yet).
---@param spec bocker.CreateSpec
---@return bocker.Container|nil, string|nil err
function bocker.container.create(spec) end

---Starts a created (or exited: it runs again on the same root filesystem)
---container; refused while it runs. Foreground: waits and returns its exit
---status (output goes to the terminal and the log). `detach`: returns 0
---once it runs, or its failure status and message. `monitor`: one from
---`bocker.container.monitor()`, told which container to run (else a
---monitor is started now).
---@param id string
---@param opts? { detach?: boolean, monitor?: bocker.PendingMonitor }
---@return integer|nil status, string|nil err
function bocker.container.start(id, opts) end

---@class bocker.PendingMonitor a monitor process started ahead of its container

---Starts a container's monitor before the container exists, so that its
---exec and start run on another CPU while the caller creates the container
---(`bocker run` does); hand it to `start` as `monitor`. Used once; dropped
---unused, it ends. nil where it cannot be used: in a process with other
---threads, or in the API service.
---@return bocker.PendingMonitor|nil
function bocker.container.monitor() end

---@param ref string id, name or unique prefix
---@return bocker.Container|nil, string|nil err
function bocker.container.get(ref) end

---New limits for a container, created, running or exited: a running one's
---cgroup changes at once (v1 and v2), and the record keeps them for its
---next start or restart; a new restart policy is seen by its monitor when
---the process next exits. A bad value changes nothing. Unknown keys raise.
---@param ref string id, name or unique prefix
---@param limits bocker.UpdateSpec
---@return string|nil id, string|nil err
function bocker.container.update(ref, limits) end

---@return bocker.Container[]
function bocker.container.list() end

---Runs a command in a running container (all its namespaces and cgroup).
---With `conn` (a handle from `res:hijack()`), the command runs on that
---connection (an exec instance is recorded: `exec_get`), its output framed
---unless `tty`, the connection's input as its stdin with `interactive`.
---@param ref string
---@param spec { args: string[], env?: string[], workdir?: string, user?: string, tty?: boolean, interactive?: boolean, conn?: bocker.Conn }
---@return integer|nil status, string|nil err
function bocker.container.exec(ref, spec) end

---A hijacked API connection (`res:hijack{tty}` in a route): used up by
---`bocker.container.attach`, `exec` (`spec.conn`) or `exec_start`.
---@class bocker.Conn
local Conn = {}
---Writes output: a multiplexed frame of `stream` ("stdout" by default,
---"stderr"), raw for a tty connection; false once the client is gone.
---@param data string
---@param stream? "stdout"|"stderr"
---@return boolean
function Conn:write(data, stream) end
---Ends the connection.
function Conn:close() end
---Whether it is still held (not used up or closed).
---@return boolean
function Conn:open() end

---@class bocker.AttachOpts
---@field stdin? boolean attach stdin (it reaches a container created with `interactive`)
---@field stdout? boolean default true
---@field stderr? boolean default true
---@field detach_keys? string Docker's syntax (default "ctrl-p,ctrl-q"; "" none)
---@field start? boolean start the container (detached) once attached: `run -a`, `start -a`
---@field wait? boolean wait for a container that does not run to start (default true; false: refused)
---@field sig_proxy? boolean bocker's terminal only: forward signals to the container (no tty; default true)

---Attaches to a container through its monitor's socket: with `conn`, the
---API client (returns "ended"|"detached"|"gone"|"removed" and the exit
---status when it ended); without, bocker's own terminal (raw mode with a
---tty, the window size followed; returns the container's exit status, 0
---after a detach). Failures: nil, err, status (the HTTP status: 404 no
---such container, 409 not running without `wait`, 400 bad detach keys;
---with `start`, the start's failure status, e.g. 127).
---@param ref string
---@param conn bocker.Conn|nil
---@param opts? bocker.AttachOpts
---@return string|integer|nil outcome_or_status, integer|string|nil code_or_err, integer|nil status
function bocker.container.attach(ref, conn, opts) end

---Sets the size of a running container's terminal (its monitor's pty).
---@param ref string
---@param rows integer
---@param cols integer
---@return boolean|nil, string|nil err, integer|nil status
function bocker.container.resize(ref, rows, cols) end

---@class bocker.Exec
---@field id string 64 hex digits
---@field container string
---@field args string[]
---@field env string[]
---@field workdir? string
---@field user? string
---@field tty boolean
---@field attach_stdin boolean
---@field attach_stdout boolean
---@field attach_stderr boolean
---@field detach_keys? string
---@field started boolean
---@field running boolean
---@field pid? integer the exec'd process as the host sees it
---@field exit_code? integer

---Records an exec instance of a running container (the API's
---`POST /containers/{id}/exec`); it runs with `exec_start`. Unknown keys are an error.
---@param ref string
---@param spec { args: string[], env?: string[], workdir?: string, user?: string, tty?: boolean, attach_stdin?: boolean, attach_stdout?: boolean, attach_stderr?: boolean, detach_keys?: string }
---@return bocker.Exec|nil, string|nil err, integer|nil status
function bocker.container.exec_create(ref, spec) end

---@param id string
---@return bocker.Exec|nil, string|nil err, integer|nil status
function bocker.container.exec_get(id) end

---The exec ids of a container.
---@param ref string
---@return string[]|nil, string|nil err
function bocker.container.exec_list(ref) end

---Runs an exec instance once: with `conn` relayed to it until the process
---ends ("ended", exit code), the client detaches or goes ("detached",
---"gone": the process runs on, its exit recorded); without, detached.
---@param id string
---@param opts? { conn?: bocker.Conn, detach_keys?: string }
---@return string|nil outcome, integer|string|nil code_or_err, integer|nil status
function bocker.container.exec_start(id, opts) end

---Sets the terminal size of an exec with a tty that this process runs.
---@param id string
---@param rows integer
---@param cols integer
---@return boolean|nil, string|nil err, integer|nil status
function bocker.container.exec_resize(id, rows, cols) end

---@class bocker.LogOpts
---@field follow? boolean go on while the container runs
---@field tail? integer only the last N lines (of the streams and times asked for)
---@field since? string|number leave out lines before: a duration back from now (`10m`), an RFC 3339 time, a date, Unix seconds (a number or a string)
---@field until? string|number leave out lines after (as since; a follower stops there)
---@field stdout? boolean default true
---@field stderr? boolean default true

---Writes the container's log: stdout lines to bocker's stdout, stderr lines
---to its stderr, or each piece to `write(stream, chunk)` (a line, or a part
---of one that has no newline yet; with `timestamps`/`details` its prefixes
---where a line starts). `write` returning false stops the reading; while a
---follower waits on a quiet container, `write` is called each second with
---an empty chunk, so it can say its reader is gone. Fails (nil, err) for a
---container whose driver is `none`: "configured logging driver does not
---support reading".
---@param ref string
---@param opts? bocker.LogOpts|{ timestamps?: boolean, details?: boolean, write?: fun(stream: "stdout"|"stderr", chunk: string): boolean? }
---@return boolean|nil, string|nil err
function bocker.container.logs(ref, opts) end

---@class bocker.LogLine
---@field stream "stdout"|"stderr"
---@field line string without its newline (a line written in parts comes whole)
---@field time string when it began, RFC 3339 UTC with nine digits (`2026-11-30T07:04:01.123456789Z`)

---A container's log line by line: an iterator `it([timeout])`. Each call
---gives the next line as a `bocker.LogLine`, nil at the end (all read; with
---`follow`, once the container no longer runs), or — with `follow` and a
---timeout in seconds (0: only look) — false when no line came in that
---time. In a generic `for` it blocks; several containers are read side by
---side by polling each with `it(0)` (what `bocker stack logs -f` does):
---
---```lua
---local its = { bocker.container.log_lines("web", { follow = true }), bocker.container.log_lines("db", { follow = true }) }
---while #its > 0 do
---  for i = #its, 1, -1 do
---    local e = its[i](0)
---    if e == nil then table.remove(its, i) elseif e then print(e.stream, e.line) end
---  end
---  bocker.sleep(0.05)
---end
---```
---@param ref string
---@param opts? bocker.LogOpts
---@return (fun(timeout?: number): bocker.LogLine|false|nil)|nil, string|nil err
function bocker.container.log_lines(ref, opts) end

---@param ref string
---@param signal? string|integer name (KILL, TERM, SIGHUP) or number; default KILL
---@return string|nil id, string|nil err
function bocker.container.kill(ref, signal) end

---The stop signal (`stop_signal`, the image's STOPSIGNAL, else SIGTERM),
---then SIGKILL after `timeout` seconds (default: `stop_timeout`, else 10).
---A stop (or `kill`) by the user is never followed by a restart.
---@param ref string
---@param timeout? number
---@return string|nil id, string|nil err
function bocker.container.stop(ref, timeout) end

---Freezes every process of a running container (cgroup freezer; returns
---once all are stopped). `get`/`list` show it as `paused = true`.
---@param ref string
---@return string|nil id, string|nil err
function bocker.container.pause(ref) end

---Thaws a paused container.
---@param ref string
---@return string|nil id, string|nil err
function bocker.container.unpause(ref) end

---Waits for the container to exit; returns its exit code.
---@param ref string
---@param timeout? number seconds
---@return integer|nil code, string|nil err
function bocker.container.wait(ref, timeout) end

---Removes a container (a running one only with force, killed first).
---@param ref string
---@param opts? { force?: boolean, volumes?: boolean } `volumes`: also its anonymous volumes
---@return string|nil id, string|nil err
function bocker.container.remove(ref, opts) end

---Repairs what killed commands left in the store (what `prune` runs
---first): containers whose monitor is gone, a freeze left by a killed
---commit, record-less reservations and names, staging leftovers, leases
---of removed containers, layers no record names.
---@return string[]|nil repaired what was repaired, one line each
---@return string|nil err
function bocker.container.repair() end

---Renames a container (the new name is claimed before the old one is
---released; a leading `/` is dropped).
---@param ref string
---@param name string
---@return string|nil id, string|nil err
function bocker.container.rename(ref, name) end

---The container's processes as the host's `ps` shows them (`ps_args`
---as argv, default `-ef`), only the rows whose PID is in its cgroup.
---@param ref string
---@param ps_args? string[]
---@return { Titles: string[], Processes: string[][] }|nil top, string|nil err
function bocker.container.top(ref, ps_args) end

---One sample of the container's resource use from its cgroup (v1 or v2)
---and its network namespace, in Docker's stats field names: `id`, `name`,
---`cpu_stats` (`cpu_usage.total_usage` ns, `system_cpu_usage`,
---`online_cpus`, `throttling_data`), `memory_stats` (`usage`, `max_usage`,
---`limit`, `stats`), `pids_stats`, `blkio_stats`, `networks`. A stopped
---container's sample is zeros.
---@param ref string
---@return table|nil sample, string|nil err
function bocker.container.stats(ref) end

---What the container changed in its filesystem (its overlay's upper
---dir): `{ Path = "/etc/x", Kind = 0|1|2 }` (changed, added, deleted),
---sorted by path.
---@param ref string
---@return { Path: string, Kind: integer }[]|nil changes, string|nil err
function bocker.container.changes(ref) end

---Bytes the container's own changes take (`rw`) and with its image's
---(`root_fs`).
---@param ref string
---@return { rw: integer, root_fs: integer }|nil size, string|nil err
function bocker.container.size(ref) end

---The stat of a path in the container, its last component not followed
---(Docker's ContainerPathStat): `name`, `size`, `mode` (Go's FileMode
---bits), `mtime`, `linkTarget` (absolute, inside the container), `is_dir`,
---and `header`: the value of X-Docker-Container-Path-Stat. Paths resolve
---inside the container's root (running or not); nothing leaves it.
---@param ref string
---@param path string
---@return table|nil stat, string|nil err
function bocker.container.archive_stat(ref, path) end

---Writes a tar of a path in the container, chunk by chunk, to
---`write(chunk)` (which returns false to stop: the reader left). Symlinks
---are stored, never followed; a running container's /proc and /sys are
---not walked.
---@param ref string
---@param path string
---@param write fun(chunk: string): boolean?
---@return table|nil stat, string|nil err the path's stat, as archive_stat
function bocker.container.archive_get(ref, path, write) end

---Extracts a tar (plain or compressed) into the directory `path` of the
---container, which must exist: every entry stays inside that directory
---(no `..`, no symlink followed out of it), files are root's unless
---`copy_uid_gid`; `no_overwrite_dir_non_dir` refuses an entry that
---replaces a directory by a file or the reverse.
---@param ref string
---@param path string
---@param tar string
---@param opts? { copy_uid_gid?: boolean, no_overwrite_dir_non_dir?: boolean }
---@return true|nil ok, string|nil err
function bocker.container.archive_put(ref, path, tar, opts) end

---`cp CONTAINER:SRC DEST`: copies a path of the container to the host,
---with Docker's rules (an existing directory receives it under its own
---name, `SRC/.` its contents); DEST `-` writes a tar to stdout.
---@param ref string
---@param src string a path in the container
---@param dest string a host path, or "-"
---@return true|nil ok, string|nil err
function bocker.container.copy_out(ref, src, dest) end

---`cp SRC CONTAINER:DEST`: copies a host path (or, for `-`, a tar read
---from stdin) into the container; root's files unless `archive`.
---@param ref string
---@param src string a host path, or "-"
---@param dest string a path in the container
---@param opts? { archive?: boolean }
---@return true|nil ok, string|nil err
function bocker.container.copy_in(ref, src, dest, opts) end

---The limits a container gets without flags (from BOCKER_CPU_SHARE and
---BOCKER_MEM_LIMIT).
---@return { cpu_shares: integer, memory: integer }|nil, string|nil err
function bocker.container.default_limits() end

---Pulls an image from its registry into the store. `progress` gets event
---tables: `{event="resolved", manifest_digest, layers}`,
---`{event="layer_cached"|"layer_started"|"layer_bytes"|"layer_extracting"|"layer_done", index, ...}`.
---@param ref string `busybox`, `NAME:TAG`, `NAME@sha256:…`, `HOST[:PORT]/PATH:TAG`
---`auth`: credentials for this pull only (the API's X-Registry-Auth), tried
---before the stored ones.
---@param opts? { platform?: string, progress?: fun(event: table), auth?: { username: string, password: string } }
---@return bocker.Image|nil, string|nil err
function bocker.image.pull(ref, opts) end

---------------------------------------------------------------- builds

---@class bocker.ConfigChanges
---@field cmd? string[] an empty list clears it
---@field entrypoint? string[] an empty list clears it
---@field env? string[] `K=V`, merged over the image's
---@field workdir? string relative to the current one unless absolute
---@field user? string
---@field expose? string[] `80`, `80/tcp`, `53/udp`
---@field labels? table<string,string>
---@field volumes? string[]
---@field stop_signal? string STOPSIGNAL; "" clears it
---@field healthcheck? bocker.Healthcheck
---@field onbuild? string[] the whole ONBUILD list (replaces the image's)
---@field shell? string[] SHELL; an empty list clears it

---@class bocker.events
bocker.events = {}

---A container event: `action` is `start`, `die` (attributes.exitCode),
---`restart` or `health_status: healthy|unhealthy|starting`; attributes
---hold image, name and the container's labels.
---@class bocker.Event
---@field time number seconds since the epoch
---@field time_nano integer
---@field type "container"
---@field action string
---@field id string
---@field name string
---@field attributes table<string, string>

---The store's container events, oldest first, as an iterator (`for ev in
---bocker.events.read{since = bocker.now() - 60} do ... end`). `follow`
---waits for new events (until `until`, when given). `filter` as Docker's
---(`{event = "die", container = "web", label = {"a=b", "c"}}`: values
---of one key OR, keys AND, labels AND); an unknown key: nil, "invalid
---filter 'KEY'".
---`idle`: a following iterator yields `false` after that many seconds
---without an event (then goes on), so a caller can check its client.
---@param opts? { since?: number, until?: number, follow?: boolean, filter?: table<string, string|string[]>, idle?: number }
---@return (fun(): bocker.Event|false|nil)|nil iterator, string|nil err
function bocker.events.read(opts) end

---Docker's Healthcheck: `test` is `{"NONE"}`, `{"CMD", argv...}` or
---`{"CMD-SHELL", command}`; durations in nanoseconds.
---@class bocker.Healthcheck
---@field test string[]
---@field interval? integer
---@field timeout? integer
---@field start_period? integer
---@field start_interval? integer
---@field retries? integer

---Makes a new image from a container's changes (its overlay upper dir
---becomes a layer on top of its image's layers; whiteouts stay
---whiteouts). A running container is frozen (cgroup freezer) meanwhile.
---`replace` names an image whose id the new one takes (the seed's
---`bocker commit ps_… img_…`); the result then has `replaced = id`.
---@param ref string container id, name or prefix
---@param opts? { message?: string, changes?: bocker.ConfigChanges, tag?: string, replace?: string, created_by?: string }
---@return bocker.Image|nil, string|nil err
function bocker.container.commit(ref, opts) end

---A new image on `ref`'s layers with a changed config (no new layer).
---@param ref string
---@param opts? { changes?: bocker.ConfigChanges, created_by?: string, comment?: string, tag?: string }
---@return bocker.Image|nil, string|nil err
function bocker.image.derive(ref, opts) end

---@class bocker.CopySpec
---@field srcs string[]       paths (Go wildcards) in the context, or in `from`'s filesystem; ADD: http(s) URLs too
---@field dst string          a dir when it ends with `/` (or is one); relative to the image's working dir
---@field context? string     the build context (its .dockerignore applies)
---@field from? string        an image whose filesystem holds the sources
---@field add? boolean        ADD: local tars (gzip, bzip2, xz, zstd) extracted, URLs downloaded
---@field chown? string       USER[:GROUP], names from the image's /etc/passwd and /etc/group
---@field chmod? string       octal mode
---@field link? boolean       accepted
---@field checksum? string    sha256:HEX of an ADD URL
---@field created_by? string
---@field tag? string

---COPY/ADD: a new layer on top of `ref`, Docker's rules: a folder's
---contents go into `dst`; a file goes to `dst`, or into it when `dst`
---ends with `/` or is a folder in the image. Context files become
---root's (an image's keep their owner) unless `chown`; symlinks are
---resolved inside the context or image, never the host.
---@param ref string
---@param spec bocker.CopySpec
---@return bocker.Image|nil, string|nil err
function bocker.image.add_layer(ref, spec) end

---An empty image (no layers), what builds `FROM scratch` start from.
---@return bocker.Image|nil, string|nil err
function bocker.image.scratch() end

---Writes images into one archive: `format = "docker"` (the default; what
---`docker save` and `podman save` write and `docker load`/`podman load`
---read: `manifest.json`, `repositories`, plain layer tars) or `"oci"` (a
---tar of an OCI image layout, skopeo's `oci-archive:`, gzip layers; the
---image id rides along as the annotation `org.bocker.image.id`). A
---NAME:TAG in `refs` names the image in the archive (several tags of one
---image make one image with several names); an id saves it unnamed.
---`output` is replaced only once the archive is complete (a temp file
---beside it, renamed); without it the archive goes to stdout.
---@param refs string|string[]
---@param opts? { output?: string, format?: "docker"|"oci" }
---@return bocker.Image[]|nil, string|nil err
function bocker.image.save(refs, opts) end

---@class bocker.Loaded
---@field image bocker.Image the image record (new, or the one the store had with the same config digest)
---@field names string[] the names the archive gives it (`Loaded image: NAME`); none: `Loaded image ID`

---Loads every image of a Docker or OCI archive (told apart by content),
---plain or gzip/zstd-compressed, from `file` or stdin (nil or `-`). The
---archive is hostile input: paths must stay inside it, OCI blobs must
---match their digests, layers their config's diff_ids; every new layer is
---extracted (safely) and checked before the first one enters the store,
---so a bad archive leaves nothing behind. An image the store already has
---(same config digest) only gets the archive's names.
---@param file? string
---@return bocker.Loaded[]|nil, string|nil err
function bocker.image.load(file) end

---A filesystem tar (plain or compressed; `-` is stdin) as a one-layer
---image, extracted safely; its config is a default PATH plus `changes`,
---its history entry `bocker import FILE` with `message` as the comment.
---@param file string
---@param opts? { changes?: bocker.ConfigChanges, message?: string, tag?: string }
---@return bocker.Image|nil, string|nil err
function bocker.image.import(file, opts) end

---@class bocker.HistoryRow
---@field id? string the local image this entry is the top of (the image itself, a build step's intermediate image)
---@field created number seconds since the epoch
---@field created_by string
---@field size integer bytes of the layer the entry made (0 for a config step)
---@field comment? string
---@field empty_layer boolean

---An image's history entries (those its exported config carries), newest
---first.
---@param ref string
---@return bocker.HistoryRow[]|nil, string|nil err
function bocker.image.history(ref) end

---Writes a container's filesystem (its image's layers and its changes,
---flattened: whiteouts applied) as one tar to `output` (replaced once
---complete) or stdout. Returns the container id.
---@param ref string container id, name or prefix
---@param opts? { output?: string }
---@return string|nil id, string|nil err
function bocker.container.export(ref, opts) end

---Pushes an image (layers as gzip, OCI manifest) to `dest` or, by default,
---to the registry its NAME:TAG names. Credentials as for pull.
---@param ref string
---`auth`: credentials for this push only (X-Registry-Auth), before the stored ones.
---@param opts? { dest?: string, auth?: { username: string, password: string } }
---@return string|nil manifest_digest, string|nil err
function bocker.image.push(ref, opts) end

---A build context sent as a tar (plain or compressed), unpacked by the
---layer extractor into a fresh 0700 folder of the store's tmp dir; its
---Dockerfile (`dockerfile`, default "Dockerfile": a relative path inside
---the context; a symlink is resolved inside it) copied beside it; at most
---1 GiB unpacked. Bodies are the API's: hostile input.
---@param tar string the tar's bytes
---@param dockerfile? string
---@return bocker.BuildContext|nil, string|nil err
function bocker.build.context_from_tar(tar, dockerfile) end

---@class bocker.BuildContext
---@field dir fun(self): string the unpacked context (nil once closed)
---@field dockerfile fun(self): string the Dockerfile's copy, outside the context
---@field close fun(self) removes both (also when collected)

---bocker itself as a child (same binary and environment), argv `args`
---(no shell), stdin /dev/null, stdout and stderr merged into one pipe.
---The API's `POST /build` streams a build's output this way.
---@param args string[]
---@return bocker.SelfProc|nil, string|nil err
function bocker.spawn_self(args) end

---@class bocker.SelfProc
---@field read_line fun(self): string|nil the next line with its newline (at most 64 KiB: longer ones come in pieces); nil at the end
---@field wait fun(self): integer the exit status (128+N for signal N)
---@field kill fun(self) ends the child (also when the handle is collected)

---Decodes the API's X-Registry-Auth header (base64url JSON). No header or
---no user name: nothing; malformed: nil, err.
---@param header? string
---@return { username: string, password: string }|nil, string|nil err
function bocker.api_registry_auth(header) end

---sha256 of a string, hex.
---@param s string
---@return string
function bocker.sha256(s) end

---The build library (lua/lib/build.lua), also `require "bocker.build"`.
---@class bocker.build
bocker.build = {}

---A content hash of build-context sources (paths, modes, contents; not mtimes).
---@param context string
---@param srcs string[]
---@return string|nil hex, string|nil err
function bocker.build.hash_sources(context, srcs) end

---The build cache key of a COPY/ADD step (without its parent image): its
---options and its sources' content (`.dockerignore` applied); an image's
---files by the image id; a URL by `checksum`, or else a download's sha256.
---@param spec bocker.CopySpec
---@return string|nil hex, string|nil err
function bocker.build.copy_key(spec) end

---The build cache entry under `key` (a sha256 hex digest), or nil.
---@param key string
---@return string?
function bocker.build.cache_get(key) end

---Records `id` under `key` in `$BOCKER_ROOT/build-cache` (a 0600 file).
---@param key string
---@param id string
---@return boolean|nil ok, string? err
function bocker.build.cache_put(key, id) end

---The folder of cache mount `id` (`RUN --mount=type=cache`), made on
---first use under `$BOCKER_ROOT/build-cache/mounts/` (named by the id's
---hash) and kept between builds.
---@param id string
---@return string|nil path, string? err
function bocker.build.cache_mount(id) end

---A new private folder (in `$BOCKER_ROOT/tmp`) holding `files` (name ->
---text, 0644; names are single path components): the context of a COPY
---of inline files. Remove it with `remove_inline`.
---@param files table<string,string>
---@return string|nil dir, string? err
function bocker.build.inline_files(files) end

---Removes a folder `inline_files` made (any other path is refused).
---@param dir string
---@return boolean|nil ok, string? err
function bocker.build.remove_inline(dir) end

---The host's platform, for the automatic ARGs (TARGETARCH, ...).
---@return { os: string, arch: string, variant?: string, name: string }
function bocker.build.platform() end

---The canonical path of a build context folder.
---@param dir string
---@return string|nil path, string? err
function bocker.build.context_root(dir) end

---The contents of `path` inside `context` (relative, or absolute under it),
---resolved with openat2 RESOLVE_IN_ROOT: no `..` or symlink leads out.
---In a restricted build (`bocker build` of a build.lua) this is
---`bocker.build.read(path)` with the context fixed, and what `io.open`,
---`io.lines`, `dofile`, `loadfile` and `require` read through.
---@param context string
---@param path string
---@return string|nil data, string? err
function bocker.build.read_context(context, path) end

---Starts a build. Each method is one cached step that makes an image and
---returns the build, so calls chain. A failing step raises a build error
---`{ status, message }` after removing its container and every image this
---build made; `bocker script` and `bocker build` exit with its status.
---A base image with ONBUILD triggers runs them first (the result does
---not keep them).
---@param ref string NAME[:TAG], image id, a stage name, or "scratch" (pulled if missing)
---@param opts? { context?: string, steps?: integer, quiet?: boolean, no_cache?: boolean, network?: "bridge"|"none"|"host", memory?: integer }
---@return bocker.Build
function bocker.build.from(ref, opts) end

---`from` with a name: a later `build.from(name)` starts from the stage's
---image and `build.resolve(name)` gives its id (for `copy{from=...}`).
---@param name string
---@param ref string
---@param opts? table as `from`'s
---@return bocker.Build
function bocker.build.stage(name, ref, opts) end

---The image id of a stage name or an image reference (pulled if missing).
---@param ref string
---@return string|nil id, string|nil err
function bocker.build.resolve(ref) end

---@class bocker.Build
---@field image string the current image id
local Build = {}
---RUN: a shell command (in the image's SHELL, default `/bin/sh -c`) or
---an argv, in a container on the default bridge (unless `network` or
---`bocker build --network`), without a memory limit (unless `bocker build
----m`); its changes are committed. Mounts: `{type="cache", target, id?,
---readonly?}`, `{type="bind", source?, target, from?}` (of the context,
---or of image `from`'s files; read-only), `{type="file", target, text}`
---(an executable inline file), `{type="tmpfs", target, size?}`, `{type="secret", id,
---target?, required?}` (`bocker build --secret id=ID,src=FILE`; at
---/run/secrets/ID). `desc` replaces the command in the step line.
---@param cmd string|string[]
---@param opts? { env?: string[], mounts?: table[], network?: "default"|"bridge"|"none"|"host", desc?: string }
function Build:run(cmd, opts) end
---COPY from the build context (default: the script's folder), or from
---an image with `opts.from` (an id: `other:id()`, `build.resolve(ref)`).
---@param src string|string[]
---@param dst string
---@param opts? { from?: string, chown?: string, chmod?: string, link?: boolean, checksum?: string, context?: string }
function Build:copy(src, dst, opts) end
---An inline file (as a Dockerfile's `COPY <<EOF dst`).
---@param dst string
---@param text string
---@param opts? table as `copy`'s
function Build:write(dst, text, opts) end
---Several inline files: `files` { NAME = text }, `names` of them to `dst`.
---@param files table<string,string>
---@param names string[]
---@param dst string
---@param opts? table as `copy`'s
function Build:files(files, names, dst, opts) end
---SHELL: the argv prefix of later shell-form RUN, CMD, ENTRYPOINT.
---@param argv string[]
function Build:shell(argv) end
---@param sig string|integer
function Build:stopsignal(sig) end
---`{ cmd = "..." | cmd = {argv} | test = {...}, interval = "30s"|ns, timeout, start_period, start_interval, retries }`
---@param h table
function Build:healthcheck(h) end
---A trigger (a Dockerfile instruction) for builds FROM the result.
---@param instruction string
function Build:onbuild(instruction) end
---The config of the image built so far.
---@return table
function Build:image_config() end
---@param k string|table name, or `{ K = V }` / `{ {k, v}, ... }`
---@param v? string
function Build:env(k, v) end
function Build:label(k, v) end
---@param dir string
function Build:workdir(dir) end
---@param user string|integer
function Build:user(user) end
---@param argv string|string[] a string is the shell form
function Build:cmd(argv) end
---Also clears a Cmd inherited from the base image (Docker's rule).
---@param argv string|string[]
function Build:entrypoint(argv) end
---@param ... string|integer ports, or one list
function Build:expose(...) end
function Build:volume(...) end
---Tags the result; returns its image id.
---@param name string NAME[:TAG]
---@return string
function Build:tag(name) end
---@return string
function Build:id() end

bocker.registry = {}
---Checks credentials against the registry, then stores them in $BOCKER_ROOT/auth.json (0600).
---@return boolean|nil, string|nil err
function bocker.registry.login(registry, user, password) end
---@return boolean|nil found, string|nil err
function bocker.registry.logout(registry) end
---Checks credentials against the registry without storing them (the API's
---`POST /auth`: the client keeps them).
---@return boolean|nil, string|nil err
function bocker.registry.check(registry, user, password) end

---------------------------------------------------------------- volumes
bocker.volume = {}

---@class bocker.Volume
---@field name string
---@field created number
---@field anonymous boolean
---@field mountpoint string where the data lives on the host
---@field containers? string[] (from `get`) containers that use it
---@field labels? table<string,string> given at create

---Creates a volume (idempotent: an existing one is returned as it is); no
---name makes an anonymous one.
---@param name? string
---@param opts? { labels?: table<string,string> }
---@return bocker.Volume|nil, string|nil err
function bocker.volume.create(name, opts) end
---@param name string
---@return bocker.Volume|nil, string|nil err
function bocker.volume.get(name) end
---@return bocker.Volume[]
function bocker.volume.list() end
---Refused while a container uses it, unless `force`.
---@param name string
---@param opts? { force?: boolean }
---@return string|nil name, string|nil err
function bocker.volume.remove(name, opts) end
---Removes unused anonymous volumes (all unused ones with `all`).
---@param opts? { all?: boolean }
---@return string[]|nil removed, string|nil err
function bocker.volume.prune(opts) end

---------------------------------------------------------------- handles
---A container handle: holds the id; methods call the primitives above.
---@class bocker.ContainerHandle
---@field id string
---@field info fun(self): bocker.Container|nil, string|nil
---@field start fun(self, opts?: { detach?: boolean }): integer|nil, string|nil
---@field wait fun(self, timeout?: number): integer|nil, string|nil
---@field exec fun(self, spec: table): integer|nil, string|nil
---@field logs fun(self, opts?: table): boolean|nil, string|nil
---@field kill fun(self, signal?: string): string|nil, string|nil
---@field stop fun(self, timeout?: number): string|nil, string|nil
---@field pause fun(self): string|nil, string|nil
---@field unpause fun(self): string|nil, string|nil
---@field remove fun(self, opts?: table): string|nil, string|nil

---@param ref string
---@return bocker.ContainerHandle|nil, string|nil err
function bocker.container.open(ref) end

---An image handle. `run(spec)` = create (spec as bocker.container.create,
---without `image`, plus `detach`) + start; returns the container handle and
---the start results (exit status, or 0 when detached).
---@class bocker.ImageHandle
---@field id string
---@field info fun(self): bocker.Image|nil, string|nil
---@field layers fun(self): table[]|nil, string|nil
---@field tag fun(self, name: string): bocker.Image|nil, string|nil
---@field remove fun(self, opts?: table): table|nil, string|nil
---@field run fun(self, spec?: table): bocker.ContainerHandle|nil, integer|string|nil

---@param ref string
---@return bocker.ImageHandle|nil, string|nil err
function bocker.image.open(ref) end

---------------------------------------------------------------- network
bocker.network = {}

---A network: a user network (`bocker network create`), or the default one
---(`name = "bridge"`, its Linux bridge BOCKER_BRIDGE).
---@class bocker.Network
---@field name string
---@field id string 64 hex digits
---@field driver "bridge"
---@field bridge string the Linux bridge (`bk-` + 12 hex digits of the id for user networks)
---@field subnet string CIDR
---@field gateway string the bridge's address (and the DNS responder's, on user networks)
---@field internal boolean no traffic beyond the host, no default route through it
---@field labels table<string, string>
---@field created number seconds since the epoch (0 for the default network)

---Creates a user network: a subnet no other network of the host uses
---(`subnet`, or a free /24 of 10.89.0.0/16), its bridge and rules. Names as
---Docker's (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`); `bridge`, `none`, `host` are taken.
---@param spec { name: string, subnet?: string, gateway?: string, internal?: boolean, labels?: table<string, string>, driver?: "bridge" }
---@return bocker.Network|nil, string|nil err
function bocker.network.create(spec) end
---A network by name, id or id prefix (`bridge`: the default one).
---@param name string
---@return bocker.Network|nil, string|nil err "No such network: NAME"
function bocker.network.get(name) end
---The default network (first, as `bridge`) and every user network of this root.
---@return bocker.Network[]|nil, string|nil err
function bocker.network.list() end
---Removes a user network: its record, bridge, rules, leases. Refused while
---a container of this root (running or not) or a running one of another
---root uses it ("network NAME is in use by ..."). Without a name, or with
---the default bridge's Linux name (BOCKER_BRIDGE): removes that bridge,
---refused while containers use it.
---@param name? string
---@return string|nil name, string|nil err
function bocker.network.remove(name) end
---Removes every user network nobody uses, and what a killed `create` left.
---@return string[]|nil removed, string|nil err
function bocker.network.prune() end
---Connects a container of a user network (running: a new link ethN; created: at its start).
---@param name string the network
---@param container string name or id
---@param opts? { aliases?: string[], ip?: string }
---@return string|nil id, string|nil err
function bocker.network.connect(name, container, opts) end
---Disconnects a container (a running one keeps its first network).
---@param name string
---@param container string
---@return string|nil id, string|nil err
function bocker.network.disconnect(name, container) end
---The default bridge network of this environment (BOCKER_BRIDGE, BOCKER_SUBNET, BOCKER_NET_EGRESS).
---@return { bridge: string, subnet: string, gateway: string, egress: boolean }|nil, string|nil err
function bocker.network.config() end
---Containers on a network: without a name, the running ones on the default
---bridge `{id, ip}`; with a user network's name, this root's containers
---that name it `{id, name, ip}` (`ip` empty when not running).
---@param name? string
---@return { id: string, name?: string, ip: string }[]|nil, string|nil err
function bocker.network.containers(name) end
