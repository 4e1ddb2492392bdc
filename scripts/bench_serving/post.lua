-- wrk script for scripts/bench_serving.py: POST the JSON body in env BENCH_BODY (a file path) to /invocations.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.path = "/invocations"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
f:close()
