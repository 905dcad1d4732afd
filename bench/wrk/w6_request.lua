-- wrk script for W6 and bench/soak.sh: POSTs one prepared body on every request and prints the
-- figures as one JSON line at the end.
--
--   wrk -t2 -c64 -d10s --latency -s bench/wrk/w6_request.lua URL -- BODY_FILE CONTENT_TYPE [HEADER_LENGTH]
--
-- BODY_FILE: the request body, sent as it is. CONTENT_TYPE: "application/json", or
-- "application/octet-stream" for the binary tensor data extension, where HEADER_LENGTH is the
-- byte length of the JSON header at the start of the body (Inference-Header-Content-Length).
--
-- Last line printed: {"requests", "non_2xx", "seconds", "req_per_s", "p50_ms", "p99_ms",
-- "errors"}, where requests counts every answer, non_2xx the answers wrk counts as status errors
-- (status 400 and above; none of the servers benchmarked answers these requests with 1xx or
-- 3xx), req_per_s only the 2xx answers (requests - non_2xx) per second, and errors counts
-- connect, read, write and timeout errors and the non_2xx answers. The harness works req_per_s
-- out again from requests, non_2xx and seconds (harness.wrk_figures).

function init(args)
  local path, content_type, header_length = args[1], args[2], args[3]
  if path == nil or content_type == nil then
    error("w6_request.lua needs BODY_FILE CONTENT_TYPE [HEADER_LENGTH] after --")
  end
  local file, reason = io.open(path, "rb")
  if file == nil then
    error("w6_request.lua: cannot read " .. path .. ": " .. tostring(reason))
  end
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  wrk.headers["Content-Type"] = content_type
  if header_length ~= nil then
    wrk.headers["Inference-Header-Content-Length"] = header_length
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout + e.status
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests": %d, "non_2xx": %d, "seconds": %.3f, "req_per_s": %.1f, "p50_ms": %.3f, ' ..
    '"p99_ms": %.3f, "errors": %d}\n',
    summary.requests, e.status, seconds, (summary.requests - e.status) / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
