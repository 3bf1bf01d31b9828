-- wrk script for bench/: POST requests from a file of "key<TAB>path" lines, a body from a file.
-- Each thread takes its own contiguous slice of the lines and cycles through it, so a list of
-- 10 000 distinct keys is walked once per pass without two threads sending the same key.
-- Usage: wrk ... -s loadgen.lua URL -- REQUESTS_FILE BODY_FILE NTHREADS
-- Prints one line "BENCHJSON {...}" with counts, errors, latency percentiles and statuses.

local next_tid = 0
local threads = {}

function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
   table.insert(threads, thread)
end

reqs = {}
pos = 0
counts = {}

function init(args)
   local fh = io.open(args[2], "rb")
   local body = fh:read("*a")
   fh:close()
   local nthreads = tonumber(args[3])
   local lines = {}
   for line in io.lines(args[1]) do
      lines[#lines + 1] = line
   end
   local first, last = 1, #lines
   local per = math.floor(#lines / nthreads)
   if per > 0 then
      first = tid * per + 1
      last = (tid == nthreads - 1) and #lines or (tid + 1) * per
   end
   for i = first, last do
      local key, path = lines[i]:match("^(.-)\t(.*)$")
      local headers = { ["Content-Type"] = "application/json" }
      if key:sub(1, 7) == "sha256=" then
         headers["X-Hub-Signature-256"] = key -- the signed scenario: a GitHub delivery
         -- formatted per request: each delivery needs its own X-GitHub-Delivery (SPEC 7)
         reqs[#reqs + 1] = { path = path, headers = headers, body = body }
      else
         if key ~= "" then
            headers["X-Api-Key"] = key
         end
         reqs[#reqs + 1] = wrk.format("POST", path, headers, body)
      end
   end
   pos = 0
end

run_id = string.format("%x%x", os.time(), math.random(0, 0x7fffffff))
sent = 0

function request()
   pos = pos % #reqs + 1
   local r = reqs[pos]
   if type(r) == "string" then
      return r
   end
   sent = sent + 1
   r.headers["X-GitHub-Delivery"] = run_id .. "-" .. tid .. "-" .. sent
   return wrk.format("POST", r.path, r.headers, r.body)
end

function response(status, headers, body)
   counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
   local total = {}
   for _, thread in ipairs(threads) do
      local c = thread:get("counts")
      for status, n in pairs(c) do
         total[status] = (total[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(total) do
      parts[#parts + 1] = string.format('"%d":%d', status, n)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
      '"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"statuses":{%s}}\n',
      summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(99), latency.max, table.concat(parts, ",")))
end
