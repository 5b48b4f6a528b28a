/**
 * trim-streams: trims each stream up to the oldest entry a reader still needs, by this rule:
 * - this process's group (ARGV[1]) is always honoured: no entry it has pending (delivered, not acknowledged) or
 *   has not yet read is ever removed;
 * - another group is honoured while it is alive: it has no consumer yet, or one of its consumers was active within
 *   ARGV[2] ms. A group whose consumers have all been silent longer (left behind when APP_TASK_QUEUE_GROUP was
 *   renamed, say) is ignored;
 * - whatever other groups hold, and a stream no group reads at all (an API publishing while every scheduler
 *   polls), is bounded: beyond the newest ARGV[3] entries, older ones go (MAXLEN-style), at most ARGV[4] per
 *   stream per call. That bound never crosses this group's own point either.
 *
 * KEYS[1..n]  the streams
 * ARGV[1]     this process's consumer group
 * ARGV[2]     idle time (ms) after which another group's consumers count as gone
 * ARGV[3]     most entries kept for other groups, or for no group
 * ARGV[4]     most entries removed by the length bound per stream per call (keeps the script short)
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
local function field(list, name)
  for f = 1, #list, 2 do
    if list[f] == name then return list[f + 1] end
  end
  return nil
end
-- The oldest entry a group still needs: its oldest pending one, else the one after the last it was given.
local function needed_from(key, name, last)
  local pending = redis.call('XPENDING', key, name)
  if tonumber(pending[1]) > 0 then return parse_id(pending[2]) end
  local ms, seq = parse_id(last)
  return ms, seq + 1
end
local own_group = ARGV[1]
local idle_limit = tonumber(ARGV[2])
local keep_for_others = tonumber(ARGV[3])
local step = tonumber(ARGV[4])
local removed = 0
for i = 1, #KEYS do
  local key = KEYS[i]
  if redis.call('EXISTS', key) == 1 then
    local own_ms, own_seq, other_ms, other_seq = nil, nil, nil, nil
    for _, group in ipairs(redis.call('XINFO', 'GROUPS', key)) do
      local name, last = field(group, 'name'), field(group, 'last-delivered-id')
      if name == own_group then
        own_ms, own_seq = needed_from(key, name, last)
      else
        local consumers = redis.call('XINFO', 'CONSUMERS', key, name)
        local alive = #consumers == 0
        for _, consumer in ipairs(consumers) do
          if tonumber(field(consumer, 'idle')) < idle_limit then alive = true end
        end
        if alive then
          local ms, seq = needed_from(key, name, last)
          if other_ms == nil or less(ms, seq, other_ms, other_seq) then other_ms, other_seq = ms, seq end
        end
      end
    end
    -- The length bound: the entry after the oldest ones beyond the newest keep_for_others.
    local cap_ms, cap_seq = nil, nil
    local over = redis.call('XLEN', key) - keep_for_others
    if over > 0 then
      local oldest = redis.call('XRANGE', key, '-', '+', 'COUNT', math.min(over, step))
      if #oldest > 0 then
        cap_ms, cap_seq = parse_id(oldest[#oldest][1])
        cap_seq = cap_seq + 1
      end
    end
    local ms, seq = other_ms, other_seq
    if ms ~= nil and cap_ms ~= nil and less(ms, seq, cap_ms, cap_seq) then ms, seq = cap_ms, cap_seq end
    if ms == nil then
      if own_ms ~= nil then ms, seq = own_ms, own_seq else ms, seq = cap_ms, cap_seq end
    elseif own_ms ~= nil and less(own_ms, own_seq, ms, seq) then
      ms, seq = own_ms, own_seq
    end
    if ms ~= nil then
      removed = removed + redis.call('XTRIM', key, 'MINID', string.format('%d-%d', ms, seq))
    end
  end
end
return removed
`;
