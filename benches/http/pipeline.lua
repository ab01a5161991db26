-- wrk: 16 GET requests pipelined per write (each connection keeps 16 in
-- flight), as uWebSockets and hyper benchmarks pipeline.
init = function(args)
  local depth = tonumber(args[1]) or 16
  local batch = {}
  for i = 1, depth do
    batch[i] = wrk.format("GET", "/")
  end
  request_batch = table.concat(batch)
end

request = function()
  return request_batch
end
