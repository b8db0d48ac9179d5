"""The store's Lua scripts: each runs atomically in Redis, in one round trip.

The keys they read and write are described in ``heartbeat_core.keys``.
"""

# One round trip per batch of heartbeats, atomic: prune a few expired services, then for each
# heartbeat enforce its cap on new names (the shared one, or the whole one for a token with a
# reserve) and record it (-1 where refused). ZADD GT keeps
# last-seen from moving backwards when replicas' clocks differ. A replayed beat (from a batch, at
# its own time) older than its service's last one is counted, and changes nothing else: the
# latest status, message and sequence stay the newer beat's. A service is first seen when its
# first beat arrived (``replay`` holds that for a replayed one), never at a time a sender claims:
# "proven" (the fleet-silence rule) must take the fleet's time.
RECORD_SCRIPT = """
local seen, info, count, refused, seqs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local progress, progress_at, first, failing = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local replayed, runs, states = KEYS[10], KEYS[11], KEYS[12]
local cutoff, batch = ARGV[1], tonumber(ARGV[2])
local KEPT_RUNS, MOST_OPEN = 10, 16

local function split(text)
  local out, start = {}, 1
  while true do
    local stop = string.find(text, '\t', start, true)
    if not stop then
      out[#out + 1] = string.sub(text, start)
      return out
    end
    out[#out + 1] = string.sub(text, start, stop - 1)
    start = stop + 1
  end
end

-- instance, seq, lost, restarts, other instance, its last beat, backwards steps, this one's last beat
-- (integers written with %.0f: Lua's own tostring writes 1e+14 and keeps 14 digits)
local function track(name, now, seq_text, instance, raw)
  local seq = tonumber(seq_text)
  local f = {'', '', '0', '0', '', '', '0', ''}
  if raw then f = split(raw) end
  local last, lost, restarts, backwards = tonumber(f[2]), tonumber(f[3]), tonumber(f[4]), tonumber(f[7])
  local other, other_seen = f[5], f[6]
  if f[1] == instance then
    if seq and last and seq > last + 1 then
      lost = lost + seq - last - 1
    elseif seq and last and seq <= last then
      backwards = backwards + 1
    end
  elseif f[1] ~= '' then
    if instance ~= other then restarts = restarts + 1 end  -- not the other copy coming round again
    other, other_seen = f[1], f[8]
  end
  local function int(n) return string.format('%.0f', n) end
  redis.call('HSET', seqs, name, table.concat({instance, seq_text or '', int(lost), int(restarts),
    other, other_seen, int(backwards), now}, '\t'))
end

-- a lower seq than the one stored of the same instance at most a few seconds ago: a request that
-- was in flight while a newer one overtook it (the same seq is a retry: taken). Only for a few
-- seconds, so that a sender that reuses its instance across restarts is heard again at once.
local OVERTAKEN_WITHIN = 5
local function overtaken(raw, instance, seq_text, now)
  local seq, f = tonumber(seq_text), split(raw)
  local stored, at = tonumber(f[2]), tonumber(f[8])
  return f[1] == instance and seq ~= nil and stored ~= nil and seq < stored
    and at ~= nil and tonumber(now) - at < OVERTAKEN_WITHIN
end

-- a job's runs (SPEC §13), one JSON value per service: open runs by run_id (start times), finished
-- runs by outcome (n), the last success (ok) and paired duration (took), the last few as bars.
-- A finish pairs with its run_id's start, or without one with the newest open run; unpaired, it
-- still counts. beat.job is the max_runtime of a configured job: a run past it is an overrun,
-- and a new start ends the runs still open past it as overruns.
local function run(name, beat)
  local raw = redis.call('HGET', runs, name)
  local j = raw and cjson.decode(raw) or {}
  local open, n, bars = j.open or {}, j.n or {}, j.bars or {}
  local now, rid, limit = tonumber(beat.now), beat.run_id or '', tonumber(beat.job or '')
  local function ended(started, finish, outcome)
    n[outcome] = (n[outcome] or 0) + 1
    bars[#bars + 1] = {started, finish, outcome}
    while #bars > KEPT_RUNS do table.remove(bars, 1) end
  end
  if beat.event == 'start' then
    local count, oldest, oldest_id = 0, nil, nil
    for id, started in pairs(open) do
      if limit and now - started > limit then
        open[id] = nil
        ended(started, started + limit, 'overrun')
      else
        count = count + 1
        if not oldest or started < oldest then oldest, oldest_id = started, id end
      end
    end
    if count >= MOST_OPEN and open[rid] == nil then open[oldest_id] = nil end
    open[rid] = now
  else
    local started = open[rid]
    if started == nil and beat.run_id == nil then
      for id, at in pairs(open) do
        if started == nil or at > started then started, rid = at, id end
      end
    end
    local outcome = beat.status == 'failing' and 'fail' or 'success'
    if started then
      open[rid] = nil
      j.took = now - started
      if limit and j.took > limit then outcome = 'overrun' end
    end
    if outcome == 'success' then j.ok = now end
    ended(started or now, now, outcome)
  end
  j.open, j.n, j.bars = open, n, bars
  redis.call('HSET', runs, name, cjson.encode(j))
end

local old = redis.call('ZRANGEBYSCORE', seen, '-inf', '(' .. cutoff, 'LIMIT', 0, batch)
for _, gone in ipairs(old) do
  redis.call('ZREM', seen, gone)
  redis.call('HDEL', info, gone)
  redis.call('HDEL', count, gone)
  redis.call('HDEL', seqs, gone)
  redis.call('HDEL', progress, gone)
  redis.call('HDEL', progress_at, gone)
  redis.call('HDEL', first, gone)
  redis.call('HDEL', failing, gone)
  redis.call('HDEL', runs, gone)
  redis.call('HDEL', states, gone)  -- the exporters' last recorded state of it
end
local results = {}
-- each heartbeat: how many (name, value) pairs follow, then the pairs: read by name, not position
local i = 3
while i <= #ARGV do
  local beat, pairs = {}, tonumber(ARGV[i])
  for j = i + 1, i + 2 * pairs, 2 do beat[ARGV[j]] = ARGV[j + 1] end
  i = i + 1 + 2 * pairs
  local name, now = beat.name, beat.now
  local last = redis.call('ZSCORE', seen, name)
  local tracked = beat.instance and redis.call('HGET', seqs, name) or nil
  if not last and redis.call('ZCARD', seen) >= tonumber(beat.cap) then
    redis.call('INCR', refused)
    results[#results + 1] = -1
  elseif tracked and overtaken(tracked, beat.instance, beat.seq, now) then
    -- a beat of this process older than one stored already: it was in flight while a newer one
    -- (a goodbye, say) overtook it; counted as a replay, and it changes nothing
    redis.call('INCR', replayed)
    results[#results + 1] = redis.call('HINCRBY', count, name, 1)
  elseif beat.replay and last and tonumber(last) > tonumber(now) then
    redis.call('INCR', replayed)
    results[#results + 1] = redis.call('HINCRBY', count, name, 1)
  else
    redis.call('ZADD', seen, 'GT', now, name)
    redis.call('HSETNX', first, name, beat.replay or now)  -- seen first when it arrived
    if beat.status == 'failing' then  -- failing beats in a row; any other beat ends the streak,
      redis.call('HINCRBY', failing, name, 1)
    elseif beat.event ~= 'start' then  -- but a job's start, which says nothing of how runs end
      redis.call('HDEL', failing, name)
    end
    redis.call('HSET', info, name, beat.meta)
    results[#results + 1] = redis.call('HINCRBY', count, name, 1)
    if beat.instance then track(name, now, beat.seq, beat.instance, tracked) end
    if beat.progress and redis.call('HGET', progress, name) ~= beat.progress then
      redis.call('HSET', progress, name, beat.progress)  -- a counter grew (or reset): progress now
      redis.call('HSET', progress_at, name, now)
    end
    if beat.event or beat.job or redis.call('HEXISTS', runs, name) == 1 then run(name, beat) end
  end
end
return results
"""

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
