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

---True if file descriptor `fd` (default 1) is a terminal.
---@param fd? integer
---@return boolean
function bocker.isatty(fd) end

---@param seconds number
function bocker.sleep(seconds) end

bocker.json = {}
---@param v any
---@return string
function bocker.json.encode(v) end
---@param s string
---@return any
function bocker.json.decode(s) end

---------------------------------------------------------------- verbs
bocker.verbs = {}

---@class bocker.VerbInfo
---@field name string
---@field source string "builtin" or the path of the user's file

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

---Removes an image and the layers no other image or container uses.
---@param ref string
---@param opts? { force?: boolean }
---@return { id: string, layers: string[] }|nil, string|nil err
function bocker.image.remove(ref, opts) end

---------------------------------------------------------------- containers
bocker.container = {}

---@class bocker.Mount
---@field type "bind"|"volume"|"tmpfs"
---@field source string host path, volume name, or "" for tmpfs
---@field target string absolute path in the container
---@field readonly? boolean
---@field options? string tmpfs options, e.g. "size=64m"

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
---@field rm? boolean remove when it exits
---@field cpu_shares? integer default $BOCKER_CPU_SHARE or 512
---@field memory? integer bytes, default $BOCKER_MEM_LIMIT MB or 512 MB
---@field pids_limit? integer
---@field mounts? bocker.Mount[]
---@field network? "none"|"bridge"|"host"
---@field ports? string[] `[IP:]HOST:CTR[/udp]`
---@field bridge? string bridge for this container (default $BOCKER_BRIDGE or bridge0)
---@field subnet? string its subnet (default $BOCKER_SUBNET or 10.0.0.0/24)
---@field publish_all? boolean

---@class bocker.Container
---@field id string `ps_…`
---@field name? string
---@field image string image id
---@field image_ref string what the user called the image
---@field args string[] the argv it runs
---@field env string[]
---@field workdir string
---@field hostname string
---@field limits { cpu_shares: integer, memory: integer, pids?: integer }
---@field mounts bocker.Mount[]
---@field created number
---@field running boolean
---@field state { status: "created"|"running"|"exited", pid?: integer, started?: number, finished?: number, exit_code?: integer, error?: string, net?: table }

---Creates a container record (nothing runs yet).
---@param spec bocker.CreateSpec
---@return bocker.Container|nil, string|nil err
function bocker.container.create(spec) end

---Starts a created container. Foreground: waits and returns its exit
---status (output goes to the terminal and the log). `detach`: returns 0
---once it runs, or its failure status and message.
---@param id string
---@param opts? { detach?: boolean }
---@return integer|nil status, string|nil err
function bocker.container.start(id, opts) end

---@param ref string id, name or unique prefix
---@return bocker.Container|nil, string|nil err
function bocker.container.get(ref) end

---@return bocker.Container[]
function bocker.container.list() end

---Runs a command in a running container (all its namespaces and cgroup).
---@param ref string
---@param spec { args: string[], env?: string[], workdir?: string, user?: string, tty?: boolean, interactive?: boolean }
---@return integer|nil status, string|nil err
function bocker.container.exec(ref, spec) end

---Writes the container's log to stdout.
---@param ref string
---@param opts? { follow?: boolean, tail?: integer }
---@return boolean|nil, string|nil err
function bocker.container.logs(ref, opts) end

---@param ref string
---@param signal? string|integer name (KILL, TERM, SIGHUP) or number; default KILL
---@return string|nil id, string|nil err
function bocker.container.kill(ref, signal) end

---SIGTERM, then SIGKILL after `timeout` seconds (default 10).
---@param ref string
---@param timeout? number
---@return string|nil id, string|nil err
function bocker.container.stop(ref, timeout) end

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

---The limits a container gets without flags (from BOCKER_CPU_SHARE and
---BOCKER_MEM_LIMIT).
---@return { cpu_shares: integer, memory: integer }|nil, string|nil err
function bocker.container.default_limits() end

---Pulls an image from its registry into the store. `progress` gets event
---tables: `{event="resolved", manifest_digest, layers}`,
---`{event="layer_cached"|"layer_started"|"layer_bytes"|"layer_extracting"|"layer_done", index, ...}`.
---@param ref string `busybox`, `NAME:TAG`, `NAME@sha256:…`, `HOST[:PORT]/PATH:TAG`
---@param opts? { platform?: string, progress?: fun(event: table) }
---@return bocker.Image|nil, string|nil err
function bocker.image.pull(ref, opts) end

bocker.registry = {}
---Checks credentials against the registry, then stores them in $BOCKER_ROOT/auth.json (0600).
---@return boolean|nil, string|nil err
function bocker.registry.login(registry, user, password) end
---@return boolean|nil found, string|nil err
function bocker.registry.logout(registry) end

---------------------------------------------------------------- volumes
bocker.volume = {}

---@class bocker.Volume
---@field name string
---@field created number
---@field anonymous boolean
---@field mountpoint string where the data lives on the host
---@field containers? string[] (from `get`) containers that use it

---Creates a volume (idempotent); no name makes an anonymous one.
---@param name? string
---@return bocker.Volume|nil, string|nil err
function bocker.volume.create(name) end
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
---The bridge network of this environment (BOCKER_BRIDGE, BOCKER_SUBNET, BOCKER_NET_EGRESS).
---@return { bridge: string, subnet: string, gateway: string, egress: boolean }|nil, string|nil err
function bocker.network.config() end
---Running containers on it.
---@return { id: string, ip: string }[]|nil, string|nil err
function bocker.network.containers() end
---Removes the bridge, its rules and leases; refused while containers use it.
---@return string|nil bridge, string|nil err
function bocker.network.remove() end
