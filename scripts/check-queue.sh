#!/usr/bin/env bash
# Prints the state of Vigil's task queue, as the original's queue-check script did: for each priority stream its
# length, consumer groups, pending entries, lag and consumers (name, pending, idle), then the dead-letter count.
#
# It asks the API first (GET $VIGIL_URL/queue). When the API does not answer, has no /queue (404) or refuses the
# token, it reads Redis directly with redis-cli (XLEN, XINFO GROUPS, XPENDING, XINFO CONSUMERS).
#
# Usage: scripts/check-queue.sh [--api | --redis] [--help]
#   --api     ask the API only; fail when it cannot answer
#   --redis   skip the API and read Redis
#
# Environment (the service's own names, so the same .env works):
#   VIGIL_URL              the API                                   (default http://localhost:8081)
#   VIGIL_TOKEN            bearer token for the API, as the vigil command reads it (VIGIL_API_TOKEN is
#                          read too); default: the first of APP_API_TOKENS (a bare token or name:token:scope)
#   REDIS_ADDR             host:port of Redis                        (default 127.0.0.1:6379)
#   REDIS_PASSWORD         handed to redis-cli through REDISCLI_AUTH; never printed
#   APP_TASK_QUEUE_STREAM  stream name, the prefix of every key      (default vigil:task:queue)
#   APP_TASK_QUEUE_GROUP   consumer group                            (default scheduler_group)
#   MYSQL_DSN              Redis mode: count dead letters with the mysql client (they live in the database)
#   SQLITE_PATH            Redis mode without MYSQL_DSN: count them with sqlite3 (default data/vigil.db)
#   VIGIL_CHECK_TIMEOUT    seconds to wait for the API, Redis or the database (default 5)
#
# Exit status: 0 when the queue was read, 1 when neither the API nor Redis could be read, 2 on a usage error.
set -euo pipefail

VIGIL_URL="${VIGIL_URL:-http://localhost:8081}"
STREAM="${APP_TASK_QUEUE_STREAM:-vigil:task:queue}"
GROUP="${APP_TASK_QUEUE_GROUP:-scheduler_group}"
TIMEOUT="${VIGIL_CHECK_TIMEOUT:-5}"
PRIORITIES=(5 4 3 2 1)

say() { printf 'check-queue: %s\n' "$*" >&2; }

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

have() { command -v "$1" >/dev/null 2>&1; }

# The URL with any user:password@ part masked, for messages.
safe_url() { sed -E 's#://[^/@]*@#://***@#' <<<"$1"; }

# 1234 -> 1.2s, 90000 -> 1.5m; "-" for nothing.
fmt_ms() {
  local ms="$1"
  if [[ ! "$ms" =~ ^[0-9]+$ ]]; then
    printf '%s' "${ms:--}"
  elif ((ms < 1000)); then
    printf '%dms' "$ms"
  elif ((ms < 60000)); then
    printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
  elif ((ms < 3600000)); then
    printf '%d.%dm' $((ms / 60000)) $((ms % 60000 / 6000))
  elif ((ms < 86400000)); then
    printf '%d.%dh' $((ms / 3600000)) $((ms % 3600000 / 360000))
  else
    printf '%d.%dd' $((ms / 86400000)) $((ms % 86400000 / 8640000))
  fi
}

# ---------------------------------------------------------------------------------------------------------------
# Rendering. Both sources produce the same records, fields separated by US (\x1f, never in a name; a tab would
# let `read` merge empty fields), and this one function prints them:
#   H <key> <value>                                   a header line (source, status, mode, …)
#   S <stream> <length> <groups> <pending> <lag> <oldest pending age ms> <note>
#   C <name> <pending> <idle ms>                      a consumer of the stream above
#   P <key> <value>                                   polling view (due, running, oldest due)
#   D <count or note>                                 dead letters
# ---------------------------------------------------------------------------------------------------------------
US=$'\x1f'

render() {
  local kind a b c d e f g table_started=0 polling_started=0
  while IFS="$US" read -r kind a b c d e f g; do
    case "$kind" in
      H) printf '%-18s %s\n' "$a:" "$b" ;;
      S)
        if ((table_started == 0)); then
          printf '\n%-28s %8s %7s %8s %8s  %s\n' STREAM LENGTH GROUPS PENDING LAG 'OLDEST PENDING'
          table_started=1
        fi
        printf '%-28s %8s %7s %8s %8s  %s%s\n' "$a" "${b:--}" "${c:--}" "${d:--}" "${e:--}" "$(fmt_ms "${f:-}")" \
          "${g:+  ($g)}"
        ;;
      C) printf '    consumer %-40s pending %-6s idle %s\n' "$a" "${b:--}" "$(fmt_ms "${c:-}")" ;;
      P)
        if ((polling_started == 0)); then
          printf '\npolling view (due rows in the database):\n'
          polling_started=1
        fi
        if [[ "$a" == *_ms ]]; then
          printf '  %-16s %s\n' "${a%_ms}:" "$(fmt_ms "$b")"
        else
          printf '  %-16s %s\n' "$a:" "$b"
        fi
        ;;
      D) printf '\n%-18s %s\n' 'dead letters:' "$a" ;;
    esac
  done
}

# ---------------------------------------------------------------------------------------------------------------
# The API: GET /queue. Field names follow the API's snake_case JSON; the converters accept `streams` as a list or
# as an object keyed by stream name, and `groups` as a count or a list.
# ---------------------------------------------------------------------------------------------------------------
JQ_RECORDS='
def n: if . == null then "" elif type == "array" then length elif type == "object" then (.count // .total // "") else . end | tostring;
def t: tostring | gsub("[\u001f\n]"; " ");
(
  (if .status then ["H", "status", (.status | t)] else empty end),
  (if .mode then ["H", "mode", (.mode | t)] else empty end),
  ((.reasons // [])[] | ["H", "reason", (. | t)]),
  ((.streams // []) | (if type == "object" then to_entries | map(.value + {stream: (.value.stream // .value.name // .key)}) else . end)
    | .[] | (
      ["S", ((.stream // .name // "?") | t), (.length | n), (.groups | n), (.pending | n), (.lag | n), (.oldest_pending_age_ms | n), ""],
      ((.consumers // [])[] | ["C", (.name | t), (.pending | n), ((.idle_ms // .idle) | n)])
    )),
  (if .totals then ["S", "(all streams)", (.totals.length | n), "", (.totals.pending | n), (.totals.lag | n), (.totals.oldest_pending_age_ms | n), ""] else empty end),
  ((.polling // .) | to_entries[] | select(.key | test("^(due|running|oldest_due)")) | ["P", .key, (.value | n)]),
  (if has("dead_letters") then ["D", (.dead_letters | n)] else empty end)
) | join("\u001f")
'

NODE_RECORDS='
let text = "";
process.stdin.on("data", (c) => (text += c)).on("end", () => {
  const q = JSON.parse(text);
  const n = (v) => v == null ? "" : Array.isArray(v) ? String(v.length) : typeof v === "object" ? String(v.count ?? v.total ?? "") : String(v);
  const t = (v) => String(v).replace(/[\x1f\n]/g, " ");
  const out = [];
  if (q.status) out.push(["H", "status", t(q.status)]);
  if (q.mode) out.push(["H", "mode", t(q.mode)]);
  for (const r of q.reasons ?? []) out.push(["H", "reason", t(r)]);
  let streams = q.streams ?? [];
  if (!Array.isArray(streams)) streams = Object.entries(streams).map(([k, v]) => ({ ...v, stream: v.stream ?? v.name ?? k }));
  for (const s of streams) {
    out.push(["S", t(s.stream ?? s.name ?? "?"), n(s.length), n(s.groups), n(s.pending), n(s.lag), n(s.oldest_pending_age_ms), ""]);
    for (const c of s.consumers ?? []) out.push(["C", t(c.name), n(c.pending), n(c.idle_ms ?? c.idle)]);
  }
  if (q.totals) out.push(["S", "(all streams)", n(q.totals.length), "", n(q.totals.pending), n(q.totals.lag), n(q.totals.oldest_pending_age_ms), ""]);
  for (const [k, v] of Object.entries(q.polling ?? q)) if (/^(due|running|oldest_due)/.test(k)) out.push(["P", k, n(v)]);
  if ("dead_letters" in q) out.push(["D", n(q.dead_letters)]);
  process.stdout.write(out.map((r) => r.join("\x1f")).join("\n") + "\n");
});
'

api_token() {
  if [[ -n "${VIGIL_TOKEN:-}" ]]; then
    printf '%s' "$VIGIL_TOKEN"
  elif [[ -n "${VIGIL_API_TOKEN:-}" ]]; then
    printf '%s' "$VIGIL_API_TOKEN"
  elif [[ -n "${APP_API_TOKENS:-}" ]]; then
    local first="${APP_API_TOKENS%%,*}"
    first="${first#"${first%%[![:space:]]*}"}"
    first="${first%"${first##*[![:space:]]}"}"
    # name:token:scope entries carry the token in the middle; a bare token is itself.
    if [[ "$first" =~ ^[^:]+:(.+):(read|write)$ ]]; then first="${BASH_REMATCH[1]}"; fi
    printf '%s' "$first"
  fi
}

# Prints the API's records and returns 0, or explains on stderr why not and returns 1.
from_api() {
  local url body err code token
  url="${VIGIL_URL%/}/queue"
  if ! have curl; then
    say "curl is not installed; cannot ask the API"
    return 1
  fi
  body="$(mktemp)"
  err="$(mktemp)"
  # The token goes to curl on stdin (-K -), not on its command line, where `ps` would show it.
  token="$(api_token)"
  token="${token//\\/\\\\}"
  token="${token//\"/\\\"}"
  code="$(curl -sS --max-time "$TIMEOUT" -o "$body" -w '%{http_code}' -H 'Accept: application/json' -K - "$url" \
    <<<"${token:+header = \"Authorization: Bearer $token\"}" 2>"$err")" || code="${code:-000}"
  case "$code" in
    200) ;;
    000)
      say "the API at $(safe_url "$VIGIL_URL") does not answer ($(head -n1 "$err" | sed 's/^curl: ([0-9]*) //'))"
      rm -f "$body" "$err"
      return 1
      ;;
    404)
      say "the API at $(safe_url "$VIGIL_URL") has no /queue (HTTP 404)"
      rm -f "$body" "$err"
      return 1
      ;;
    401 | 403)
      say "the API refused the request (HTTP $code): set VIGIL_TOKEN, or APP_API_TOKENS, to one of its tokens"
      rm -f "$body" "$err"
      return 1
      ;;
    *)
      say "the API answered HTTP $code to /queue: $(head -c 300 "$body" | tr '\n' ' ')"
      rm -f "$body" "$err"
      return 1
      ;;
  esac

  emit H source "api $(safe_url "$url")"
  if have jq; then
    if jq -r "$JQ_RECORDS" <"$body"; then rm -f "$body" "$err"; return 0; fi
  elif have node; then
    if node -e "$NODE_RECORDS" <"$body"; then rm -f "$body" "$err"; return 0; fi
  fi
  # No JSON tool, or a body neither could read: show it as it came.
  say "install jq (or node) for a table; the raw answer follows"
  emit H raw "$(tr '\n\037' '  ' <"$body")"
  rm -f "$body" "$err"
  return 0
}

# ---------------------------------------------------------------------------------------------------------------
# Redis: redis-cli. The password travels in REDISCLI_AUTH, which keeps it off every command line and out of
# every message.
# ---------------------------------------------------------------------------------------------------------------
REDIS_HOST=127.0.0.1
REDIS_PORT=6379

parse_redis_addr() {
  local addr="${REDIS_ADDR:-127.0.0.1:6379}"
  if [[ "$addr" =~ ^\[([0-9a-fA-F:.]+)\](:([0-9]+))?$ ]]; then
    REDIS_HOST="${BASH_REMATCH[1]}" REDIS_PORT="${BASH_REMATCH[3]:-6379}"
  elif [[ "$addr" =~ ^([^:]*):([0-9]+)$ ]]; then
    REDIS_HOST="${BASH_REMATCH[1]:-127.0.0.1}" REDIS_PORT="${BASH_REMATCH[2]}"
  else
    REDIS_HOST="$addr" REDIS_PORT=6379
  fi
}

rcli() {
  local cmd=(redis-cli -e --no-auth-warning -h "$REDIS_HOST" -p "$REDIS_PORT" "$@")
  if have timeout; then cmd=(timeout "$TIMEOUT" "${cmd[@]}"); fi
  if [[ -n "${REDIS_PASSWORD:-}" ]]; then
    REDISCLI_AUTH="$REDIS_PASSWORD" "${cmd[@]}"
  else
    "${cmd[@]}"
  fi
}

# `{name}` stays as it is; anything else gets braces, so every key shares one hash tag (see internal/taskqueue).
stream_key() {
  local tag="$STREAM"
  [[ "$tag" =~ \{[^}]+\} ]] || tag="{$tag}"
  printf '%s:p%s' "$tag" "$1"
}

# Reads the flat field/value lines of XINFO GROUPS or XINFO CONSUMERS (one record per `name`) and prints one line
# per record with the requested fields, separated by US.
records() {
  awk -v want="$1" -v sep="$US" '
    BEGIN { n = split(want, fields, ",") }
    function flush(   i, line) {
      if (have) { line = ""; for (i = 1; i <= n; i++) line = line (i > 1 ? sep : "") rec[fields[i]]; print line }
      split("", rec); have = 0
    }
    NR % 2 == 1 { key = $0; next }
    { if (key == "name") { flush(); have = 1 } rec[key] = $0 }
    END { flush() }'
}

# One record line: the fields given, joined by US.
emit() {
  local IFS="$US"
  printf '%s\n' "$*"
}

# Prints the records of one stream. A command that fails (the stream vanished, the group was deleted) turns into a
# note on the stream's line rather than ending the whole report.
stream_records() {
  local key="$1" exists length flat groups group_count ours pending lag summary min_id oldest="" note="" consumers
  exists="$(rcli EXISTS "$key" 2>&1)" || { emit S "$key" "" "" "" "" "" "error: $(head -n1 <<<"$exists")"; return; }
  if [[ "$exists" != 1 ]]; then
    emit S "$key" 0 0 "" "" "" "no such stream yet"
    return
  fi
  length="$(rcli XLEN "$key" 2>&1)" || { emit S "$key" "" "" "" "" "" "error: $(head -n1 <<<"$length")"; return; }
  flat="$(rcli XINFO GROUPS "$key" 2>&1)" || { emit S "$key" "$length" "" "" "" "" "error: $(head -n1 <<<"$flat")"; return; }
  groups="$(records name,pending,lag <<<"$flat")"
  group_count="$(grep -c . <<<"$groups" || true)"
  ours="$(awk -F"$US" -v g="$GROUP" '$1 == g' <<<"$groups")"
  if [[ -z "$ours" ]]; then
    emit S "$key" "$length" "$group_count" "" "" "" "group $GROUP not found"
    return
  fi
  IFS="$US" read -r _ pending lag <<<"$ours"
  # XPENDING summary: count, smallest id, greatest id, then consumer/count pairs.
  if summary="$(rcli XPENDING "$key" "$GROUP" 2>&1)"; then
    min_id="$(sed -n 2p <<<"$summary")"
    if [[ "$(sed -n 1p <<<"$summary")" != 0 && "$min_id" =~ ^[0-9]+- && -n "$NOW_MS" ]]; then
      oldest=$((NOW_MS - ${min_id%%-*}))
      ((oldest >= 0)) || oldest=0
    fi
  else
    note="XPENDING: $(head -n1 <<<"$summary")"
  fi
  [[ -n "$lag" || -n "$note" ]] || note="lag unknown to this Redis"
  emit S "$key" "$length" "$group_count" "$pending" "$lag" "$oldest" "$note"
  if consumers="$(rcli XINFO CONSUMERS "$key" "$GROUP" 2>&1)"; then
    records name,pending,idle <<<"$consumers" | while IFS="$US" read -r name cpending idle; do
      [[ -n "$name" ]] && emit C "$name" "$cpending" "$idle"
    done
  fi
  return 0
}

NOW_MS=""

from_redis() {
  local reply time
  if ! have redis-cli; then
    say "redis-cli is not installed; cannot read Redis"
    return 1
  fi
  parse_redis_addr
  if ! reply="$(rcli PING 2>&1)" || [[ "$reply" != PONG ]]; then
    case "$reply" in
      *NOAUTH* | *WRONGPASS* | *"AUTH failed"*) say "Redis at $REDIS_HOST:$REDIS_PORT refused to authenticate: check REDIS_PASSWORD" ;;
      "") say "Redis at $REDIS_HOST:$REDIS_PORT did not answer within ${TIMEOUT}s" ;;
      *) say "cannot read Redis at $REDIS_HOST:$REDIS_PORT: $(head -n1 <<<"$reply")" ;;
    esac
    return 1
  fi
  # Ages come from Redis's own clock, the one that stamped the entry ids.
  if time="$(rcli TIME 2>/dev/null)" && [[ "$time" =~ ^([0-9]+)$'\n'([0-9]+) ]]; then
    NOW_MS=$((BASH_REMATCH[1] * 1000 + BASH_REMATCH[2] / 1000))
  fi

  emit H source "redis $REDIS_HOST:$REDIS_PORT"
  emit H group "$GROUP"
  for p in "${PRIORITIES[@]}"; do
    stream_records "$(stream_key "$p")"
  done
  emit D "$(dead_letters_from_db)"
}

urldecode() {
  local s="${1//+/ }"
  printf '%b' "${s//%/\\x}"
}

# Dead letters live in the database (both modes have them), not in Redis: count them there when a client is at hand.
dead_letters_from_db() {
  local dsn="${MYSQL_DSN:-}" rest userinfo hostpath hostport user pass host port db count client
  if [[ -n "$dsn" ]]; then
    client="$(command -v mysql || command -v mariadb || true)"
    if [[ -z "$client" ]]; then
      printf 'unknown (kept in MySQL; install the mysql client, or ask the API)'
      return
    fi
    rest="${dsn#mysql://}"
    if [[ "$rest" == *@* ]]; then userinfo="${rest%@*}" hostpath="${rest##*@}"; else userinfo="" hostpath="$rest"; fi
    user="$(urldecode "${userinfo%%:*}")"
    pass=""
    [[ "$userinfo" == *:* ]] && pass="$(urldecode "${userinfo#*:}")"
    hostport="${hostpath%%/*}"
    db="${hostpath#*/}"
    db="$(urldecode "${db%%\?*}")"
    if [[ "$hostport" =~ ^\[(.*)\](:([0-9]+))?$ ]]; then
      host="${BASH_REMATCH[1]}" port="${BASH_REMATCH[3]:-3306}"
    elif [[ "$hostport" == *:* ]]; then
      host="${hostport%:*}" port="${hostport##*:}"
    else
      host="$hostport" port=3306
    fi
    # MYSQL_PWD keeps the password off the command line.
    if count="$(MYSQL_PWD="$pass" "$client" --connect-timeout="$TIMEOUT" -h "$host" -P "$port" ${user:+-u "$user"} \
      -N -B -e 'SELECT COUNT(*) FROM dead_letters' "$db" 2>&1)" && [[ "$count" =~ ^[0-9]+$ ]]; then
      printf '%s' "$count"
    else
      printf 'unknown (MySQL at %s:%s: %s)' "$host" "$port" "$(head -n1 <<<"$count")"
    fi
    return
  fi
  local file="${SQLITE_PATH:-data/vigil.db}"
  if [[ -f "$file" ]] && have sqlite3; then
    if count="$(sqlite3 -readonly "$file" 'SELECT COUNT(*) FROM dead_letters' 2>&1)" && [[ "$count" =~ ^[0-9]+$ ]]; then
      printf '%s' "$count"
    else
      printf 'unknown (%s: %s)' "$file" "$(head -n1 <<<"$count")"
    fi
    return
  fi
  printf 'unknown (kept in the database: set MYSQL_DSN, or ask the API)'
}

main() {
  local use_api=1 use_redis=1 out
  while (($# > 0)); do
    case "$1" in
      --api) use_redis=0 ;;
      --redis) use_api=0 ;;
      -h | --help)
        usage
        return 0
        ;;
      *)
        say "unknown argument: $1 (see --help)"
        return 2
        ;;
    esac
    shift
  done
  if ((use_api == 1)) && out="$(from_api)"; then
    render <<<"$out"
    return 0
  fi
  if ((use_redis == 0)); then
    say "the API could not be read, and --api rules out Redis"
    return 1
  fi
  ((use_api == 0)) || say "reading Redis directly"
  if out="$(from_redis)"; then
    render <<<"$out"
    return 0
  fi
  say "neither the API nor Redis could be read"
  return 1
}

main "$@"
