-- /images and /build: list, pull (create), inspect, history, tag, delete,
-- push, build, get (save), load, prune. Image names may hold slashes
-- (`127.0.0.1:5000/a/b:tag`): those routes take `{name*}`.
local api = require "bocker.api"
local docker = require "bocker.docker"
local filters = require "bocker.filters"

local array = bocker.json.array

local function short(d) return (d or ""):gsub("^sha256:", ""):sub(1, 12) end

-- a temporary file holding `data` (a request body); removed by the caller
local function body_file(data)
  local path = os.tmpname()
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  f:write(data)
  f:close()
  return path
end

-- streams a file as the body, 64 KiB at a time
local function send_file(res, path, ctype)
  local f, err = io.open(path, "rb")
  if not f then return api.fail(res, err, 500) end
  res:header("Content-Type", ctype)
  while true do
    local chunk = f:read(65536)
    if not chunk then break end
    if not res:write(chunk) then break end
  end
  f:close()
end

-- a name as NAME:TAG for the store ("busybox" -> "busybox:latest")
local function with_tag(repo, tag)
  if tag and tag ~= "" then
    if tag:match("^sha256:") then return repo .. "@" .. tag end
    return repo .. ":" .. tag
  end
  if repo:match("@") or repo:match(":[^:/]+$") then return repo end
  return repo .. ":latest"
end

-- Docker's checks on a repository name and a tag (lower case path
-- components; a host[:port] first); the store keeps them as text
local function valid_repo(r)
  return #r <= 255 and r:match("^[a-z0-9][a-z0-9%.%-_:/]*$") ~= nil and not r:match("//") and not r:match("[/:]$")
end
local function valid_tag(t) return #t <= 128 and t:match("^[%w_][%w_%.%-]*$") ~= nil end

-- POST /images/create?fromImage=NAME&tag=TAG: pull with Docker's progress stream
local function pull(req, res)
  local from, tag = req.query.fromImage, req.query.tag
  local ref = with_tag(from, tag)
  local auth, aerr = bocker.api_registry_auth(req.headers["x-registry-auth"])
  if aerr then return res:error(400, aerr) end
  local layers = {}
  local function say(msg) return api.stream(res, msg) end
  local function progress(ev)
    local i = ev.index and ev.index + 1
    if ev.event == "resolved" then
      say({ status = "Pulling from " .. (from:gsub(":[^:/]+$", "")), id = tag ~= "" and tag or "latest" })
    elseif ev.event == "layer_cached" then
      layers[i] = short(ev.diff_id)
      say({ status = "Already exists", progressDetail = {}, id = layers[i] })
    elseif ev.event == "layer_started" then
      layers[i] = short(ev.digest)
      say({ status = "Pulling fs layer", progressDetail = {}, id = layers[i] })
    elseif ev.event == "layer_bytes" then
      say({ status = "Downloading", progressDetail = { current = ev.downloaded, total = ev.total }, id = layers[i] })
    elseif ev.event == "layer_extracting" then
      say({ status = "Extracting", progressDetail = {}, id = layers[i] })
    elseif ev.event == "layer_done" then
      say({ status = "Pull complete", progressDetail = {}, id = layers[i] })
    end
  end
  local before = bocker.image.get(ref)
  local img, err = bocker.image.pull(ref, { platform = req.query.platform ~= "" and req.query.platform or nil, auth = auth, progress = progress })
  if not img then return api.stream_error(res, err) end
  if img.manifest_digest then say({ status = "Digest: " .. img.manifest_digest }) end
  local fresh = not before or before.id ~= img.id
  say({ status = (fresh and "Status: Downloaded newer image for " or "Status: Image is up to date for ") .. ref })
end

-- POST /images/create?fromSrc=-&repo=R&tag=T: the body is a filesystem tar
local function import(req, res)
  if req.query.fromSrc ~= "-" then return res:error(400, "fromSrc: only '-' (the request body) is supported") end
  local path, ferr = body_file(req.body)
  if not path then return api.fail(res, ferr, 500) end
  local opts = { message = req.query.message }
  if req.query.repo and req.query.repo ~= "" then opts.tag = with_tag(req.query.repo, req.query.tag) end
  local img, err = bocker.image.import(path, opts)
  os.remove(path)
  if not img then return api.fail(res, err, 400) end
  api.stream(res, { status = img.id })
end

-- whether `ref` names an image by its id: img_HEX, or HEX / sha256:HEX as
-- Docker's clients write it (or a prefix of one)
local function is_id_ref(ref, id)
  local hex = (ref:gsub("^sha256:", ""))
  return id:sub(1, #ref) == ref or (hex:match("^%x+$") ~= nil and id:sub(1, #hex + 4) == "img_" .. hex)
end

-- DELETE /images/{name}: a name among others is only untagged, as Docker does
local function delete(req, res, p)
  local img = bocker.image.get(p.name)
  if not img then return res:error(404, "No such image: " .. p.name) end
  local force = api.flag(req.query.force)
  local out = array()
  local by_name = #(img.tags or {}) > 0 and not is_id_ref(p.name, img.id)
  local has_children = false
  for _, i in ipairs(bocker.image.list()) do if i.parent == img.id then has_children = true break end end
  -- a name among others, or the last name of an image others are built
  -- on: only untagged (Docker keeps a parent image)
  if by_name and (#(img.tags or {}) > 1 or has_children) then
    local name = with_tag(p.name)
    local _, err = bocker.image.untag(name)
    if err then return api.fail(res, err) end
    out[1] = { Untagged = name }
    return res:json(out)
  end
  if has_children then
    return res:error(409, string.format("conflict: unable to delete %s (cannot be forced) - image has dependent child images", short(img.id)))
  end
  if not by_name and #(img.tags or {}) > 1 and not force then
    return res:error(409, string.format("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", short(img.id)))
  end
  local r, err = bocker.image.remove(img.id, { force = force })
  if not r then return api.fail(res, err) end
  for _, t in ipairs(img.tags or {}) do out[#out + 1] = { Untagged = t } end
  out[#out + 1] = { Deleted = r.id }
  for _, id in ipairs(r.parents or {}) do out[#out + 1] = { Deleted = id } end
  res:json(out)
end

-- POST /images/{name}/push?tag=T (no tag: every tag of the repository)
local function push(req, res, p)
  local auth, aerr = bocker.api_registry_auth(req.headers["x-registry-auth"])
  if aerr then return res:error(400, aerr) end
  local repo = p.name:gsub(":[^:/]+$", "")
  local tags = {}
  if req.query.tag and req.query.tag ~= "" then tags[1] = req.query.tag
  elseif p.name ~= repo then tags[1] = p.name:match(":([^:/]+)$")
  else
    for _, i in ipairs(bocker.image.list()) do
      for _, t in ipairs(i.tags or {}) do
        local r, tg = docker.split_tag(t)
        if r == repo then tags[#tags + 1] = tg end
      end
    end
  end
  if #tags == 0 or not bocker.image.get(repo .. ":" .. tags[1]) then
    return res:error(404, "An image does not exist locally with the tag: " .. repo)
  end
  api.stream(res, { status = "The push refers to repository [" .. repo .. "]" })
  for _, tag in ipairs(tags) do
    local ref = repo .. ":" .. tag
    local img = bocker.image.get(ref)
    if not img then return api.stream_error(res, "An image does not exist locally with the tag: " .. ref) end
    for _, l in ipairs(bocker.image.layers(ref) or {}) do
      api.stream(res, { status = "Preparing", progressDetail = {}, id = short(l.digest or l.diff_id or l.id) })
    end
    local digest, err = bocker.image.push(ref, { auth = auth })
    if not digest then return api.stream_error(res, err) end
    for _, l in ipairs(bocker.image.layers(ref) or {}) do
      api.stream(res, { status = "Pushed", progressDetail = {}, id = short(l.digest or l.diff_id or l.id) })
    end
    api.stream(res, { status = string.format("%s: digest: %s size: %d", tag, digest, img.size or 0) })
    api.stream(res, { progressDetail = {}, aux = { Tag = tag, Digest = digest, Size = img.size or 0 } })
  end
end

-- POST /build: the body is the context as a tar; the build runs as
-- `bocker build` (its output streamed as {"stream": line}); then the tags
local function build(req, res)
  local ctx, err = bocker.build.context_from_tar(req.body, req.query.dockerfile ~= "" and req.query.dockerfile or nil)
  if not ctx then return res:error(400, err) end
  local args = { "build", "-f", ctx:dockerfile() }
  if req.query.buildargs and req.query.buildargs ~= "" then
    local ok, ba = pcall(bocker.json.decode, req.query.buildargs)
    if not ok or type(ba) ~= "table" then ctx:close() return res:error(400, "buildargs: a JSON object is expected") end
    for k, v in pairs(ba) do
      if type(k) ~= "string" or k:find("=") then ctx:close() return res:error(400, "buildargs: bad name " .. tostring(k)) end
      if type(v) == "string" then args[#args + 1] = "--build-arg"; args[#args + 1] = k .. "=" .. v end
    end
  end
  if req.query.target and req.query.target ~= "" then args[#args + 1] = "--target"; args[#args + 1] = req.query.target end
  if api.flag(req.query.nocache) then args[#args + 1] = "--no-cache" end
  local net = req.query.networkmode
  if net and net ~= "" and net ~= "default" then args[#args + 1] = "--network"; args[#args + 1] = net end
  local mem = tonumber(req.query.memory)
  if mem and mem > 0 then args[#args + 1] = "-m"; args[#args + 1] = tostring(math.floor(mem)) end
  local tags = {}
  for _, t in ipairs(req.query_list.t or {}) do
    local repo, tag = t:match("^(.*):([^:/]+)$")
    if not repo then repo, tag = t, "latest" end
    if not valid_repo(repo) or not valid_tag(tag) then ctx:close() return res:error(400, "invalid reference format: " .. t) end
    tags[#tags + 1] = repo .. ":" .. tag
  end
  args[#args + 1] = ctx:dir()
  local quiet = api.flag(req.query.q)
  local proc, perr = bocker.spawn_self(args)
  if not proc then ctx:close() return api.fail(res, perr, 500) end
  local id, last = nil, nil
  while true do
    local line = proc:read_line()
    if not line then break end
    local built = line:match("^Successfully built (%S+)")
    if built then
      id = built
      -- Docker's clients (compose, docker-py) read the id as hex from this
      -- line; the store resolves `HEX` and `sha256:HEX` to `img_HEX`
      line = "Successfully built " .. (built:gsub("^img_", "")) .. "\n"
    end
    if line:match("%S") then last = line end
    -- bocker's own error line comes once, as the stream's error
    local own = line:match("^bocker build: ")
    if not quiet and not own and not api.stream(res, { stream = line }) then proc:kill() break end
  end
  local status = proc:wait()
  ctx:close()
  if status ~= 0 or not id then
    local msg = (last or "the build failed"):gsub("^bocker build: ", ""):gsub("%s+$", "")
    return api.stream_error(res, msg, 400)
  end
  for _, t in ipairs(tags) do
    local _, terr = bocker.image.tag(id, t)
    if terr then return api.stream_error(res, terr) end
    if not quiet then api.stream(res, { stream = "Successfully tagged " .. t .. "\n" }) end
  end
  api.stream(res, { aux = { ID = id } })
  if quiet then api.stream(res, { stream = id .. "\n" }) end
end

-- GET /images/get?names=a&names=b, GET /images/{name}/get: a docker-save tar
local function save(res, names)
  local path = os.tmpname()
  local imgs, err = bocker.image.save(names, { output = path })
  if not imgs then os.remove(path) return api.fail(res, err) end
  send_file(res, path, "application/x-tar")
  os.remove(path)
end

-- POST /images/load: the body is a docker-save (or OCI) archive
local function load(req, res)
  local path, ferr = body_file(req.body)
  if not path then return api.fail(res, ferr, 500) end
  local loaded, err = bocker.image.load(path)
  os.remove(path)
  if not loaded then return res:error(400, err) end
  for _, l in ipairs(loaded) do
    if #(l.names or {}) == 0 then api.stream(res, { stream = "Loaded image ID: " .. l.image.id .. "\n" }) end
    for _, n in ipairs(l.names or {}) do api.stream(res, { stream = "Loaded image: " .. n .. "\n" }) end
  end
  if not res:sent() then res:json({}) end
end

-- POST /images/prune: dangling images (every unused one with dangling=false)
local function prune(req, res)
  local f, err = api.filters(req)
  if not f then return res:error(400, err) end
  local only_dangling = not (f.dangling and (f.dangling[1] == "false" or f.dangling[1] == "0"))
  local removed, untagged, reclaimed = (require "bocker.images").prune(not only_dangling)
  local deleted = array()
  for _, t in ipairs(untagged) do deleted[#deleted + 1] = { Untagged = t } end
  for _, id in ipairs(removed) do deleted[#deleted + 1] = { Deleted = id } end
  res:json({ ImagesDeleted = deleted, SpaceReclaimed = reclaimed })
end

return {
  { "GET", "/images/json", function(req, res)
    local f, err = api.filters(req)
    if f then f, err = api.check_filters(f, filters.image_keys) end
    if not f then return res:error(400, err) end
    local imgs = bocker.image.list()
    if not api.flag(req.query.all) then imgs = filters.top_images(imgs) end
    imgs, err = filters.images(imgs, f)
    if not imgs then return api.fail(res, err) end
    local used = {}
    for _, c in ipairs(bocker.container.list()) do used[c.image] = (used[c.image] or 0) + 1 end
    local out = array()
    for _, i in ipairs(imgs) do
      local s = docker.image_summary(i)
      s.Containers = used[i.id] or 0
      if f.reference then s.RepoTags = array(filters.matching_tags(i, f.reference)) end
      out[#out + 1] = s
    end
    res:json(out)
  end },
  { "POST", "/images/create", function(req, res)
    if req.query.fromImage and req.query.fromImage ~= "" then return pull(req, res) end
    if req.query.fromSrc and req.query.fromSrc ~= "" then return import(req, res) end
    res:error(400, "fromImage or fromSrc is needed")
  end },
  { "POST", "/build", build },
  { "GET", "/images/get", function(req, res)
    local names = req.query_list.names or {}
    if #names == 0 then return res:error(400, "names: at least one image") end
    save(res, names)
  end },
  { "POST", "/images/load", load },
  { "POST", "/images/prune", prune },
  -- the build cache maps steps to images: pruning images prunes it
  { "POST", "/build/prune", function(_, res) res:json({ CachesDeleted = array(), SpaceReclaimed = 0 }) end },
  { "GET", "/images/{name*}/json", function(_, res, p)
    local i = bocker.image.get(p.name)
    if not i then return res:error(404, "No such image: " .. p.name) end
    res:json(docker.image_inspect(i, bocker.image.layers(i.id)))
  end },
  { "GET", "/images/{name*}/history", function(_, res, p)
    local rows, err = bocker.image.history(p.name)
    if not rows then return api.fail(res, err, 404) end
    res:json(docker.image_history(rows))
  end },
  { "GET", "/images/{name*}/get", function(_, res, p) save(res, { p.name }) end },
  { "POST", "/images/{name*}/tag", function(req, res, p)
    local repo, tag = req.query.repo or "", req.query.tag or ""
    if tag == "" then tag = "latest" end
    if not valid_repo(repo) or not valid_tag(tag) then return res:error(400, "invalid reference format: " .. repo .. ":" .. tag) end
    if not bocker.image.get(p.name) then return res:error(404, "No such image: " .. p.name) end
    local _, err = bocker.image.tag(p.name, repo .. ":" .. tag)
    if err then return api.fail(res, err) end
    res:status(201)
  end },
  { "POST", "/images/{name*}/push", push },
  { "DELETE", "/images/{name*}", delete },
}
