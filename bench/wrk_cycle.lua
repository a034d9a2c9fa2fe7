-- wrk script: a fixed number of requests rather than a fixed duration.
-- Each thread walks the URL list (one path per line of $WRK_PATHS) in an interleaved slice, so with
-- $WRK_TOTAL equal to the list's length every URL is requested exactly once (every key PUT once), and
-- stops after its share of $WRK_TOTAL responses, leaving a file named after its slot in $WRK_DONE_DIR.
-- wrk itself runs for its -d duration whatever its threads do; the caller sends it SIGINT once every
-- thread left its file, and wrk then reports over the time it really ran. $WRK_METHOD is the method,
-- with a body of $WRK_BODY_BYTES bytes.

local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local method = os.getenv("WRK_METHOD") or "GET"
local body_bytes = tonumber(os.getenv("WRK_BODY_BYTES") or "0")
local body = nil
local headers = {}
if body_bytes > 0 then
  body = string.rep("x", body_bytes)
elseif method == "PUT" then
  headers["Content-Length"] = "0"
end
local threads = tonumber(os.getenv("WRK_THREADS") or "1")
local total = tonumber(os.getenv("WRK_TOTAL") or tostring(#paths))

local thread_count = 0
function setup(thread)
  thread:set("slot", thread_count)
  thread_count = thread_count + 1
end

local cursor = nil
local quota = nil
local responses = 0

function init(args)
  cursor = slot
  quota = math.floor(total / threads)
  if slot < total % threads then quota = quota + 1 end
end

function request()
  local path = paths[(cursor % #paths) + 1]
  cursor = cursor + threads
  return wrk.format(method, path, headers, body)
end

local finished = false

function response(status, headers, body)
  responses = responses + 1
  if responses >= quota and not finished then
    finished = true
    local marker = io.open(os.getenv("WRK_DONE_DIR") .. "/" .. slot, "w")
    marker:close()
    wrk.thread:stop()
  end
end
