-- Image pruning, shared by `prune`, `image prune`, `system prune` and
-- POST /images/prune: unused images (no container, no child image),
-- untagged ones only unless `all`. Repeats, as removing one can leave its
-- parent unused.
local M = {}

-- Returns the removed ids (parents removed with an image too), in order,
-- the names they had, and the bytes they held.
function M.prune(all)
  local removed, untagged, bytes = {}, {}, 0
  repeat
    local used, removed_any = {}, false
    for _, c in ipairs(bocker.container.list()) do used[c.image] = true end
    local imgs = bocker.image.list()
    for _, i in ipairs(imgs) do if i.parent then used[i.parent] = true end end
    for _, i in ipairs(imgs) do
      if not used[i.id] and (all or #(i.tags or {}) == 0) then
        local r = bocker.image.remove(i.id)
        if r then
          removed_any = true
          bytes = bytes + (i.size or 0)
          for _, t in ipairs(i.tags or {}) do untagged[#untagged + 1] = t end
          removed[#removed + 1] = r.id
          for _, p in ipairs(r.parents or {}) do removed[#removed + 1] = p end
        end
      end
    end
  until not removed_any
  return removed, untagged, bytes
end

return M
