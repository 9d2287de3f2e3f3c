-- The mixed load of bench/load/run.py for wrk (--driver wrk): one connection per wrk thread, so each
-- thread is one virtual user whose requests and responses strictly alternate. Each request is drawn
-- from the mix (dashboard, sign-in, redemption, partner accrual with a share of duplicates); each
-- response is checked and logged with its latency (CLOCK_MONOTONIC through LuaJIT's ffi), so
-- run.py computes the percentiles per operation and the ledger checks from the logs.
--
-- Arguments (after --): the folder run.py prepared, the number of threads, the random seed, the load's
-- seconds. Files in the folder: members.tsv (account, token, sign-in body), accruals.tsv (transaction,
-- account, then webhook id, timestamp, signature and body of the delivery and of the same transaction
-- under another webhook id), mix.tsv (operation, weight), dashboard.json, redeem.json (a body with
-- __REQUEST__ where the request id goes). Each thread writes log-<thread>.tsv: operation, account,
-- latency in microseconds, HTTP status, outcome, partner transaction.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } milesgate_timespec;
int clock_gettime(int clk_id, milesgate_timespec *tp);
]]
local clock = ffi.new("milesgate_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local function read_all(path)
  local file = assert(io.open(path, "r"))
  local text = file:read("*a")
  file:close()
  return text
end

local function fields(line)
  local out = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    out[#out + 1] = field
  end
  return out
end

function init(args)
  local folder, threads = args[1], tonumber(args[2])
  math.randomseed(tonumber(args[3]) * 1000 + id)
  deadline = now_us() + tonumber(args[4]) * 1000000
  members = {}
  for line in io.lines(folder .. "/members.tsv") do
    local f = fields(line)
    members[#members + 1] = { account = f[1], token = "Bearer " .. f[2], sign_in = f[3] }
  end
  accruals = {}
  local n = 0
  for line in io.lines(folder .. "/accruals.tsv") do
    if n % threads == id then
      accruals[#accruals + 1] = fields(line)
    end
    n = n + 1
  end
  next_accrual, sent = 0, {}
  operations = {}
  for line in io.lines(folder .. "/mix.tsv") do
    local f = fields(line)
    for _ = 1, tonumber(f[2]) do
      operations[#operations + 1] = f[1]
    end
  end
  duplicate_share = tonumber(read_all(folder .. "/duplicate_share.txt"))
  dashboard = read_all(folder .. "/dashboard.json")
  redeem = read_all(folder .. "/redeem.json")
  log = assert(io.open(folder .. "/log-" .. id .. ".tsv", "w"))
  log:setvbuf("line") -- a thread stopped by wrk's -d keeps what it logged
  requests_made = 0
  current = nil
end

local function delivery(f, offset)
  return wrk.format("POST", "/webhooks/partners/swiss", {
    ["webhook-id"] = f[offset], ["webhook-timestamp"] = f[offset + 1], ["webhook-signature"] = f[offset + 2],
    ["content-type"] = "application/json" }, f[offset + 3])
end

function request()
  if now_us() >= deadline then
    log:close()
    wrk.thread:stop()
    current = { op = "stop" }
    return wrk.format("GET", "/healthz")
  end
  requests_made = requests_made + 1
  local member = members[math.random(#members)]
  local op = operations[math.random(#operations)]
  if op == "accrual" and next_accrual >= #accruals then
    op = "dashboard" -- this thread's pre-signed deliveries are spent
  end
  current = { op = op, account = member.account, txn = "", started = 0 }
  local json = { ["content-type"] = "application/json" }
  local req
  if op == "dashboard" then
    req = wrk.format("POST", "/graphql", { ["content-type"] = "application/json", authorization = member.token },
      dashboard)
  elseif op == "sign_in" then
    req = wrk.format("POST", "/graphql", json, member.sign_in)
  elseif op == "redeem" then
    local body = redeem:gsub("__REQUEST__", "w" .. id .. "-" .. requests_made)
    req = wrk.format("POST", "/graphql", { ["content-type"] = "application/json", authorization = member.token },
      body)
  elseif #sent > 0 and math.random() < duplicate_share then
    local f = accruals[sent[math.random(#sent)]]
    current.op, current.account, current.txn = "accrual_duplicate", f[2], f[1]
    -- the same delivery again, or the same partner transaction under a new webhook id
    req = delivery(f, math.random() < 0.5 and 3 or 7)
  else
    next_accrual = next_accrual + 1
    local f = accruals[next_accrual]
    current.account, current.txn, current.index = f[2], f[1], next_accrual
    req = delivery(f, 3)
  end
  current.started = now_us()
  return req
end

function response(status, headers, body)
  local c = current
  if c == nil or c.op == "stop" then
    return
  end
  local latency = now_us() - c.started
  local outcome = "ok"
  if c.op == "dashboard" then
    if status ~= 200 or body:find('"errors"', 1, true) then
      outcome = "error:" .. status
    end
  elseif c.op == "sign_in" then
    if not body:find('"SignedIn"', 1, true) then
      outcome = "error:" .. status
    end
  elseif c.op == "redeem" then
    if body:find('"Redeemed"', 1, true) then
      outcome = "redeemed"
    elseif body:find('"InsufficientMiles"', 1, true) then
      outcome = "insufficient"
    else
      outcome = "error:" .. status
    end
  elseif status ~= 200 and status ~= 202 then
    outcome = "error:" .. status
  elseif c.op == "accrual" then
    sent[#sent + 1] = c.index -- acknowledged: it must be credited exactly once
  end
  log:write(c.op, "\t", c.account, "\t", string.format("%d", latency), "\t", status, "\t", outcome, "\t",
    c.txn, "\n")
  current = nil
end
