package redislock

import "github.com/redis/go-redis/v9"

// Every script takes the keys of one lock, all under the hash tag {key}:
// KEYS[1] the lock (value: "<ttl ms>:<id>:<owner>", set with PX), KEYS[2] the
// fencing counter, KEYS[3] the waiters' queue (a list of values), KEYS[4] the
// waiters' deadlines (a hash: value -> server time in ms), KEYS[5] the
// caller's wake-up list. Calls that cannot touch the last keys (TryLock's
// acquire, Release) pass only the first ones. Release hands the lock to the first live waiter by
// setting the lock to its value and pushing its token onto its wake-up list,
// named ARGV[2] .. value, in the same slot as the declared keys.

// fenceLua returns the next fencing token of a lock: the counter plus one,
// or, when there is no counter (the first grant, a restart without
// persistence, or the counter expired after fenceTTL idle), the server's
// clock in microseconds. Tokens thus keep increasing when the counter is
// lost, as long as the clock is not set back: the counter never runs ahead
// of the clock, since no key is granted more than once per microsecond.
const fenceLua = `
local function fence(f, fttl)
  local c = redis.call('INCR', f)
  if c == 1 then
    local t = redis.call('TIME')
    c = tonumber(t[1]) * 1000000 + tonumber(t[2])
    redis.call('SET', f, string.format('%.0f', c), 'PX', fttl)
  else
    redis.call('PEXPIRE', f, fttl)
  end
  return c
end
local function nowms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`

// acquireScript obtains the lock for ARGV[1] with PX ARGV[2] if it is free,
// and returns {1, token}. If the lock was handed to ARGV[1] already, it
// returns {2, token}. Otherwise, when ARGV[3] > 0 it queues ARGV[1] as a
// waiter live for ARGV[3] ms, and it returns {0, the lock's PTTL}.
// ARGV[4] is the counter's TTL in ms.
var acquireScript = redis.NewScript(fenceLua + `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  if ARGV[3] ~= '0' then redis.call('HDEL', KEYS[4], ARGV[1]) end
  return {1, fence(KEYS[2], ARGV[4])}
end
if ARGV[3] == '0' then return {0, redis.call('PTTL', KEYS[1])} end
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('DEL', KEYS[5])
  return {2, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
local dl = nowms() + tonumber(ARGV[3])
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
var releaseScript = redis.NewScript(fenceLua + `
if ARGV[4] == '1' then
  redis.call('HDEL', KEYS[4], ARGV[1])
  redis.call('DEL', KEYS[5])
end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local now = nil
while true do
  local m = redis.call('LPOP', KEYS[3])
  if not m then
    redis.call('DEL', KEYS[1])
    return 1
  end
  local dl = redis.call('HGET', KEYS[4], m)
  if dl then
    redis.call('HDEL', KEYS[4], m)
    now = now or nowms()
    if tonumber(dl) >= now then
      local ttl = string.match(m, '^(%d+):')
      redis.call('SET', KEYS[1], m, 'PX', ttl)
      local w = ARGV[2] .. m
      redis.call('RPUSH', w, string.format('%.0f', fence(KEYS[2], ARGV[3])))
      redis.call('PEXPIRE', w, ttl)
      return 1
    end
  end
end
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
