"""The availability ledger's scripts (``exporter.state.ledger``, SPEC §16), run atomically in Redis.

An *entity* is a service (``s\\t<name>``) or a type (``t\\t<type>``); a *class* its time class:
``g`` good, ``b`` bad, ``c:<type>`` bad caused by that upstream type, ``p`` paused, ``u`` unknown,
``x`` gone (not counted). Totals are written ``class=seconds`` joined by commas.

* ``{P}:avail:now``      hash, entity -> ``class\\tsince\\ttotals before since\\ttype``: its open
                         segment and every closed second since it was first seen
* ``{P}:avail:day:<d>``  hash per UTC day (days since the epoch), entity -> ``totals at the day's
                         first piece\\t;class,from,to;…`` (offsets in the day): the day's closed
                         pieces. Past ``cap`` pieces they fold into one *mixed* piece
                         (``;*g=…|b=…,from,to``: its totals over its span, spread evenly inside
                         it). Expires ``retention`` after the day.
* ``{P}:avail:incidents`` hash, incident id -> the incident as JSON; ``{P}:avail:starts`` its
                         start by id; ``{P}:avail:open`` type -> the open incident it is part of;
                         ``{P}:avail:next`` the last id given
"""

# KEYS: now, incidents, starts, open, next; ARGV: day key prefix, retention, cap, then per change
# (oldest first): time, entity, class, its type, the type its incident is of, the service's state.
# A change to the class the entity already has is no change (two exporters send the same ones),
# and none goes back before the segment it closes began. Returns how many changed.
LEDGER_SCRIPT = """
local now_h, inc_h, starts, open_h, next_id = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix, retention, cap = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local DAY = 86400
local function fmt(x)
  local s = string.format('%.3f', x)
  s = string.gsub(s, '0+$', '')
  s = string.gsub(s, '%.$', '')
  return s
end
local function parse(text)
  local t = {}
  for k, v in string.gmatch(text or '', '([^,=]+)=([^,]+)') do t[k] = tonumber(v) end
  return t
end
local function dump(t)
  local names = {}
  for k in pairs(t) do names[#names + 1] = k end
  table.sort(names)
  local parts = {}
  for _, k in ipairs(names) do parts[#parts + 1] = k .. '=' .. fmt(t[k]) end
  return table.concat(parts, ',')
end
local function is_bad(k) return k == 'b' or string.sub(k, 1, 2) == 'c:' end
-- the segment [a, b) of class k closes: a piece in each day it covers, kept for retention
local function close(entity, k, a, b, totals, cutoff, clock)
  for day = math.floor(a / DAY), math.floor(b / DAY) do
    local d0 = day * DAY
    local s, e = math.max(a, d0), math.min(b, d0 + DAY)
    if e > s and d0 + DAY > cutoff then
      local key = prefix .. day
      local entry = redis.call('HGET', key, entity)
      local base, pieces
      if entry then
        base, pieces = string.match(entry, '^([^\\t]*)\\t(.*)$')
      else
        local at = parse(totals)
        at[k] = (at[k] or 0) + (s - a)
        base, pieces = dump(at), ''
      end
      pieces = pieces .. ';' .. k .. ',' .. fmt(s - d0) .. ',' .. fmt(e - d0)
      local _, n = string.gsub(pieces, ';', '')
      if n > cap then
        -- fold the day's pieces into one mixed piece: its totals over its span
        local mixed, first = {}, nil
        for pk, pa, pb in string.gmatch(pieces, ';([^,;]+),([^,;]+),([^,;]+)') do
          first = first or pa
          if string.sub(pk, 1, 1) == '*' then
            for mk, mv in string.gmatch(string.sub(pk, 2), '([^|=]+)=([^|]+)') do
              mixed[mk] = (mixed[mk] or 0) + tonumber(mv)
            end
          else
            mixed[pk] = (mixed[pk] or 0) + tonumber(pb) - tonumber(pa)
          end
        end
        pieces = ';*' .. (string.gsub(dump(mixed), ',', '|')) .. ',' .. first .. ',' .. fmt(e - d0)
      end
      redis.call('HSET', key, entity, base .. '\\t' .. pieces)
      -- by the exporter's clock, not Redis': the day is kept for the retention after it ends
      redis.call('EXPIRE', key, math.max(1, math.floor(d0 + DAY + retention - clock)))
    end
  end
end
local function contains(list, value)
  for _, v in ipairs(list) do if v == value then return true end end
  return false
end
local function join(entity, name, t, typ, of, state)
  local id = redis.call('HGET', open_h, of)
  local incident
  if id then
    incident = cjson.decode(redis.call('HGET', inc_h, id))
  else
    id = tostring(redis.call('INCR', next_id))
    incident = {id = tonumber(id), start = t, service_type = of, services = {}, types = {of},
                root = cjson.null, state = state, notes = {}}
    incident['end'] = cjson.null
    redis.call('ZADD', starts, t, id)
    redis.call('HSET', open_h, of, id)
  end
  if not contains(incident.services, name) then table.insert(incident.services, name) end
  if not contains(incident.types, typ) then table.insert(incident.types, typ) end
  if typ ~= of then
    incident.root = of
    local own = redis.call('HGET', open_h, typ)
    if own and own ~= id then
      -- the casualty's own incident began before its root's type was down as a whole: one incident
      local other = cjson.decode(redis.call('HGET', inc_h, own))
      if other.start < incident.start then
        incident.start = other.start
        redis.call('ZADD', starts, other.start, id)
      end
      for _, s in ipairs(other.services) do
        if not contains(incident.services, s) then table.insert(incident.services, s) end
      end
      for _, t in ipairs(other.types) do
        if not contains(incident.types, t) then table.insert(incident.types, t) end
      end
      if type(other.notes) == 'table' then
        for _, n in ipairs(other.notes) do table.insert(incident.notes, n) end
      end
      if other.state == 'down' then incident.state = 'down' end
      redis.call('HDEL', inc_h, own)
      redis.call('ZREM', starts, own)
      local opened = redis.call('HGETALL', open_h)
      for j = 1, #opened, 2 do
        if opened[j + 1] == own then redis.call('HSET', open_h, opened[j], id) end
      end
    elseif not own then
      redis.call('HSET', open_h, typ, id)
    end
  end
  if state == 'down' then incident.state = 'down' end
  redis.call('HSET', inc_h, id, cjson.encode(incident))
end
local function leave(typ, t)
  local id = redis.call('HGET', open_h, typ)
  if not id then return end
  redis.call('HDEL', open_h, typ)
  for _, other in ipairs(redis.call('HVALS', open_h)) do if other == id then return end end
  local incident = cjson.decode(redis.call('HGET', inc_h, id))
  incident['end'] = t
  redis.call('HSET', inc_h, id, cjson.encode(incident))
end
local changed, latest = 0, 0
for i = 4, #ARGV, 6 do
  local t, entity, k = tonumber(ARGV[i]), ARGV[i + 1], ARGV[i + 2]
  local typ, of, state = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local entry = redis.call('HGET', now_h, entity)
  local old, since, totals = nil, nil, ''
  if entry then
    old, since, totals = string.match(entry, '^([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)')
    since = tonumber(since)
  end
  if old ~= k then
    if old then
      if t < since then t = since end
      close(entity, old, since, t, totals, t - retention, t)
      local sums = parse(totals)
      sums[old] = (sums[old] or 0) + (t - since)
      totals = dump(sums)
    end
    redis.call('HSET', now_h, entity, k .. '\\t' .. fmt(t) .. '\\t' .. totals .. '\\t' .. typ)
    changed = changed + 1
    if t > latest then latest = t end
    local kind, name = string.sub(entity, 1, 1), string.sub(entity, 3)
    local blamed = string.sub(k, 1, 2) == 'c:'
    if kind == 's' and is_bad(k) and (blamed or not (old and is_bad(old))) then
      join(entity, name, t, typ, of, state)
    elseif kind == 't' and old and is_bad(old) and not is_bad(k) then
      leave(name, t)
    end
  end
end
if changed > 0 then
  -- incidents that ended before the retention are forgotten, a few at a time
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', starts, '-inf', latest - retention, 'LIMIT', 0, 20)) do
    local raw = redis.call('HGET', inc_h, id)
    local incident = raw and cjson.decode(raw)
    if not incident or (incident['end'] ~= cjson.null and incident['end'] < latest - retention) then
      redis.call('HDEL', inc_h, id)
      redis.call('ZREM', starts, id)
    end
  end
end
return changed
"""

# An admin's note on an incident (KEYS: incidents; ARGV: id, time, author, text, most notes).
# Returns 1, 0 when there is no such incident, -1 when it has as many notes as it may.
NOTE_SCRIPT = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local incident = cjson.decode(raw)
if type(incident.notes) ~= 'table' then incident.notes = {} end
if #incident.notes >= tonumber(ARGV[5]) then return -1 end
table.insert(incident.notes, {time = tonumber(ARGV[2]), author = ARGV[3], text = ARGV[4]})
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(incident))
return 1
"""
