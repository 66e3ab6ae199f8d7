-- wrk script: POST /api/v1/verify with a different card each request.
-- Reads request bodies (one JSON object per line) from $BENCH_BODIES and the key from $BENCH_KEY.
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
request = function()
  counter = counter + 1
  return wrk.format(nil, "/api/v1/verify", nil, bodies[(counter % #bodies) + 1])
end
