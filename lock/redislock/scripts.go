package redislock

import "github.com/redis/go-redis/v9"

// Every script takes the keys of one lock, all under the hash tag {key}:
// KEYS[1] the lock (value: "<ttl ms>:<id>:<owner>", set with PX), KEYS[2] the
// fencing counter, KEYS[3] the waiters' queue (a list of values), KEYS[4] the
// waiters' deadlines (a hash: value -> server time in ms), KEYS[5] the
// caller's wake-up list. Calls that cannot touch the last keys (TryLock,
// Release) pass only the first ones. Release hands the lock to the first live
// waiter by setting the lock to its value and pushing its token onto its
// wake-up list, named ARGV[2] .. value, in the same slot as the declared keys.

// fenceLua sets c to the next fencing token of the lock whose counter is
// KEYS[2], with fttl the counter's TTL in ms: the counter plus one, or, when
// there is no counter (the first grant, a restart without persistence, or
// the counter expired after fenceTTL idle), the server's clock in
// microseconds. Tokens thus keep increasing when the counter is lost, as long
// as the clock is not set back: the counter never runs ahead of the clock,
// since no key is granted more than once per microsecond. It is pasted inline
// rather than defined as a Lua function, which would cost a closure per call.
func fenceLua(fttl string) string {
	return `
  c = redis.call('INCR', KEYS[2])
  if c == 1 then
    local t = redis.call('TIME')
    c = tonumber(t[1]) * 1000000 + tonumber(t[2])
    redis.call('SET', KEYS[2], string.format('%.0f', c), 'PX', ` + fttl + `)
  else
    redis.call('PEXPIRE', KEYS[2], ` + fttl + `)
  end
`
}

// tryAcquireScript obtains the lock KEYS[1] for ARGV[1] with PX ARGV[2] if it
// is free and returns its token (> 0), else 0. ARGV[3] is the counter's TTL
// in ms. It is TryLock's fast path: one integer back, no queue.
var tryAcquireScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
local c` + fenceLua("ARGV[3]") + `
return c
`)

// acquireScript obtains the lock for ARGV[1] with PX ARGV[2] if it is free,
// and returns {1, token}. If the lock was handed to ARGV[1] already, it
// returns {2, token}. Otherwise it queues ARGV[1] as a waiter live for
// ARGV[3] ms (> 0), and it returns {0, the lock's PTTL}.
// ARGV[4] is the counter's TTL in ms.
var acquireScript = redis.NewScript(`
local c
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('HDEL', KEYS[4], ARGV[1])` + fenceLua("ARGV[4]") + `
  return {1, c}
end
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('DEL', KEYS[5])
  return {2, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
local t = redis.call('TIME')
local dl = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[3])
if redis.call('HSET', KEYS[4], ARGV[1], dl) == 1 then
  redis.call('RPUSH', KEYS[3], ARGV[1])
end
redis.call('PEXPIRE', KEYS[3], 2 * tonumber(ARGV[3]) + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[4], 2 * tonumber(ARGV[3]) + tonumber(ARGV[2]))
return {0, redis.call('PTTL', KEYS[1])}
`)

// releaseScript, for a waiter giving up (ARGV[4] = 1), takes ARGV[1] out of
// the waiters and deletes its wake-up list; then, if ARGV[1] holds the lock, it hands the lock to the first
// waiter whose deadline has not passed (or frees it) and returns 1, else 0.
// ARGV[2] is the prefix of wake-up lists, ARGV[3] the counter's TTL in ms.
var releaseScript = redis.NewScript(`
if ARGV[4] == '1' then
  redis.call('HDEL', KEYS[4], ARGV[1])
  redis.call('DEL', KEYS[5])
end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
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
      redis.call('SET', KEYS[1], m, 'PX', ttl)
      local c` + fenceLua("ARGV[3]") + `
      local w = ARGV[2] .. m
      redis.call('RPUSH', w, string.format('%.0f', c))
      redis.call('PEXPIRE', w, ttl)
      return 1
    end
  end
  m = redis.call('LPOP', KEYS[3])
end
redis.call('DEL', KEYS[1])
return 1
`)

// refreshScript extends the lock to PX ARGV[2] if ARGV[1] holds it and
// returns 1, else 0. ARGV[3] is the counter's TTL in ms.
var refreshScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`)

// inspectScript returns {value, PTTL, token} of the lock, or {} if free.
var inspectScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return {} end
return {v, redis.call('PTTL', KEYS[1]), tonumber(redis.call('GET', KEYS[2]) or '0')}
`)
