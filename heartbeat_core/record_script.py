"""The record script: every heartbeat of a batch stored in one atomic round trip (its keys are
described in ``heartbeat_core.keys``). The others are in ``heartbeat_core.scripts``."""

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
local ingest, gaps, gaplog = KEYS[13], KEYS[14], KEYS[15]
local cutoff, batch = ARGV[1], tonumber(ARGV[2])
local KEPT_RUNS, MOST_OPEN, KEPT_DURATIONS = 10, 16, 50
-- the last blind spell (the exporters' record): a gap across one is the monitor's, not the service's
local spell = redis.call('HMGET', ingest, 'blind_since', 'last_until')
local spell_on, spell_end = spell[1], tonumber(spell[2] or '')

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
    if outcome == 'success' then
      j.ok = now
      if started then  -- a paired success: its duration joins the ones its band is learned from
        local d = j.d or {}
        d[#d + 1] = j.took
        while #d > KEPT_DURATIONS do table.remove(d, 1) end
        j.d = d
      end
    end
    ended(started or now, now, outcome)
  end
  j.open, j.n, j.bars = open, n, bars
  redis.call('HSET', runs, name, cjson.encode(j))
end

-- learned gaps between beats (SPEC §17), for the types whose detection is not fixed: the sums of
-- the last beat.learn gaps (n, sum, sum of squares), the declared interval they were learned
-- under, and whether the last beat was a goodbye; the gaps themselves in gaplog, oldest first.
-- Not learned: a gap across a goodbye, across a blind spell, longer than beat.learn_max (twice the
-- type's timeout: it was down, or in maintenance; a lost beat on a 60 s type with 30 s beats is an
-- ordinary gap longer than the timeout), or under a new declared interval (relearned from there).
local function learn(name, beat, last)
  local raw = redis.call('HGET', gaps, name)
  local f = raw and split(raw) or {}
  local n, sum, sq = tonumber(f[1] or '') or 0, tonumber(f[2] or '') or 0, tonumber(f[3] or '') or 0
  local declared, bye, interval = f[4] or '', f[5] or '', beat.interval or ''
  local log = redis.call('HGET', gaplog, name) or ''
  local ordinary = last ~= false and interval == declared and bye ~= '1' and not spell_on
    and not (spell_end and tonumber(last) < spell_end)
  if interval ~= declared then n, sum, sq, log = 0, 0, 0, '' end
  local gap = ordinary and tonumber(string.format('%.3f', tonumber(beat.now) - tonumber(last))) or 0
  if gap > 0 and gap <= tonumber(beat.learn_max) then
    log = log == '' and string.format('%.3f', gap) or log .. ',' .. string.format('%.3f', gap)
    n, sum, sq = n + 1, sum + gap, sq + gap * gap
    if n > tonumber(beat.learn) then
      local comma = string.find(log, ',', 1, true)
      local oldest = tonumber(string.sub(log, 1, comma - 1))
      log = string.sub(log, comma + 1)
      n, sum, sq = n - 1, sum - oldest, sq - oldest * oldest
    end
  end
  bye = beat.status == 'stopping' and '1' or ''
  redis.call('HSET', gaps, name, table.concat({string.format('%d', n), string.format('%.17g', sum),
    string.format('%.17g', sq), interval, bye}, '\t'))
  redis.call('HSET', gaplog, name, log)
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
  redis.call('HDEL', gaps, gone)
  redis.call('HDEL', gaplog, gone)
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
    if beat.learn and not beat.replay then learn(name, beat, last) end
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
