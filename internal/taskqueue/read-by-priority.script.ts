/**
 * read-by-priority: reads new entries for a consumer from the priority streams, highest first, never more than
 * the caller has room for. One round trip, and no entry of a lower priority is taken while a higher one waits.
 *
 * KEYS[1..n]  the streams, highest priority first
 * ARGV[1]     consumer group
 * ARGV[2]     consumer name
 * ARGV[3]     the most entries to return across all streams
 *
 * Returns the XREADGROUP reply shape: { {stream, { {id, {field, value, ...}}, ... }}, ... } (streams with no
 * new entries are left out). Raises NOGROUP when a group is missing; the caller recreates groups and retries.
 */
export const READ_BY_PRIORITY_SCRIPT = `
local remaining = tonumber(ARGV[3])
local out = {}
for i = 1, #KEYS do
  if remaining <= 0 then break end
  local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', remaining, 'STREAMS', KEYS[i], '>')
  if reply then
    local entries = reply[1][2]
    if #entries > 0 then
      out[#out + 1] = { KEYS[i], entries }
      remaining = remaining - #entries
    end
  end
end
return out
`;
