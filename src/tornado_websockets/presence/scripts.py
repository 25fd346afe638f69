"""The Lua scripts of the Redis presence store.

Scripts read the clock of Redis (``TIME``), so that nodes on hosts whose clocks differ agree on
which node is alive. Each runs atomically: a dead node's entries are claimed by exactly one
surviving node. They name keys built from their arguments, so the store needs one Redis (or a
primary with replicas), not Redis Cluster.
"""

from __future__ import annotations

__all__ = ["READ", "STATS", "REFRESH", "CLAIM"]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# One JSON array in one string, built by one table.concat per node: hash fields are stored as
# JSON strings (the client id in quotes) and values as JSON, so the flat HGETALL reply joined by
# commas is already ``["<client>", <info>, ...]``. Thousands of entries are then parsed by one
# json.loads instead of thousands of RESP items or Lua string concatenations.
READ = (
    _NOW
    + """
-- KEYS[1]: the nodes; ARGV[1], ARGV[2]: the entry key is ARGV[1] .. node .. ARGV[2]
local parts = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')) do
  local entries = redis.call('HGETALL', ARGV[1] .. node .. ARGV[2])
  if #entries > 0 then parts[#parts + 1] = table.concat(entries, ',') end
end
return '[' .. table.concat(parts, ',') .. ']'
"""
)

STATS = (
    _NOW
    + """
-- as READ; returns {clients, distinct infos other than null}
local clients, users, seen = 0, 0, {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')) do
  local entries = redis.call('HGETALL', ARGV[1] .. node .. ARGV[2])
  for i = 2, #entries, 2 do
    clients = clients + 1
    local info = entries[i]
    if info ~= 'null' and not seen[info] then seen[info] = true; users = users + 1 end
  end
end
return {clients, users}
"""
)

REFRESH = (
    _NOW
    + """
-- KEYS[1]: the nodes; KEYS[2]: this node's index; ARGV: node, life ms, key TTL ms
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
for _, key in ipairs(redis.call('HKEYS', KEYS[2])) do redis.call('PEXPIRE', key, ARGV[3]) end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {added, redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)}
"""
)

CLAIM = (
    _NOW
    + """
-- KEYS[1]: the nodes; ARGV: node, its index key, '1' to remove it even when alive (its own)
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if ARGV[3] ~= '1' then
  if not score or tonumber(score) >= now then return false end
end
redis.call('ZREM', KEYS[1], ARGV[1])
local index = redis.call('HGETALL', ARGV[2])
local out = {}
for i = 1, #index, 2 do
  out[#out + 1] = index[i + 1]
  out[#out + 1] = redis.call('HGETALL', index[i])
  redis.call('DEL', index[i])
end
redis.call('DEL', ARGV[2])
return out
"""
)
