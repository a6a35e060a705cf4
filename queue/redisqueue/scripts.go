package redisqueue

import "github.com/redis/go-redis/v9"

// Keys of one queue, in the order every script takes them. They share the
// hash tag of the queue, so the scripts run on Redis Cluster.
const (
	kReady    = iota // list of ready IDs, oldest first
	kDelayed         // sorted set: ID -> ready at (ms)
	kInFlight        // sorted set: ID -> visibility deadline (ms)
	kMsgs            // hash: b:ID body, h:ID headers, e:ID enqueued (ms), a:ID attempt, t:ID token
	kDead            // sorted set: ID -> died at (ms)
	kDedup           // sorted set: dedup ID -> window end (ms)
	kSeq             // counter of message IDs
	kNotify          // list of wake-up tokens for idle receivers
	numKeys
)

// prelude reads the server clock in milliseconds.
const prelude = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function wake()
  if redis.call('LLEN', KEYS[8]) == 0 then redis.call('LPUSH', KEYS[8], 1) end
end
`

// enqueueScript adds messages. ARGV: dedup window (ms), then per message
// body, encoded headers, delay (ms), dedup ID. It returns how many it added.
var enqueueScript = redis.NewScript(prelude + `
local window = tonumber(ARGV[1])
local added, ready = 0, false
if redis.call('ZCARD', KEYS[6]) > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
end
for i = 2, #ARGV, 4 do
  local dd = ARGV[i + 3]
  local dup = false
  if dd ~= '' then
    if redis.call('ZSCORE', KEYS[6], dd) then
      dup = true
    else
      redis.call('ZADD', KEYS[6], now + window, dd)
    end
  end
  if not dup then
    local id = redis.call('INCR', KEYS[7])
    if ARGV[i + 1] == '' then
      redis.call('HSET', KEYS[4], 'b:' .. id, ARGV[i], 'e:' .. id, now, 'a:' .. id, 0, 't:' .. id, 0)
    else
      redis.call('HSET', KEYS[4], 'b:' .. id, ARGV[i], 'h:' .. id, ARGV[i + 1], 'e:' .. id, now, 'a:' .. id, 0, 't:' .. id, 0)
    end
    local delay = tonumber(ARGV[i + 2])
    if delay > 0 then
      redis.call('ZADD', KEYS[2], now + delay, id)
    else
      redis.call('RPUSH', KEYS[1], id)
    end
    ready = true
    added = added + 1
  end
end
if ready then wake() end
return added
`)

// receiveScript moves due delayed messages to the ready list, redelivers or
// kills messages whose visibility expired, and pops up to ARGV[1] ready
// messages for ARGV[2] ms; ARGV[3] is MaxAttempts. It returns per message ID,
// token, attempt, enqueued (ms), body and headers; or, with none ready, the
// number of ms until the next deadline (-1 for none).
var receiveScript = redis.NewScript(prelude + `
local maxAttempts = tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('RPUSH', KEYS[1], id)
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[3], id)
  if tonumber(redis.call('HGET', KEYS[4], 'a:' .. id)) >= maxAttempts then
    redis.call('ZADD', KEYS[5], now, id)
  else
    redis.call('RPUSH', KEYS[1], id)
  end
end
local ids = redis.call('LPOP', KEYS[1], ARGV[1])
if not ids then
  local next = -1
  for _, k in ipairs({KEYS[2], KEYS[3]}) do
    local first = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
    if first[2] then
      local w = math.max(tonumber(first[2]) - now, 0)
      if next < 0 or w < next then next = w end
    end
  end
  return next
end
local deadline = now + tonumber(ARGV[2])
local out = {}
for _, id in ipairs(ids) do
  local a = redis.call('HINCRBY', KEYS[4], 'a:' .. id, 1)
  local tok = redis.call('HINCRBY', KEYS[4], 't:' .. id, 1)
  redis.call('ZADD', KEYS[3], deadline, id)
  local v = redis.call('HMGET', KEYS[4], 'b:' .. id, 'h:' .. id, 'e:' .. id)
  out[#out + 1] = id
  out[#out + 1] = tok
  out[#out + 1] = a
  out[#out + 1] = tonumber(v[3])
  out[#out + 1] = v[1]
  out[#out + 1] = v[2] or ''
end
if #ids == tonumber(ARGV[1]) and redis.call('LLEN', KEYS[1]) > 0 then wake() end
return out
`)

// heldCheck sets held to whether ID ARGV[i] with token ARGV[i+1] is in
// flight and not expired.
const heldCheck = `
local function held(id, tok)
  local s = redis.call('ZSCORE', KEYS[3], id)
  return s and tonumber(s) > now and redis.call('HGET', KEYS[4], 't:' .. id) == tok
end
`

// ackScript deletes messages; ARGV holds ID, token pairs. It returns how
// many receipts were void.
var ackScript = redis.NewScript(prelude + heldCheck + `
local void = 0
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  if held(id, ARGV[i + 1]) then
    redis.call('ZREM', KEYS[3], id)
    redis.call('HDEL', KEYS[4], 'b:' .. id, 'h:' .. id, 'e:' .. id, 'a:' .. id, 't:' .. id)
  else
    void = void + 1
  end
end
return void
`)

// nackScript gives message ARGV[1] with token ARGV[2] back after ARGV[3] ms,
// or kills it if its attempt reached ARGV[4]. It returns 0 for a void
// receipt, 1 otherwise.
var nackScript = redis.NewScript(prelude + heldCheck + `
local id = ARGV[1]
if not held(id, ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[3], id)
local delay = tonumber(ARGV[3])
if tonumber(redis.call('HGET', KEYS[4], 'a:' .. id)) >= tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[5], now, id)
elseif delay > 0 then
  redis.call('ZADD', KEYS[2], now + delay, id)
  wake()
else
  redis.call('RPUSH', KEYS[1], id)
  wake()
end
return 1
`)

// extendScript sets the visibility deadline of message ARGV[1] with token
// ARGV[2] to ARGV[3] ms from now. It returns 0 for a void receipt.
var extendScript = redis.NewScript(prelude + heldCheck + `
if not held(ARGV[1], ARGV[2]) then return 0 end
local vis = tonumber(ARGV[3])
redis.call('ZADD', KEYS[3], now + vis, ARGV[1])
if vis == 0 then wake() end
return 1
`)

// deadScript returns up to ARGV[1] dead messages, oldest first: per message
// ID, attempt, enqueued (ms), body and headers.
var deadScript = redis.NewScript(`
local ids = redis.call('ZRANGE', KEYS[5], 0, tonumber(ARGV[1]) - 1)
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('HMGET', KEYS[4], 'a:' .. id, 'e:' .. id, 'b:' .. id, 'h:' .. id)
  out[#out + 1] = id
  out[#out + 1] = tonumber(v[1])
  out[#out + 1] = tonumber(v[2])
  out[#out + 1] = v[3]
  out[#out + 1] = v[4] or ''
end
return out
`)

// redriveScript moves the dead messages ARGV back to the ready list and
// returns how many it moved.
var redriveScript = redis.NewScript(prelude + `
local n = 0
for _, id in ipairs(ARGV) do
  if redis.call('ZREM', KEYS[5], id) == 1 then
    redis.call('HSET', KEYS[4], 'a:' .. id, 0)
    redis.call('RPUSH', KEYS[1], id)
    n = n + 1
  end
end
if n > 0 then wake() end
return n
`)

// lenScript returns the number of ready, delayed, in-flight and dead
// messages.
var lenScript = redis.NewScript(`
return {redis.call('LLEN', KEYS[1]), redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[5])}
`)
