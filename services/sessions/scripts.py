"""The Lua scripts behind services/sessions/store.py: each decision about a session is one atomic script.

Every key a script touches is one user's, `auth:{<uid>}:...`, so it runs in that user's Redis Cluster slot; the
session keys a script reaches through the index are built from `ARGV` prefix + sid, in that same slot. A session
record is JSON: `id`, `created_at`, `last_used_at` (seconds), `ip`, `user_agent`, `current` and `parent` (refresh
token ids), `rotated_at` (ms, when `current` became current) and `aal` and `amr` (how the holder proved who they
are: services/tokens/assurance.py; a record from before has neither). The index is a sorted set of sids by login
time.
"""

from __future__ import annotations

# KEYS: the new session, the index. ARGV: sid, record (JSON), login time (ms, the index score), the TTL of both
# (a new session lives the longest of all), the most sessions a user holds, the session key prefix. Entries of
# sessions that ended on their own are dropped first (they hold no room); then, past the cap, the oldest sessions
# end. Session and index entry are written in the same step, so a `logout/all` running beside it sees both or
# neither (issue 12, item 14).
# Returns the sids it ended.
CREATE = """
local index, prefix, cap = KEYS[2], ARGV[6], tonumber(ARGV[5])
local ended = {}
if redis.call('ZCARD', index) >= cap then
  for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if redis.call('EXISTS', prefix .. sid) == 0 then redis.call('ZREM', index, sid) end
  end
  local excess = redis.call('ZCARD', index) - cap + 1
  if excess > 0 then
    for _, sid in ipairs(redis.call('ZRANGE', index, 0, excess - 1)) do
      redis.call('DEL', prefix .. sid)
      redis.call('ZREM', index, sid)
      table.insert(ended, sid)
    end
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[4])
redis.call('ZADD', index, ARGV[3], ARGV[1])
redis.call('EXPIRE', index, ARGV[4])
return ended
"""

# KEYS: the session, the index. ARGV: presented jti, new jti, now (ms), ip, user agent, idle TTL, sid, max lifetime
# (s, 0: none), 1 for strict reuse, reuse interval (ms), 1 to only judge (write nothing), the index's TTL.
# The current token rotates; its parent hands back the current one (compatible: while it is the parent; strict:
# within the interval after the rotation); anything else is a copy in someone else's hands and ends the session.
# Every honoured refresh re-arms the idle TTL, never past the absolute end; a session past its end ends here too.
# Returns {outcome, current jti, the session's aal and amr (JSON)}: a refresh keeps the session's level.
ROTATE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return {'missing', ''} end
local session = cjson.decode(raw)
local now_ms = tonumber(ARGV[3])
local judge_only = ARGV[11] == '1'
local function ends(outcome)
  if not judge_only then
    redis.call('DEL', KEYS[1])
    redis.call('ZREM', KEYS[2], ARGV[7])
  end
  return {outcome, ''}
end
local ttl = tonumber(ARGV[6])
local max_lifetime = tonumber(ARGV[8])
if max_lifetime > 0 then
  local left = session.created_at + max_lifetime - math.floor(now_ms / 1000)
  if left <= 0 then return ends('missing') end
  if left < ttl then ttl = left end
end
local within_interval = now_ms - (tonumber(session.rotated_at) or 0) <= tonumber(ARGV[10])
local outcome
if session.current == ARGV[1] then
  outcome = 'rotated'
elseif session.parent == ARGV[1] and (ARGV[9] ~= '1' or within_interval) then
  outcome = 'replayed'
else
  return ends('reused')
end
local assurance = {session.aal or '', cjson.encode(session.amr or {})}
if judge_only then return {outcome, session.current, assurance[1], assurance[2]} end
if outcome == 'rotated' then
  session.parent = session.current
  session.current = ARGV[2]
  session.rotated_at = now_ms
end
session.last_used_at = math.floor(now_ms / 1000)
session.ip = ARGV[4]
session.user_agent = ARGV[5]
redis.call('SET', KEYS[1], cjson.encode(session), 'EX', ttl)
redis.call('EXPIRE', KEYS[2], ARGV[12])
return {outcome, session.current, assurance[1], assurance[2]}
"""

# KEYS: the session. ARGV: the new refresh token id, now (ms), aal, amr (JSON). A second factor raises the session's
# level: the new refresh token becomes current and the one before is no parent (a copy taken before the second
# factor, say on the device it is now proven on, must not refresh into tokens of the higher level). The TTL stays.
# Returns 1, or 0 when the session has ended.
ELEVATE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local session = cjson.decode(raw)
session.current = ARGV[1]
session.parent = ''
session.rotated_at = tonumber(ARGV[2])
session.aal = ARGV[3]
session.amr = cjson.decode(ARGV[4])
redis.call('SET', KEYS[1], cjson.encode(session), 'KEEPTTL')
return 1
"""

# KEYS: the index. ARGV: the session key prefix. Ends every session the index lists, and the index, in one step:
# a session written beside it is either ended with the others or listed afterwards (issue 12, item 14).
REVOKE_ALL = """
local sids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, sid in ipairs(sids) do redis.call('DEL', ARGV[1] .. sid) end
redis.call('DEL', KEYS[1])
return #sids
"""
