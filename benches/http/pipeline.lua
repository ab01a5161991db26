-- wrk: 16 GET requests pipelined per write (each connection keeps 16 in
-- flight). The batch is made static: wrk.init builds wrk.request from
-- wrk.format() right after init(), so returning the batch there makes wrk
-- count the pipeline depth once and send the same bytes each time, with no
-- Lua call per batch (a `request` function would cost one per batch).
init = function(args)
  local depth = tonumber(args[1]) or 16
  local batch = string.rep(wrk.format("GET", "/"), depth)
  wrk.format = function()
    return batch
  end
end
