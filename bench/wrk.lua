-- The wrk script of bench/run.py: signed-in requests to the hub, and the results as one
-- line of JSON ("BENCH_RESULT {...}") for bench/run.py to read.
--
-- Arguments after wrk's own, behind "--":
--   page <cookie> <path> [<path> ...]
--       GET the paths, each thread going round them from its own starting point (one
--       path: the same request every time). <cookie> is the hub_session cookie's value.
--   post <cookie> <csrf> <path> <body>
--       POST the form body (application/x-www-form-urlencoded) to the path, every time,
--       with the CSRF token in its header, as the browser sends a form (no htmx).
--   signup <csrf> <plan> [<plan> ...]
--       Thread i takes plan i, "<cookie>|<event id>|<first>", and POSTs, as htmx does,
--       /events/<id>/register and /events/<id>/withdraw alternately, starting with
--       <first>. Run with one connection per thread: wrk sends a connection's next
--       request only after the answer to the last, so the two always alternate.
--
-- BENCH_WRK_DEBUG=1 in the environment prints every answer of 400 and above (and slows
-- wrk down: it then reads every answer).

local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_index", thread_count)
end

local requests = {}
local next_request = 1
local advance_on_request = true
local debug = os.getenv("BENCH_WRK_DEBUG")
local answers = 0

local function split_plan(plan)
   local cookie, event_id, first = plan:match("^([^|]+)|(%d+)|(%a+)$")
   if not cookie then
      error("bad sign-up plan: " .. plan)
   end
   return cookie, event_id, first
end

local function show(status, body)
   answers = answers + 1
   if status >= 400 then
      local text = body:gsub("<[^>]+>", " "):gsub("%s+", " ")
      io.write(string.format("thread %d, answer %d: %d %s\n", thread_index or 0, answers, status, text))
   end
end

function init(args)
   local mode = args[1]
   local index = thread_index or 1
   if mode == "page" then
      local headers = { ["Cookie"] = "hub_session=" .. args[2] }
      for i = 3, #args do
         requests[#requests + 1] = wrk.format("GET", args[i], headers)
      end
      next_request = (index - 1) % #requests + 1
   elseif mode == "post" then
      local headers = {
         ["Cookie"] = "hub_session=" .. args[2],
         ["X-CSRF-Token"] = args[3],
         ["Content-Type"] = "application/x-www-form-urlencoded",
      }
      requests[1] = wrk.format("POST", args[4], headers, args[5] or "")
   elseif mode == "signup" then
      local plans = #args - 2
      local cookie, event_id, first = split_plan(args[2 + (index - 1) % plans + 1])
      local headers = {
         ["Cookie"] = "hub_session=" .. cookie,
         ["X-CSRF-Token"] = args[2],
         ["HX-Request"] = "true",
         ["Content-Type"] = "application/x-www-form-urlencoded",
      }
      local register = wrk.format("POST", "/events/" .. event_id .. "/register", headers, "")
      local withdraw = wrk.format("POST", "/events/" .. event_id .. "/withdraw", headers, "")
      if first == "register" then
         requests = { register, withdraw }
      else
         requests = { withdraw, register }
      end
      if debug then
         io.write(string.format("thread %d: event %s, %s first\n", index, event_id, first))
      end
      -- The next POST is chosen when the answer arrives, not when request() is called:
      -- wrk calls request() once more on its first thread, to check the request.
      advance_on_request = false
      response = function(status, headers, body)
         next_request = next_request % #requests + 1
         if debug then
            show(status, body)
         end
      end
   else
      error("the first argument is page, post or signup, not " .. tostring(mode))
   end
   if debug and response == nil then
      response = function(status, headers, body)
         show(status, body)
      end
   end
end

function request()
   local chosen = requests[next_request]
   if advance_on_request then
      next_request = next_request % #requests + 1
   end
   return chosen
end

function done(summary, latency, requests)
   local errors = summary.errors
   local points = {}
   for _, p in ipairs({ 50, 75, 90, 95, 99, 99.9 }) do
      points[#points + 1] = string.format('"%s": %.0f', tostring(p), latency:percentile(p))
   end
   io.write(string.format(
      'BENCH_RESULT {"requests": %.0f, "duration_us": %.0f, "bytes": %.0f, '
         .. '"errors": {"connect": %.0f, "read": %.0f, "write": %.0f, "status": %.0f, '
         .. '"timeout": %.0f}, "latency_us": {"min": %.0f, "mean": %.1f, "max": %.0f, '
         .. '"percentiles": {%s}}}\n',
      summary.requests, summary.duration, summary.bytes,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout,
      latency.min, latency.mean, latency.max, table.concat(points, ", ")
   ))
end
