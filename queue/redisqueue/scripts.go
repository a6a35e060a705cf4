package redisqueue

import "github.com/redis/go-redis/v9"

// Keys of one queue, in the order every script takes them. They share the
// hash tag of the queue, so the scripts run on Redis Cluster.
const (
	kReady    = iota // list of ready IDs, oldest first
	kDelayed         // sorted set: ID -> ready at (ms)
	kInFlight        // sorted set: "ID:token" -> visibility deadline (ms)
	kMsgs            // hash: m:ID "enqueued(ms):" + packed headers and body, n:ID deliveries, r:ID deliveries before the last redrive
	kDead            // sorted set: ID -> died at (ms)
	kDedup           // sorted set: dedup ID -> window end (ms)
	kSeq             // counter of message IDs
	kNotify          // list of wake-up tokens for idle receivers
	numKeys
)

// The token of a delivery is the message's delivery count, which only
// grows, so "ID:token" names one delivery; a message's attempt is its
// delivery count minus the count at its last redrive. Every script works on
// whole batches with variadic commands, so a batch costs a handful of
// commands, not a handful per message.

// prelude reads the server clock in milliseconds and defines helpers.
const prelude = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function wake()
  if redis.call('LLEN', KEYS[8]) == 0 then redis.call('LPUSH', KEYS[8], 1) end
end
-- many calls cmd(key, args...) in chunks that fit Lua's stack; returns the
-- replies, concatenated when they are arrays.
local function many(cmd, key, args)
  local out, last = {}, nil
  for i = 1, #args, 4000 do
    last = redis.call(cmd, key, unpack(args, i, math.min(i + 3999, #args)))
    if type(last) == 'table' then
      for _, v in ipairs(last) do out[#out + 1] = v end
    end
  end
  if type(last) == 'table' then return out end
  return last
end
local function num(v) return tonumber(v) or 0 end
`

// ackFunc defines ack(first).
const ackFunc = `
-- ack(first) acks the ID, token pairs in ARGV from index first on and
-- returns how many were void.
local function ack(first)
  local members = {}
  for i = first, #ARGV, 2 do members[#members + 1] = ARGV[i] .. ':' .. ARGV[i + 1] end
  if #members == 0 then return 0 end
  local scores = many('ZMSCORE', KEYS[3], members)
  local gone, fields = {}, {}
  for k, s in ipairs(scores) do
    if s and tonumber(s) > now then
      local id = ARGV[first + 2 * (k - 1)]
      gone[#gone + 1] = members[k]
      local f = #fields
      fields[f + 1], fields[f + 2], fields[f + 3] = 'm:' .. id, 'n:' .. id, 'r:' .. id
    end
  end
  if #gone > 0 then
    many('ZREM', KEYS[3], gone)
    many('HDEL', KEYS[4], fields)
  end
  return #members - #gone
end
`

// enqueueScript adds messages. ARGV: dedup window (ms), whether any
// message has a dedup ID ("1"/"0"), then per message its packed headers and
// body, delay (ms), dedup ID. It returns how many it added.
var enqueueScript = redis.NewScript(prelude + `
local window = tonumber(ARGV[1])
if ARGV[2] == '1' then
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
end
local keep = {}
for i = 3, #ARGV, 3 do
  local dd = ARGV[i + 2]
  if dd == '' then
    keep[#keep + 1] = i
  elseif not redis.call('ZSCORE', KEYS[6], dd) then
    redis.call('ZADD', KEYS[6], now + window, dd)
    keep[#keep + 1] = i
  end
end
if #keep == 0 then return 0 end
local id = redis.call('INCRBY', KEYS[7], #keep) - #keep
local fields, ready, delayed = {}, {}, {}
local stamp = now .. ':'
for _, i in ipairs(keep) do
  id = id + 1
  fields[#fields + 1] = 'm:' .. id
  fields[#fields + 1] = stamp .. ARGV[i]
  local delay = tonumber(ARGV[i + 1])
  if delay > 0 then
    delayed[#delayed + 1] = now + delay
    delayed[#delayed + 1] = id
  else
    ready[#ready + 1] = id
  end
end
many('HSET', KEYS[4], fields)
if #delayed > 0 then
  many('ZADD', KEYS[2], delayed)
  wake() -- an idle receiver may wait for a later deadline
end
-- Wake a receiver only when the list was empty: otherwise one already was.
if #ready > 0 and many('RPUSH', KEYS[1], ready) == #ready then wake() end
return #keep
`)

// receiveScript first acks the ID, token pairs from ARGV[4] on. Then it
// moves due delayed messages to the ready list, redelivers or kills
// messages whose visibility expired, and pops up to ARGV[1] ready messages
// for ARGV[2] ms; ARGV[3] is MaxAttempts. It returns the number of void
// acks, the number of ms until the next deadline when no message is ready
// (-1 for none, or when messages are returned), then per message ID, token,
// attempt and its m: field.
var receiveScript = redis.NewScript(prelude + ackFunc + `
local void = ack(4)
local maxAttempts = tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
if #due > 0 then
  redis.call('ZREM', KEYS[2], unpack(due))
  redis.call('RPUSH', KEYS[1], unpack(due))
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1000)
if #expired > 0 then
  redis.call('ZREM', KEYS[3], unpack(expired))
  local ids, f = {}, {}
  for k, m in ipairs(expired) do
    local id = string.match(m, '^(%d+):')
    ids[k] = id
    f[#f + 1] = 'n:' .. id
    f[#f + 1] = 'r:' .. id
  end
  local v = redis.call('HMGET', KEYS[4], unpack(f))
  local dead, back = {}, {}
  for k, id in ipairs(ids) do
    if num(v[2 * k - 1]) - num(v[2 * k]) >= maxAttempts then
      dead[#dead + 1] = now
      dead[#dead + 1] = id
    else
      back[#back + 1] = id
    end
  end
  if #dead > 0 then redis.call('ZADD', KEYS[5], unpack(dead)) end
  if #back > 0 then redis.call('RPUSH', KEYS[1], unpack(back)) end
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
  return {void, next}
end
local f = {}
for _, id in ipairs(ids) do
  f[#f + 1] = 'n:' .. id
  f[#f + 1] = 'r:' .. id
  f[#f + 1] = 'm:' .. id
end
local v = many('HMGET', KEYS[4], f)
local deadline = now + tonumber(ARGV[2])
local out, set, fly = {void, -1}, {}, {}
for k, id in ipairs(ids) do
  local o = 3 * (k - 1)
  local n = num(v[o + 1]) + 1
  set[#set + 1] = 'n:' .. id
  set[#set + 1] = n
  fly[#fly + 1] = deadline
  fly[#fly + 1] = id .. ':' .. n
  out[#out + 1] = id
  out[#out + 1] = n
  out[#out + 1] = n - num(v[o + 2])
  out[#out + 1] = v[o + 3]
end
many('HSET', KEYS[4], set)
many('ZADD', KEYS[3], fly)
if #ids == tonumber(ARGV[1]) and redis.call('LLEN', KEYS[1]) > 0 then wake() end
return out
`)

// heldCheck defines held(member): whether the delivery "ID:token" is in
// flight and its visibility has not expired.
const heldCheck = `
local function held(m)
  local s = redis.call('ZSCORE', KEYS[3], m)
  return s and tonumber(s) > now
end
`

// ackScript deletes messages; ARGV holds ID, token pairs. It returns how
// many receipts were void.
var ackScript = redis.NewScript(prelude + ackFunc + `
return ack(1)
`)

// nackScript gives message ARGV[1] with token ARGV[2] back after ARGV[3] ms,
// or kills it if its attempt reached ARGV[4]. It returns 0 for a void
// receipt, 1 otherwise.
var nackScript = redis.NewScript(prelude + heldCheck + `
local id = ARGV[1]
local m = id .. ':' .. ARGV[2]
if not held(m) then return 0 end
redis.call('ZREM', KEYS[3], m)
local v = redis.call('HMGET', KEYS[4], 'n:' .. id, 'r:' .. id)
local delay = tonumber(ARGV[3])
if num(v[1]) - num(v[2]) >= tonumber(ARGV[4]) then
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
local m = ARGV[1] .. ':' .. ARGV[2]
if not held(m) then return 0 end
local vis = tonumber(ARGV[3])
redis.call('ZADD', KEYS[3], 'XX', now + vis, m)
if vis == 0 then wake() end
return 1
`)

// deadScript returns up to ARGV[1] dead messages, oldest first: per message
// ID, attempt and its m: field.
var deadScript = redis.NewScript(prelude + `
local ids = redis.call('ZRANGE', KEYS[5], 0, tonumber(ARGV[1]) - 1)
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('HMGET', KEYS[4], 'n:' .. id, 'r:' .. id, 'm:' .. id)
  out[#out + 1] = id
  out[#out + 1] = num(v[1]) - num(v[2])
  out[#out + 1] = v[3]
end
return out
`)

// redriveScript moves the dead messages ARGV back to the ready list and
// returns how many it moved.
var redriveScript = redis.NewScript(prelude + `
local n = 0
for _, id in ipairs(ARGV) do
  if redis.call('ZREM', KEYS[5], id) == 1 then
    redis.call('HSET', KEYS[4], 'r:' .. id, num(redis.call('HGET', KEYS[4], 'n:' .. id)))
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
