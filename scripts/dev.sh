#!/usr/bin/env bash
# Starts the local development environment in the foreground: loads .env, applies migrations,
# starts Vite building the dashboard into dist/web (and again on every change under web/), then
# runs the API (with its embedded scheduler) under `tsx watch`, which restarts it when a source
# file changes. The API serves the dashboard at /ui/ as soon as the first build lands. Stop it with Ctrl-C, or with `make stop-dev` from another terminal.
#
# With nothing configured it needs only Node.js: the store is the embedded SQLite file
# data/vigil.db and, without Redis, the scheduler runs in polling mode. Set MYSQL_DSN and
# REDIS_ADDR (in the environment or in .env; see .env.example) for the full stack.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PID_FILE=data/dev.pid

say() { printf 'dev: %s\n' "$*" >&2; }

# Reads KEY=VALUE lines (optionally prefixed with `export`, values optionally quoted). A
# variable already set in the environment wins over the file, so `FOO=x make dev` still works.
load_env_file() {
  local file="$1" line key value
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line%$'\r'}"
    [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
    if [[ ! "$line" =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
      say "ignoring a line of $file that is not KEY=VALUE: $line"
      continue
    fi
    key="${BASH_REMATCH[2]}"
    value="${BASH_REMATCH[3]}"
    if [[ "$value" =~ ^\"(.*)\"[[:space:]]*$ || "$value" =~ ^\'(.*)\'[[:space:]]*$ ]]; then
      value="${BASH_REMATCH[1]}"
    else
      # An unquoted value ends at a ` #` comment.
      value="$(sed -E 's/[[:space:]]+#.*$//; s/[[:space:]]+$//' <<<"$value")"
    fi
    if [[ -z "${!key+set}" ]]; then
      export "$key=$value"
    fi
  done <"$file"
}

redact_dsn() {
  # mysql://user:secret@host:3306/db -> mysql://user:***@host:3306/db
  sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#' <<<"$1"
}

# APP_HTTP_ADDR is a listen address (":8081", "0.0.0.0:8081", "127.0.0.1:8081"); turn it into a
# URL a browser can open.
api_url() {
  local addr="${APP_HTTP_ADDR:-:8081}" host port
  if [[ "$addr" =~ ^[0-9]+$ ]]; then
    host="" port="$addr"
  else
    host="${addr%:*}" port="${addr##*:}"
  fi
  case "$host" in
    "" | 0.0.0.0 | "[::]" | "::") host=localhost ;;
  esac
  echo "http://$host:$port"
}

if [[ -f .env ]]; then
  load_env_file .env
fi

mkdir -p data logs

if [[ -f "$PID_FILE" ]]; then
  old_pid="$(<"$PID_FILE")"
  if [[ "$old_pid" =~ ^[0-9]+$ ]] && kill -0 "$old_pid" 2>/dev/null &&
    ps -o args= -p "$old_pid" | grep -Eq 'tsx|npm|npx|node|dev\.sh'; then
    say "already running (pid $old_pid); stop it first with: make stop-dev"
    exit 1
  fi
  rm -f "$PID_FILE"
fi

if [[ -n "${MYSQL_DSN:-}" ]]; then
  store="MySQL $(redact_dsn "$MYSQL_DSN")"
else
  store="embedded SQLite (data/vigil.db)"
fi
if [[ -z "${REDIS_ADDR:-}" ]]; then
  queue="no Redis: polling mode"
elif [[ "${APP_ENABLE_REDIS_QUEUE:-true}" == false ]]; then
  queue="Redis $REDIS_ADDR, but APP_ENABLE_REDIS_QUEUE=false: polling mode"
else
  queue="Redis $REDIS_ADDR: stream mode (polling mode while it is unreachable)"
fi

cat >&2 <<EOF

  vigil dev
    store : $store
    queue : $queue
    api   : $(api_url)
    ui    : $(api_url)/ui/
    stop  : Ctrl-C, or make stop-dev

EOF

# The dashboard builds while migrations run and the API starts. It runs in the background of this
# shell, so it is a child of the PID in the pid file (exec below keeps the PID): stop-dev and
# Ctrl-C stop it with the API.
say "building the dashboard into dist/web (rebuilt on every change under web/)"
npx vite build --config web/vite.config.ts --watch --logLevel warn &

say "applying migrations"
npx tsx cmd/migrate/main.ts up

say "starting the API with hot reload"
# exec keeps this PID, so the pid file names the watcher that stop-dev must signal.
echo "$$" >"$PID_FILE"
exec npx tsx watch cmd/api/main.ts
