"""The store's Lua scripts: each runs atomically in Redis, in one round trip.

The keys they read and write are described in ``heartbeat_core.keys``.
"""

from heartbeat_core.record_script import RECORD_SCRIPT as RECORD_SCRIPT

# Compare and set one record (KEYS[1] the info hash; ARGV: service, the value read, the new one):
# a log line changes a record only if no heartbeat changed it meanwhile.
REPLACE_SCRIPT = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

# One consistent snapshot for the exporter: a script runs atomically.
SNAPSHOT_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
return {
  redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES'),
  redis.call('HGETALL', KEYS[2]),
  redis.call('HGETALL', KEYS[3]),
  redis.call('GET', KEYS[4]) or '0',
  redis.call('ZCOUNT', KEYS[5], tostring(now - tonumber(ARGV[1])), '+inf'),
  redis.call('HGETALL', KEYS[6]),
  redis.call('HGETALL', KEYS[7]),
  redis.call('HGETALL', KEYS[8]),
  redis.call('HGETALL', KEYS[9]),
  redis.call('HGETALL', KEYS[10]),
  redis.call('HGETALL', KEYS[11]),
  redis.call('HGETALL', KEYS[12]),
  redis.call('GET', KEYS[13]) or '0',
  redis.call('HGETALL', KEYS[14]),
  redis.call('HGETALL', KEYS[15]),
}
"""

# A receiver process says it is alive (a write: a store that refuses writes silences it too).
ANNOUNCE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZADD', KEYS[1], tostring(now), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tostring(now - tonumber(ARGV[2])))
return 1
"""

# The state history (exporter.state.history): only changes, each recorded once across exporters.
# KEYS: state, history; ARGV: now, cutoff, max entries, then (service, state) pairs.
RECORD_CHANGES_SCRIPT = """
local now, cutoff, most = ARGV[1], ARGV[2], tonumber(ARGV[3])
local changed = 0
for i = 4, #ARGV, 2 do
  local name, state = ARGV[i], ARGV[i + 1]
  local last = redis.call('HGET', KEYS[1], name)
  local before = last and string.match(last, '^([^\\t]*)') or ''
  if before ~= state then
    redis.call('HSET', KEYS[1], name, state .. '\\t' .. now)
    redis.call('ZADD', KEYS[2], now, name .. '\\t' .. now .. '\\t' .. before .. '\\t' .. state)
    changed = changed + 1
  end
end
if changed > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. cutoff)
  local extra = redis.call('ZCARD', KEYS[2]) - most
  if extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1) end
end
return changed
"""

# The rollup's lease given back by its holder as it stops (KEYS[1] the lease, ARGV[1] the holder),
# so that another exporter takes it at its next poll instead of when it runs out.
ROLLUP_RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# The traffic rollup (exporter.state.rollup): one poll's counts, written by the lease holder only.
# KEYS: lease, cover, ids; ARGV: owner, lease ms, since, until, minute ttl, hour ttl, then per
# bucket: its key, "m"/"h", and "key\tcount" lines. Returns 0 when another exporter holds the lease.
ROLLUP_WRITE_SCRIPT = """
local lease, cover, ids = KEYS[1], KEYS[2], KEYS[3]
local owner = ARGV[1]
local holder = redis.call('GET', lease)
if holder and holder ~= owner then return 0 end
redis.call('SET', lease, owner, 'PX', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', cover, 'since', ARGV[3]) end
redis.call('HSET', cover, 'until', ARGV[4])
local ttl = {m = tonumber(ARGV[5]), h = tonumber(ARGV[6])}
-- the id counter lives under a field no key can be (keys have no newline); one written by an
-- older version under '#next', a possible IP value, moves there once
local NEXT = '\\n#next'
local legacy = redis.call('HGET', ids, '#next')
if legacy and not redis.call('HGET', ids, NEXT) then
  redis.call('HSET', ids, NEXT, legacy)
  redis.call('HDEL', ids, '#next')
end
local function id_of(key)
  local id = redis.call('HGET', ids, key)
  if not id then
    id = tostring(redis.call('HINCRBY', ids, NEXT, 1))
    redis.call('HSET', ids, key, id)
  end
  return id
end
for i = 7, #ARGV, 3 do
  local bucket, level, lines = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local counts, order = {}, {}
  for id, n in string.gmatch(redis.call('GET', bucket) or '', '(%d+):(%d+)') do
    counts[id] = tonumber(n)
    order[#order + 1] = id
  end
  for key, n in string.gmatch(lines, '([^\\n]*)\\t(%d+)\\n') do
    local id = id_of(key)
    if not counts[id] then order[#order + 1] = id; counts[id] = 0 end
    counts[id] = counts[id] + tonumber(n)
  end
  local out = {}
  for _, id in ipairs(order) do out[#out + 1] = id .. ':' .. counts[id] end
  redis.call('SET', bucket, table.concat(out, ','), 'EX', ttl[level])
end
return 1
"""
