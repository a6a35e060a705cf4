package redisqueue

import "github.com/redis/go-redis/v9"

// Keys of one queue, in the order every script takes them. They share the
// hash tag of the queue, so the scripts run on Redis Cluster.
const (
	kReady    = iota // list of ready entries, oldest first
	kDelayed         // sorted set: entry -> ready at (ms)
	kInFlight        // sorted set: delivery member (see below) -> visibility deadline (ms)
	kMsgs            // hash: ID -> "enqueued(ms):" + packed headers and body; d:ID -> "n:r" of a dead message
	kDead            // sorted set: ID -> died at (ms)
	kDedup           // sorted set: dedup ID -> window end (ms)
	kSeq             // counter of message IDs
	kNotify          // list of wake-up tokens for idle receivers
	kMeta            // hash: r:ID deliveries before the last redrive of a live redriven message
	numKeys
)

// A message waiting in the ready list or among the delayed ones is an entry:
// its ID alone when it was never delivered, else "ID:n:r" with n its
// deliveries so far and r those before its last redrive. The token of a
// delivery is the message's delivery count, which only grows, so a member
// "ID:token" of the in-flight set names one delivery; the first delivery,
// token 1, is named by the bare ID, so that the common case builds no string
// on the server. A message's attempt is its delivery count minus the count at
// its last redrive. So a delivery costs one field of the message hash (the
// body) and one in-flight member, and the counts live in the entries, written
// only on the rare paths (expiry, nack, death, redrive). Every script works
// on whole batches with variadic commands, so a batch costs a handful of
// commands, not a handful per message.

// prelude reads the server clock in milliseconds and defines helpers.
const prelude = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function wake()
  if redis.call('LLEN', KEYS[8]) == 0 then redis.call('LPUSH', KEYS[8], 1) end
end
-- many calls cmd(key, opt, args[i..j]) (opt may be nil) in chunks that fit
-- Lua's stack; it returns the replies, concatenated when they are arrays and
-- summed when they are integers.
local function many(cmd, key, args, i, j, opt)
  local function call(s, e)
    if opt then return redis.call(cmd, key, opt, unpack(args, s, e)) end
    return redis.call(cmd, key, unpack(args, s, e))
  end
  if j - i < 4000 then return call(i, j) end
  local out, n, sum = {}, 0, 0
  for s = i, j, 4000 do
    local r = call(s, math.min(s + 3999, j))
    if type(r) == 'table' then
      for k = 1, #r do out[n + k] = r[k] end
      n = n + #r
    else
      sum = sum + r
    end
  end
  if n > 0 then return out end
  return sum
end
local function num(v) return tonumber(v) or 0 end
-- push appends entries[1..n] to the ready list. It wakes a receiver only
-- when the list was empty: otherwise one already was.
local function push(entries, n)
  local first = math.min(n, 4000)
  if redis.call('RPUSH', KEYS[1], unpack(entries, 1, first)) == first then wake() end
  if n > first then many('RPUSH', KEYS[1], entries, first + 1, n) end
end
-- die(id, n, r) moves a message with n deliveries, r of them before its
-- last redrive, to the dead letters.
local function die(id, n, r)
  redis.call('ZADD', KEYS[5], now, id)
  redis.call('HSET', KEYS[4], 'd:' .. id, n .. ':' .. r)
  if r > 0 then redis.call('HDEL', KEYS[9], 'r:' .. id) end
end
`

// ackFunc defines ack(first).
const ackFunc = `
-- ack(first) acks the receipts in ARGV from index first on: their count m,
-- then their m in-flight members, then their m IDs. It returns how many were
-- void.
local function ack(first)
  local m = tonumber(ARGV[first])
  if m == 0 then return 0 end
  local held, g = {}, 0
  -- For a few receipts ZMSCORE is one command; for more, formatting and
  -- parsing a score per receipt costs more than the two commands below.
  if m >= 4 and redis.call('ZCOUNT', KEYS[3], '-inf', now) == 0 then
    -- Nothing in flight has expired, so a receipt is held when its member is
    -- in flight. ZADD NX adds only the void ones, with a score no deadline
    -- has, and answers with a count.
    local a = {}
    for k = 1, m do
      a[2 * k - 1] = '-inf'
      a[2 * k] = ARGV[first + k]
    end
    local void = {}
    if many('ZADD', KEYS[3], a, 1, 2 * m, 'NX') > 0 then
      local vs = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '-inf')
      many('ZREM', KEYS[3], vs, 1, #vs)
      for _, v in ipairs(vs) do void[v] = true end
    end
    for k = 1, m do
      if not void[ARGV[first + k]] then
        g = g + 1
        held[g] = k
      end
    end
  else
    local scores = many('ZMSCORE', KEYS[3], ARGV, first + 1, first + m)
    for k = 1, m do
      local s = scores[k]
      if s and tonumber(s) > now then
        g = g + 1
        held[g] = k
      end
    end
  end
  if g > 0 then
    local gone, ids = {}, {}
    for j = 1, g do
      local k = held[j]
      gone[j] = ARGV[first + k]
      ids[j] = ARGV[first + m + k]
    end
    many('ZREM', KEYS[3], gone, 1, g)
    many('HDEL', KEYS[4], ids, 1, g)
    -- Only redriven messages have metadata, so this is skipped unless some
    -- exist.
    if redis.call('EXISTS', KEYS[9]) == 1 then
      for j = 1, g do ids[j] = 'r:' .. ids[j] end
      many('HDEL', KEYS[9], ids, 1, g)
    end
  end
  return m - g
end
`

// enqueueScript adds messages. ARGV: dedup window (ms), then a mode: "0"
// when every message is due now without a dedup ID, followed by one packed
// headers and body per message; otherwise "1" (no dedup IDs) or "2" (some),
// followed per message by its packed headers and body, delay (ms) and dedup
// ID. It returns how many it added.
var enqueueScript = redis.NewScript(prelude + `
local stamp = now .. ':'
if ARGV[2] == '0' then
  local n = #ARGV - 2
  local id = redis.call('INCRBY', KEYS[7], n) - n
  local fields, ready, format = {}, {}, string.format
  for k = 1, n do
    -- %d formats an integer, several times faster than tostring.
    local s = format('%d', id + k)
    fields[2 * k - 1] = s
    fields[2 * k] = stamp .. ARGV[k + 2]
    ready[k] = s
  end
  many('HSET', KEYS[4], fields, 1, 2 * n)
  push(ready, n)
  return n
end
local window = tonumber(ARGV[1])
if ARGV[2] == '2' then
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
for _, i in ipairs(keep) do
  id = id + 1
  local s = string.format('%d', id)
  fields[#fields + 1] = s
  fields[#fields + 1] = stamp .. ARGV[i]
  local delay = tonumber(ARGV[i + 1])
  if delay > 0 then
    delayed[#delayed + 1] = now + delay
    delayed[#delayed + 1] = s
  else
    ready[#ready + 1] = s
  end
end
many('HSET', KEYS[4], fields, 1, #fields)
if #delayed > 0 then
  many('ZADD', KEYS[2], delayed, 1, #delayed)
  wake() -- an idle receiver may wait for a later deadline
end
if #ready > 0 then push(ready, #ready) end
return #keep
`)

// receiveScript first acks the receipts from ARGV[4] on (see ack). Then it
// moves due delayed messages to the ready list, redelivers or kills
// messages whose visibility expired, and pops up to ARGV[1] ready messages
// for ARGV[2] ms; ARGV[3] is MaxAttempts. It returns the number of void
// acks and the number of ms until the next deadline when no message is
// ready (-1 for none, or when messages are returned), then, with messages,
// the array of their entries and the array of their hash values.
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
  local ids, ns, rs = {}, {}, {}
  for k, m in ipairs(expired) do
    local id, n = string.match(m, '^([^:]+):?(%d*)$')
    ids[k], ns[k], rs[k] = id, tonumber(n) or 1, 'r:' .. id
  end
  local r = {}
  if redis.call('EXISTS', KEYS[9]) == 1 then r = redis.call('HMGET', KEYS[9], unpack(rs)) end
  local back = {}
  for k, id in ipairs(ids) do
    local n, base = ns[k], num(r[k])
    if n - base >= maxAttempts then
      die(id, n, base)
    else
      back[#back + 1] = id .. ':' .. n .. ':' .. base
    end
  end
  if #back > 0 then redis.call('RPUSH', KEYS[1], unpack(back)) end
end
local es = redis.call('LPOP', KEYS[1], ARGV[1])
if not es then
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
-- A never-delivered entry is its ID, and so is the member of its first
-- delivery.
local deadline = string.format('%d', now + tonumber(ARGV[2]))
local ids, fly, find = es, {}, string.find
for k, e in ipairs(es) do
  fly[2 * k - 1] = deadline
  local c = find(e, ':', 1, true)
  if c then
    if ids == es then
      ids = {}
      for j = 1, k - 1 do ids[j] = es[j] end
    end
    local id = string.sub(e, 1, c - 1)
    ids[k] = id
    fly[2 * k] = id .. ':' .. (tonumber(string.match(e, '^%d+', c + 1)) + 1)
  else
    if ids ~= es then ids[k] = e end
    fly[2 * k] = e
  end
end
local v = many('HMGET', KEYS[4], ids, 1, #es)
many('ZADD', KEYS[3], fly, 1, 2 * #es)
if #es == tonumber(ARGV[1]) and redis.call('LLEN', KEYS[1]) > 0 then wake() end
return {void, -1, es, v}
`)

// heldCheck defines held(member): whether the delivery is in flight and its
// visibility has not expired.
const heldCheck = `
local function held(m)
  local s = redis.call('ZSCORE', KEYS[3], m)
  return s and tonumber(s) > now
end
`

// ackScript deletes messages; ARGV holds receipts as ack reads them. It
// returns how many receipts were void.
var ackScript = redis.NewScript(prelude + ackFunc + `
return ack(1)
`)

// nackScript gives message ARGV[1] with member ARGV[2] and token ARGV[3]
// back after ARGV[4] ms, or kills it if its attempt reached ARGV[5]. It
// returns 0 for a void receipt, 1 otherwise.
var nackScript = redis.NewScript(prelude + heldCheck + `
local id, m, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
if not held(m) then return 0 end
redis.call('ZREM', KEYS[3], m)
local base = num(redis.call('HGET', KEYS[9], 'r:' .. id))
local delay = tonumber(ARGV[4])
local e = id .. ':' .. n .. ':' .. base
if n - base >= tonumber(ARGV[5]) then
  die(id, n, base)
elseif delay > 0 then
  redis.call('ZADD', KEYS[2], now + delay, e)
  wake()
else
  redis.call('RPUSH', KEYS[1], e)
  wake()
end
return 1
`)

// extendScript sets the visibility deadline of the delivery with member
// ARGV[1] to ARGV[2] ms from now. It returns 0 for a void receipt.
var extendScript = redis.NewScript(prelude + heldCheck + `
local m = ARGV[1]
if not held(m) then return 0 end
local vis = tonumber(ARGV[2])
redis.call('ZADD', KEYS[3], 'XX', now + vis, m)
if vis == 0 then wake() end
return 1
`)

// deadScript returns up to ARGV[1] dead messages, oldest first: per message
// ID, attempt and its hash value.
var deadScript = redis.NewScript(prelude + `
local ids = redis.call('ZRANGE', KEYS[5], 0, tonumber(ARGV[1]) - 1)
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('HMGET', KEYS[4], id, 'd:' .. id)
  local n, r = string.match(v[2] or '', '^(%d+):(%d+)$')
  out[#out + 1] = id
  out[#out + 1] = num(n) - num(r)
  out[#out + 1] = v[1]
end
return out
`)

// redriveScript moves the dead messages ARGV back to the ready list and
// returns how many it moved.
var redriveScript = redis.NewScript(prelude + `
local n = 0
for _, id in ipairs(ARGV) do
  if redis.call('ZREM', KEYS[5], id) == 1 then
    local f = 'd:' .. id
    local d = num(string.match(redis.call('HGET', KEYS[4], f) or '', '^%d+'))
    redis.call('HDEL', KEYS[4], f)
    if d > 0 then redis.call('HSET', KEYS[9], 'r:' .. id, d) end
    redis.call('RPUSH', KEYS[1], id .. ':' .. d .. ':' .. d)
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
