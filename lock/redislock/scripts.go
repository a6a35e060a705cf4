package redislock

import "github.com/redis/go-redis/v9"

// Every script takes the keys of one lock, all under the hash tag {key}:
// KEYS[1] the lock, KEYS[2] the fencing counter, KEYS[3] the waiters' queue
// (a list of values), KEYS[4] the waiters' deadlines (a hash: value -> server
// time in ms), KEYS[5] the caller's wake-up list. Scripts that cannot touch
// the last keys (TryLock, Refresh, Release) pass only the first ones.
//
// A caller's value is "<ttl ms>:<id>:<owner>", unique to one request for the
// lock. The lock holds "<token>:<value>" of its holder, set with PX, and a
// "+" before that while waiters are queued: a release that finds the lock
// unmarked just deletes it, in two commands, as a lock without a queue
// would. Release hands a marked lock to the first live waiter by setting it
// to that waiter's token and value and pushing the token onto the waiter's
// wake-up list, named ARGV[2] .. value, in the same slot as the declared
// keys.

// fenceLua sets c to the next fencing token of the lock whose counter is
// KEYS[2], with fttl the counter's TTL in ms: the counter plus one, or, when
// there is no counter (the first grant, a restart without persistence, or
// the counter's TTL ran out), the server's clock in microseconds. Tokens thus
// keep increasing when the counter is lost, as long as the clock is not set
// back: the counter never runs ahead of the clock, since no key is granted
// more than once per microsecond. The counter's TTL is set when it starts
// and not extended, so it starts again from the clock once a day: an INCR
// is all a grant costs. It is pasted inline rather than defined as a Lua
// function, which would cost a closure per call.
func fenceLua(fttl string) string {
	return `
  c = redis.call('INCR', KEYS[2])
  if c == 1 then
    local t = redis.call('TIME')
    c = tonumber(t[1]) * 1000000 + tonumber(t[2])
    redis.call('SET', KEYS[2], string.format('%.0f', c), 'PX', ` + fttl + `)
  end
`
}

// tryAcquireScript obtains the lock KEYS[1] for ARGV[1] with PX ARGV[2] if it
// is free and returns its token (> 0), else 0. ARGV[3] is the counter's TTL
// in ms. It is TryLock's fast path: one integer back, no queue. The token is
// drawn first, to go into the lock's value, and given back if the lock is
// taken, so that the counter counts grants only.
var tryAcquireScript = redis.NewScript(`
local c` + fenceLua("ARGV[3]") + `
if redis.call('SET', KEYS[1], string.format('%.0f', c) .. ':' .. ARGV[1], 'NX', 'PX', ARGV[2]) then return c end
redis.call('DECR', KEYS[2])
return 0
`)

// holderLua sets tok to the token of the lock value v if v (marked or not)
// holds the caller's value ARGV[1], else to nil.
const holderLua = `
  local tok = nil
  local body = v
  if string.byte(v, 1) == 43 then body = string.sub(v, 2) end
  local p = string.find(body, ':', 1, true)
  if p and string.sub(body, p + 1) == ARGV[1] then tok = tonumber(string.sub(body, 1, p - 1)) end
`

// acquireScript obtains the lock for ARGV[1] with PX ARGV[2] if it is free,
// and returns {1, token}. If the lock was handed to ARGV[1] already, it
// returns {2, token}. Otherwise it queues ARGV[1] as a waiter live for
// ARGV[3] ms (> 0), marks the lock as waited for, and returns {0, the lock's
// PTTL}. ARGV[4] is the counter's TTL in ms.
var acquireScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  local c` + fenceLua("ARGV[4]") + `
  redis.call('HDEL', KEYS[4], ARGV[1])
  local mark = ''
  if redis.call('LLEN', KEYS[3]) > 0 then mark = '+' end
  redis.call('SET', KEYS[1], mark .. string.format('%.0f', c) .. ':' .. ARGV[1], 'PX', ARGV[2])
  return {1, c}
end` + holderLua + `
if tok then
  redis.call('DEL', KEYS[5])
  return {2, tok}
end
local t = redis.call('TIME')
local dl = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[3])
if redis.call('HSET', KEYS[4], ARGV[1], dl) == 1 then
  redis.call('RPUSH', KEYS[3], ARGV[1])
end
redis.call('PEXPIRE', KEYS[3], 2 * tonumber(ARGV[3]) + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[4], 2 * tonumber(ARGV[3]) + tonumber(ARGV[2]))
local pttl = redis.call('PTTL', KEYS[1])
if string.byte(v, 1) ~= 43 and pttl > 0 then redis.call('SET', KEYS[1], '+' .. v, 'PX', pttl) end
return {0, pttl}
`)

// releaseScript releases the lock if ARGV[1] holds it: the holder passes
// its token and value, "<token>:<value>". A waiter giving up (ARGV[4] = 1)
// passes its value alone; the script takes it out of the waiters, deletes
// its wake-up list and, if the lock was handed to it meanwhile, passes it on.
// A marked lock goes to the first waiter whose deadline has not passed (or
// is freed). It returns 1 if the caller held the lock, else 0. ARGV[2] is
// the prefix of wake-up lists, ARGV[3] the counter's TTL in ms.
var releaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if ARGV[4] == '1' then
  redis.call('HDEL', KEYS[4], ARGV[1])
  redis.call('DEL', KEYS[5])
  if not v then return 0 end` + holderLua + `
  if not tok then return 0 end
elseif v == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
elseif v ~= '+' .. ARGV[1] then
  return 0
end
local m = redis.call('LPOP', KEYS[3])
if not m then
  redis.call('DEL', KEYS[1])
  return 1
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
while m do
  local dl = redis.call('HGET', KEYS[4], m)
  if dl then
    redis.call('HDEL', KEYS[4], m)
    if tonumber(dl) >= now then
      local ttl = string.match(m, '^(%d+):')
      local c` + fenceLua("ARGV[3]") + `
      local tok = string.format('%.0f', c)
      local mark = ''
      if redis.call('LLEN', KEYS[3]) > 0 then mark = '+' end
      redis.call('SET', KEYS[1], mark .. tok .. ':' .. m, 'PX', ttl)
      local w = ARGV[2] .. m
      redis.call('RPUSH', w, tok)
      redis.call('PEXPIRE', w, ttl)
      return 1
    end
  end
  m = redis.call('LPOP', KEYS[3])
end
redis.call('DEL', KEYS[1])
return 1
`)

// refreshScript extends the lock to PX ARGV[2] if ARGV[1], the holder's
// "<token>:<value>", holds it (marked or not) and returns 1, else 0.
var refreshScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v ~= ARGV[1] and v ~= '+' .. ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// inspectScript returns {value, PTTL} of the lock, or {} if free.
var inspectScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return {} end
return {v, redis.call('PTTL', KEYS[1])}
`)
