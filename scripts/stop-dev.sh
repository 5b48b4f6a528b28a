#!/usr/bin/env bash
# Stops what scripts/dev.sh started: sends SIGTERM to the process named in data/dev.pid and to
# everything under it, waits for them to exit (the API drains runs in flight for up to
# APP_SHUTDOWN_TIMEOUT, 30 s by default), and removes the pid file.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PID_FILE=data/dev.pid
DEADLINE_S=35

say() { printf 'stop-dev: %s\n' "$*" >&2; }

if [[ ! -f "$PID_FILE" ]]; then
  say "nothing to stop: vigil dev is not running (no $PID_FILE)"
  exit 0
fi

pid="$(<"$PID_FILE")"
if [[ ! "$pid" =~ ^[0-9]+$ ]]; then
  say "$PID_FILE does not hold a pid; removing it"
  rm -f "$PID_FILE"
  exit 0
fi
if ! kill -0 "$pid" 2>/dev/null; then
  say "nothing to stop: pid $pid is not running; removing the stale $PID_FILE"
  rm -f "$PID_FILE"
  exit 0
fi
# The pid may have been reused since dev.sh wrote it: only signal what dev.sh runs.
args="$(ps -o args= -p "$pid" || true)"
if ! grep -Eq 'tsx|npm|npx|node|dev\.sh' <<<"$args"; then
  say "pid $pid is not vigil dev ($args); leaving it alone and removing the stale $PID_FILE"
  rm -f "$PID_FILE"
  exit 0
fi

# descendants PID: every process below PID, children first listed after their parent.
descendants() {
  local table
  table="$(ps -e -o pid= -o ppid=)"
  local queue=("$1") next child
  while ((${#queue[@]} > 0)); do
    next="${queue[0]}"
    queue=("${queue[@]:1}")
    while read -r child; do
      [[ -n "$child" ]] || continue
      echo "$child"
      queue+=("$child")
    done < <(awk -v p="$next" '$2 == p { print $1 }' <<<"$table")
  done
}

mapfile -t targets < <(
  echo "$pid"
  descendants "$pid"
)
pgid="$(ps -o pgid= -p "$pid" | tr -d ' ')"

if [[ "$pgid" == "$pid" ]]; then
  # dev.sh leads its own process group (started from an interactive shell): signal the group.
  say "sending SIGTERM to process group $pgid"
  kill -TERM -- "-$pgid" 2>/dev/null || true
else
  # Under `make dev` the group belongs to make and the shell around it: signal only our tree.
  say "sending SIGTERM to pid $pid and the $((${#targets[@]} - 1)) process(es) under it"
  kill -TERM "${targets[@]}" 2>/dev/null || true
fi

alive() {
  local p
  for p in "${targets[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      return 0
    fi
  done
  return 1
}

deadline=$((SECONDS + DEADLINE_S))
while alive; do
  if ((SECONDS >= deadline)); then
    say "still running after ${DEADLINE_S}s; sending SIGKILL"
    kill -KILL "${targets[@]}" 2>/dev/null || true
    break
  fi
  sleep 0.2
done

rm -f "$PID_FILE"
say "stopped"
