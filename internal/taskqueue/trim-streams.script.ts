/**
 * trim-streams: trims each stream up to the oldest entry some group still needs, and no further. An entry is
 * kept while it is pending in any group (delivered, not acknowledged) or not yet delivered to every group; a
 * stream without groups is left alone, since nothing has read it.
 *
 * KEYS[1..n]  the streams
 * ARGV        none
 *
 * Returns the number of entries removed, across all streams.
 */
export const TRIM_STREAMS_SCRIPT = `
local function parse_id(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
local function less(a_ms, a_seq, b_ms, b_seq)
  return a_ms < b_ms or (a_ms == b_ms and a_seq < b_seq)
end
local removed = 0
for i = 1, #KEYS do
  local key = KEYS[i]
  if redis.call('EXISTS', key) == 1 then
    local groups = redis.call('XINFO', 'GROUPS', key)
    local min_ms, min_seq = nil, nil
    for _, group in ipairs(groups) do
      local name, last = nil, nil
      for f = 1, #group, 2 do
        if group[f] == 'name' then name = group[f + 1] end
        if group[f] == 'last-delivered-id' then last = group[f + 1] end
      end
      local ms, seq
      local pending = redis.call('XPENDING', key, name)
      if tonumber(pending[1]) > 0 then
        ms, seq = parse_id(pending[2])
      else
        ms, seq = parse_id(last)
        seq = seq + 1
      end
      if min_ms == nil or less(ms, seq, min_ms, min_seq) then min_ms, min_seq = ms, seq end
    end
    if min_ms ~= nil then
      removed = removed + redis.call('XTRIM', key, 'MINID', string.format('%d-%d', min_ms, min_seq))
    end
  end
end
return removed
`;
