-- verify.lua - the wrk script of bench/api/run.sh: GET /v1/verify?email=ADDR
-- over a list of addresses.
--
-- Usage: wrk -t1 -c64 -d10s --latency -s verify.lua URL -- MODE LIST [TAG]
--
--   LIST  the address list, one "local<TAB>domain" pair a line (the address
--         is local@domain); written by run.sh from a fixed seed.
--   MODE  "list":   the addresses of LIST in order, round and round (after a
--                   warm-up pass every request is answered from the cache);
--                   the requests are formatted once, in init().
--         "unique": every request a new address: the local part of the next
--                   LIST line with TAG and a request counter appended, so no
--                   address repeats during the run (nor across runs with
--                   different TAGs) and none can come from the cache.
-- Headers given with -H (Authorization: Bearer KEY) are sent with every
-- request: wrk.format() takes wrk.headers when given none.
--
-- When the run ends, done() prints one line that run.sh parses:
--   WRKBENCH requests=N duration_us=N p50_us=N p99_us=N status=N connect=N
--            read=N write=N timeout=N
-- (status counts answers >= 400; the others are socket errors).

local mode, reqs, locals, domains, tag
local n, i, counter = 0, 0, 0

-- Percent-encodes everything but RFC 3986's unreserved characters.
local function urlencode(s)
   return (s:gsub("[^%w%-%._~]", function(c)
      return string.format("%%%02X", string.byte(c))
   end))
end

function init(args)
   mode = args[1]
   local file = args[2]
   tag = args[3] or "u"
   if (mode ~= "list" and mode ~= "unique") or not file then
      error("verify.lua: arguments: list|unique LIST [TAG]")
   end
   local f = assert(io.open(file, "r"))
   locals, domains, reqs = {}, {}, {}
   for line in f:lines() do
      local l, d = line:match("^([^\t]*)\t(.*)$")
      if l then
         n = n + 1
         if mode == "list" then
            reqs[n] = wrk.format("GET", "/v1/verify?email=" .. urlencode(l .. "@" .. d))
         else
            locals[n] = urlencode(l)
            domains[n] = urlencode(d)
         end
      end
   end
   f:close()
   if n == 0 then
      error("verify.lua: " .. file .. " holds no local<TAB>domain lines")
   end
end

function request()
   i = i % n + 1
   if mode == "list" then
      return reqs[i]
   end
   counter = counter + 1
   return wrk.format("GET", "/v1/verify?email=" .. locals[i] .. tag .. counter ..
                     "%40" .. domains[i])
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRKBENCH requests=%d duration_us=%d p50_us=%d p99_us=%d status=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      e.status, e.connect, e.read, e.write, e.timeout))
end
