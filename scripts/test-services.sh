#!/usr/bin/env bash
# Makes sure a MySQL/MariaDB server and a Redis server are reachable, runs a
# command against them, and tears down whatever this script started.
#
#   scripts/test-services.sh run -- <command...>
#   scripts/test-services.sh cluster -- <command...>    also a Redis Cluster (3 masters, 1 replica each)
#   scripts/test-services.sh sentinel -- <command...>   also a Sentinel set (1 master, 1 replica, 3 sentinels)
#   scripts/test-services.sh ha -- <command...>         both
#
# The Cluster and the Sentinel set are always started from the local redis-server (and
# redis-cli) binaries, on free ports, in a temp dir, and torn down afterwards, including any
# node a test restarted (found by the pidfile in its directory).
#
# Exported to the command:
#   VIGIL_TEST_MYSQL_DSN         admin DSN without a database, e.g. mysql://root@127.0.0.1:3306
#                                (tests create and drop their own databases with it)
#   VIGIL_TEST_REDIS_ADDR        host:port of Redis
#   VIGIL_TEST_REDIS_SERVER_BIN  a local redis-server binary, for tests that start a throwaway
#                                Redis of their own (outage tests); empty when there is none
# and with cluster / sentinel / ha:
#   VIGIL_TEST_REDIS_CLUSTER_NODES   every node of the Cluster, host:port,host:port,...
#   VIGIL_TEST_REDIS_SENTINELS       the three sentinels, host:port,...
#   VIGIL_TEST_REDIS_SENTINEL_MASTER the master's name the sentinels watch
#   Each node's directory holds its redis.conf and redis.pid: a test that kills a node can start
#   it again with `redis-server <dir>/redis.conf` (CONFIG GET dir tells the directory).
#
# Each service is resolved on its own, first match wins:
#   a. the caller already set VIGIL_TEST_MYSQL_DSN / VIGIL_TEST_REDIS_ADDR (must be reachable);
#   b. 127.0.0.1:3306 as root with an empty password / 127.0.0.1:6379
#      (skipped when VIGIL_TEST_FORCE_LOCAL=1);
#   c. a throwaway server started from local binaries, on a free port, in a temp dir;
#   d. docker compose with scripts/test-services.compose.yml, when a Docker engine answers;
#   e. otherwise exit 2, saying what to install.
#
# The command's exit code is this script's exit code. Exit 2 means the services could not be
# provided (nothing was run).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
COMPOSE_FILE="$SCRIPT_DIR/test-services.compose.yml"
READY_TIMEOUT_S="${VIGIL_TEST_READY_TIMEOUT:-60}"
STOP_TIMEOUT_S=30

# Places where distributions and tarballs put server binaries that are often not on PATH.
EXTRA_BIN_DIRS=(/usr/sbin /usr/local/sbin /usr/local/bin /usr/local/mysql/bin /usr/bin)

TMP_DIR=""
REDIS_CLI_BIN=""
NODE_PORT=""
STARTED_PIDS=()
COMPOSE_PROJECT=""
CHILD_PID=""
CLEANUP_HURRY=""

log() { printf 'test-services: %s\n' "$*" >&2; }
die() {
  local code="$1"
  shift
  log "error: $*"
  exit "$code"
}

usage() {
  cat >&2 <<'EOF'
usage: scripts/test-services.sh run|cluster|sentinel|ha -- <command...>

Makes MySQL/MariaDB and Redis reachable, exports VIGIL_TEST_MYSQL_DSN,
VIGIL_TEST_REDIS_ADDR and VIGIL_TEST_REDIS_SERVER_BIN, runs the command and
cleans up what it started. `cluster` also starts a Redis Cluster of three masters
with one replica each (VIGIL_TEST_REDIS_CLUSTER_NODES), `sentinel` a master, a
replica and three sentinels (VIGIL_TEST_REDIS_SENTINELS, VIGIL_TEST_REDIS_SENTINEL_MASTER),
`ha` both, from the local redis-server and redis-cli.

Environment:
  VIGIL_TEST_MYSQL_DSN, VIGIL_TEST_REDIS_ADDR  use these servers as they are
  VIGIL_TEST_FORCE_LOCAL=1   do not use the servers on 127.0.0.1:3306/6379; start throwaway ones
  VIGIL_TEST_READY_TIMEOUT   seconds to wait for a started server (default 60)
EOF
}

# ---------------------------------------------------------------------------
# cleanup (these run from traps, which shellcheck cannot see)
# shellcheck disable=SC2317

stop_pid() {
  local pid="$1" name="$2" waited=0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if [[ -n "$CLEANUP_HURRY" ]]; then
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    if ((waited >= STOP_TIMEOUT_S * 10)); then
      log "$name (pid $pid) did not stop in ${STOP_TIMEOUT_S}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  wait "$pid" 2>/dev/null || true
}

# stop_pid_foreign PID NAME : like stop_pid, for a process that is not our child (no wait).
# shellcheck disable=SC2317
stop_pid_foreign() {
  local pid="$1" name="$2" waited=0
  kill -0 "$pid" 2>/dev/null || return 0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if [[ -n "$CLEANUP_HURRY" ]] || ((waited >= STOP_TIMEOUT_S * 10)); then
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

# shellcheck disable=SC2317
cleanup() {
  local rc=$? i
  trap - EXIT
  # Finish cleaning up even if another signal arrives; a second one only hurries the servers.
  trap 'CLEANUP_HURRY=1' INT TERM
  local entry pidfile pid
  # Nodes a test killed and started again have a pid this script did not see; their pidfile has it.
  if [[ -n "$TMP_DIR" && -d "$TMP_DIR" ]]; then
    for pidfile in "$TMP_DIR"/cluster/*/redis.pid "$TMP_DIR"/sentinel/*/redis.pid; do
      [[ -f "$pidfile" ]] || continue
      pid="$(cat "$pidfile" 2>/dev/null || true)"
      [[ "$pid" =~ ^[0-9]+$ ]] || continue
      [[ " ${STARTED_PIDS[*]} " == *" $pid:"* ]] && continue
      stop_pid_foreign "$pid" "redis node restarted by a test"
    done
  fi
  # Stop in reverse start order.
  for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do
    entry="${STARTED_PIDS[$i]}"
    stop_pid "${entry%%:*}" "${entry#*:}"
  done
  if [[ -n "$COMPOSE_PROJECT" ]]; then
    log "docker compose down ($COMPOSE_PROJECT)"
    docker compose -p "$COMPOSE_PROJECT" -f "$COMPOSE_FILE" down -v --remove-orphans >&2 || true
  fi
  if [[ -n "$TMP_DIR" && -d "$TMP_DIR" ]]; then
    rm -rf "$TMP_DIR"
  fi
  exit "$rc"
}

# shellcheck disable=SC2317
on_signal() {
  local sig="$1"
  # While the command runs, pass the signal on and let it decide how to end; its exit code
  # becomes ours and the EXIT trap cleans up.
  if [[ -n "$CHILD_PID" ]] && kill -0 "$CHILD_PID" 2>/dev/null; then
    kill -s "$sig" "$CHILD_PID" 2>/dev/null || true
    return 0
  fi
  log "interrupted ($sig)"
  exit $((128 + $(kill -l "$sig")))
}

# ---------------------------------------------------------------------------
# helpers (node is required by the project anyway; the checks below work without any client)

# Prints a free TCP port on 127.0.0.1.
free_port() {
  node -e '
    const s = require("net").createServer();
    s.listen(0, "127.0.0.1", () => { process.stdout.write(String(s.address().port)); s.close(); });
  '
}

# find_bin NAME... : first executable among NAMEs on PATH or in EXTRA_BIN_DIRS.
find_bin() {
  local name candidate
  for name in "$@"; do
    for candidate in "$(command -v "$name" 2>/dev/null || true)" "${EXTRA_BIN_DIRS[@]/%//$name}"; do
      if [[ -n "$candidate" && -f "$candidate" && -x "$candidate" ]]; then
        echo "$candidate"
        return 0
      fi
    done
  done
  return 1
}

# mysql_check DSN [quiet] : succeeds when DSN accepts a login; prints the server version.
# Uses mysql2 from node_modules, else a mariadb/mysql client, else only checks that a MySQL
# server greets on the port (the credentials are then checked by the tests themselves).
mysql_check() {
  local dsn="$1" quiet="${2:-}" out rc
  set +e
  out="$(CHECK_DSN="$dsn" CHECK_ROOT="$REPO_ROOT" node -e '
    const { createRequire } = require("module");
    let mysql;
    try { mysql = createRequire(process.env.CHECK_ROOT + "/package.json")("mysql2/promise"); }
    catch { process.exit(3); }
    (async () => {
      const u = new URL(process.env.CHECK_DSN);
      const conn = await mysql.createConnection({
        host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port || 3306),
        user: decodeURIComponent(u.username), password: decodeURIComponent(u.password),
        connectTimeout: 3000,
      });
      const [rows] = await conn.query("SELECT VERSION() AS v");
      await conn.end();
      process.stdout.write(String(rows[0].v));
    })().catch((e) => { process.stderr.write(String(e && e.message || e) + "\n"); process.exit(1); });
  ' 2>&1)"
  rc=$?
  set -e
  if ((rc == 3)); then
    local client
    if client="$(command -v mariadb || command -v mysql)"; then
      local parts=()
      # host, port, user, password: one per line so that none of them can be split.
      mapfile -t parts < <(CHECK_DSN="$dsn" node -e '
        const u = new URL(process.env.CHECK_DSN);
        console.log([u.hostname.replace(/^\[|\]$/g, ""), u.port || "3306",
          decodeURIComponent(u.username), decodeURIComponent(u.password)].join("\n"));
      ')
      set +e
      out="$(MYSQL_PWD="${parts[3]:-}" "$client" --no-defaults --protocol=TCP -h "${parts[0]:-}" \
        -P "${parts[1]:-3306}" -u "${parts[2]:-}" --connect-timeout=3 -N -B -e 'SELECT VERSION()' 2>&1)"
      rc=$?
      set -e
    else
      set +e
      out="$(CHECK_DSN="$dsn" node -e '
        const u = new URL(process.env.CHECK_DSN);
        const s = require("net").connect(Number(u.port || 3306), u.hostname.replace(/^\[|\]$/g, ""));
        s.setTimeout(3000, () => { console.error("timed out"); process.exit(1); });
        s.on("error", (e) => { console.error(e.message); process.exit(1); });
        s.once("data", (b) => {
          // A MySQL greeting: 3-byte length, sequence id, protocol version 10, version string.
          if (b.length > 5 && b[4] === 10) {
            const version = b.subarray(5, b.indexOf(0, 5)).toString().replace(/^5\.5\.5-/, "");
            process.stdout.write(version + "; login not checked: no mysql2 in node_modules, no mariadb/mysql client");
            process.exit(0);
          }
          console.error(b[4] === 0xff ? b.subarray(7).toString() : "not a MySQL server");
          process.exit(1);
        });
      ' 2>&1)"
      rc=$?
      set -e
    fi
  fi
  if ((rc == 0)); then
    echo "$out"
    return 0
  fi
  [[ -n "$quiet" ]] || log "  $(redact_dsn "$dsn"): ${out//$'\n'/ }"
  return 1
}

# redis_check HOST:PORT [quiet] : succeeds when the server answers PING.
redis_check() {
  local addr="$1" quiet="${2:-}" out rc
  set +e
  # shellcheck disable=SC2016 # the JS is meant to be single-quoted
  out="$(CHECK_ADDR="$addr" node -e '
    const a = process.env.CHECK_ADDR, i = a.lastIndexOf(":");
    const host = a.slice(0, i).replace(/^\[|\]$/g, "") || "127.0.0.1", port = Number(a.slice(i + 1));
    const s = require("net").connect(port, host);
    s.setTimeout(3000, () => { console.error("timed out"); process.exit(1); });
    s.on("error", (e) => { console.error(e.message); process.exit(1); });
    s.on("connect", () => s.write("*1\r\n$4\r\nPING\r\n"));
    s.once("data", (b) => {
      const line = b.toString().split("\r\n")[0];
      if (line === "+PONG") { process.exit(0); }
      console.error(/^[-+]/.test(line) ? line : "not a Redis server"); process.exit(1);
    });
  ' 2>&1)"
  rc=$?
  set -e
  if ((rc == 0)); then
    return 0
  fi
  [[ -n "$quiet" ]] || log "  redis $addr: ${out//$'\n'/ }"
  return 1
}

redact_dsn() {
  # mysql://user:secret@host -> mysql://user:***@host
  sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#' <<<"$1"
}

ensure_tmp_dir() {
  if [[ -z "$TMP_DIR" ]]; then
    TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/vigil-test.XXXXXX")"
  fi
}

# wait_ready NAME PID LOGFILE CHECK_CMD... : polls CHECK_CMD until it succeeds, the process dies,
# or the deadline passes.
wait_ready() {
  local name="$1" pid="$2" logfile="$3"
  shift 3
  local deadline=$((SECONDS + READY_TIMEOUT_S))
  # Only stdout is silenced: a trap firing meanwhile must still be able to log to stderr.
  while ! "$@" >/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited during start-up; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 2>/dev/null || log "  (it wrote no log)"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "$name was not ready after ${READY_TIMEOUT_S}s; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      return 1
    fi
    sleep 0.5
  done
}

# ---------------------------------------------------------------------------
# local throwaway servers

start_local_mysql() {
  local bin flavor dir port log_file pid
  bin="$(find_bin mariadbd mysqld)" || return 1
  if "$bin" --no-defaults --version 2>/dev/null | grep -qi mariadb; then flavor=mariadb; else flavor=mysql; fi
  ensure_tmp_dir
  dir="$TMP_DIR/mysql"
  mkdir -p "$dir/data" "$dir/tmp"
  log_file="$dir/server.log"
  local user_args=()
  # mysqld refuses to run as root unless told to.
  if [[ "$(id -u)" == 0 ]]; then user_args=(--user=root); fi
  local basedir
  basedir="$(dirname "$(dirname "$bin")")"

  log "initialising a throwaway $flavor data directory ($bin)"
  if [[ "$flavor" == mariadb ]]; then
    local install_db
    local candidate
    install_db=""
    # Tarball installs keep the script beside the server or under scripts/.
    for candidate in "$basedir/bin/mariadb-install-db" "$basedir/scripts/mariadb-install-db" \
      "$basedir/bin/mysql_install_db" "$basedir/scripts/mysql_install_db"; do
      if [[ -x "$candidate" ]]; then
        install_db="$candidate"
        break
      fi
    done
    if [[ -z "$install_db" ]]; then
      install_db="$(find_bin mariadb-install-db mysql_install_db)" || {
        log "found $bin but no mariadb-install-db/mysql_install_db to initialise it"
        return 1
      }
    fi
    if ! "$install_db" --no-defaults --auth-root-authentication-method=normal --skip-test-db \
      --basedir="$basedir" --datadir="$dir/data" "${user_args[@]}" >"$dir/install.log" 2>&1; then
      log "$install_db failed; last lines of its output:"
      tail -n 30 "$dir/install.log" >&2 || true
      return 1
    fi
  else
    if ! "$bin" --no-defaults --initialize-insecure --basedir="$basedir" --datadir="$dir/data" \
      "${user_args[@]}" >"$dir/install.log" 2>&1; then
      log "$bin --initialize-insecure failed; last lines of its output:"
      tail -n 30 "$dir/install.log" >&2 || true
      return 1
    fi
  fi

  # Make sure root can log in over TCP from 127.0.0.1 with an empty password; install-db and
  # --initialize-insecure differ in which root@host accounts they create.
  cat >"$dir/init.sql" <<'SQL'
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
SQL

  port="$(free_port)"
  local args=(
    --no-defaults --basedir="$basedir" --datadir="$dir/data" --tmpdir="$dir/tmp"
    --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" --log-error="$log_file"
    --port="$port" --bind-address=127.0.0.1 --init-file="$dir/init.sql"
    --innodb-flush-log-at-trx-commit=2 "${user_args[@]}"
  )
  if [[ "$flavor" == mariadb ]]; then
    # Debian's packaged config sets utf8mb4; --no-defaults would fall back to latin1.
    args+=(--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci)
  else
    args+=(--mysqlx=OFF --skip-log-bin)
  fi
  log "starting $flavor on 127.0.0.1:$port"
  "$bin" "${args[@]}" >>"$log_file" 2>&1 &
  pid=$!
  STARTED_PIDS+=("$pid:$flavor")

  local dsn="mysql://root@127.0.0.1:$port"
  wait_ready "$flavor" "$pid" "$log_file" mysql_check "$dsn" quiet || return 1
  log "$flavor is ready on 127.0.0.1:$port (pid $pid)"
  VIGIL_TEST_MYSQL_DSN="$dsn"
}

start_local_redis() {
  local bin dir port pid
  bin="$(find_bin redis-server)" || return 1
  ensure_tmp_dir
  dir="$TMP_DIR/redis"
  mkdir -p "$dir"
  port="$(free_port)"
  log "starting redis-server on 127.0.0.1:$port ($bin)"
  "$bin" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
    --dir "$dir" >"$dir/server.log" 2>&1 &
  pid=$!
  STARTED_PIDS+=("$pid:redis-server")
  wait_ready redis-server "$pid" "$dir/server.log" redis_check "127.0.0.1:$port" quiet || return 1
  log "redis-server is ready on 127.0.0.1:$port (pid $pid)"
  VIGIL_TEST_REDIS_ADDR="127.0.0.1:$port"
}

# ---------------------------------------------------------------------------
# Redis Cluster and Sentinel (always local binaries: the tests kill and restart their nodes)

# redis_cli ARGS... : the local redis-cli.
redis_cli() {
  "$REDIS_CLI_BIN" "$@"
}

# start_redis_node KIND NAME EXTRA_CONF : starts one redis-server from $TMP_DIR/KIND/<port>/redis.conf;
# sets NODE_PORT (not printed: a subshell would lose the pid recorded in STARTED_PIDS).
start_redis_node() {
  local kind="$1" name="$2" extra="$3" bin port dir pid
  bin="$(find_bin redis-server)"
  port="$(free_port)"
  dir="$TMP_DIR/$kind/$port"
  mkdir -p "$dir"
  cat >"$dir/redis.conf" <<CONF
port $port
bind 127.0.0.1
daemonize no
dir $dir
pidfile $dir/redis.pid
logfile $dir/server.log
save ""
appendonly no
$extra
CONF
  local args=("$dir/redis.conf")
  [[ "$kind" == sentinel && "$name" == sentinel* ]] && args+=(--sentinel)
  "$bin" "${args[@]}" >>"$dir/stdout.log" 2>&1 &
  pid=$!
  STARTED_PIDS+=("$pid:$name")
  wait_ready "$name" "$pid" "$dir/server.log" redis_check "127.0.0.1:$port" quiet || return 1
  NODE_PORT="$port"
}

# The Cluster: six nodes, then `redis-cli --cluster create` with one replica per master. Node timeouts
# are short so that a failover takes seconds, as the failover tests need.
start_redis_cluster() {
  local ports=() port i nodes=()
  ensure_tmp_dir
  for i in 1 2 3 4 5 6; do
    start_redis_node cluster "redis-cluster-node-$i" "cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 1000
cluster-replica-validity-factor 0
cluster-require-full-coverage no
cluster-allow-reads-when-down no" || return 1
    port="$NODE_PORT"
    ports+=("$port")
    nodes+=("127.0.0.1:$port")
  done
  log "creating a Redis Cluster of 3 masters with 1 replica each on ${nodes[*]}"
  if ! redis_cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$TMP_DIR/cluster/create.log" 2>&1; then
    log "redis-cli --cluster create failed:"
    tail -n 30 "$TMP_DIR/cluster/create.log" >&2 || true
    return 1
  fi
  # Ready when every node says the cluster is ok and every replica has synced with its master.
  local deadline=$((SECONDS + READY_TIMEOUT_S))
  until cluster_ready "${ports[@]}"; do
    ((SECONDS < deadline)) || { log "the Redis Cluster did not become ready in ${READY_TIMEOUT_S}s"; return 1; }
    sleep 0.5
  done
  VIGIL_TEST_REDIS_CLUSTER_NODES="$(IFS=,; echo "${nodes[*]}")"
  log "Redis Cluster ready: $VIGIL_TEST_REDIS_CLUSTER_NODES"
}

cluster_ready() {
  local port info
  for port in "$@"; do
    redis_cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
    info="$(redis_cli -p "$port" info replication 2>/dev/null)"
    if grep -q '^role:slave' <<<"$info"; then
      grep -q '^master_link_status:up' <<<"$info" || return 1
    fi
  done
  redis_cli --cluster check "127.0.0.1:$1" >/dev/null 2>&1
}

# Sentinel: a master, a replica of it, and three sentinels watching it with a quorum of two. Short
# timeouts so that a failover takes seconds.
start_redis_sentinel() {
  local master replica i sentinels=() name=vigil-test
  ensure_tmp_dir
  start_redis_node sentinel redis-sentinel-master "" || return 1
  master="$NODE_PORT"
  start_redis_node sentinel redis-sentinel-replica "replicaof 127.0.0.1 $master" || return 1
  replica="$NODE_PORT"
  for i in 1 2 3; do
    start_redis_node sentinel "sentinel-$i" "sentinel monitor $name 127.0.0.1 $master 2
sentinel down-after-milliseconds $name 1000
sentinel failover-timeout $name 5000
sentinel parallel-syncs $name 1" || return 1
    sentinels+=("127.0.0.1:$NODE_PORT")
  done
  local deadline=$((SECONDS + READY_TIMEOUT_S)) s
  # Ready when the replica has synced and every sentinel knows the replica and the other sentinels.
  until redis_cli -p "$replica" info replication 2>/dev/null | grep -q '^master_link_status:up' && sentinels_ready "$name" "${sentinels[@]}"; do
    ((SECONDS < deadline)) || { log "the Sentinel set did not become ready in ${READY_TIMEOUT_S}s"; return 1; }
    sleep 0.5
  done
  VIGIL_TEST_REDIS_SENTINELS="$(IFS=,; echo "${sentinels[*]}")"
  VIGIL_TEST_REDIS_SENTINEL_MASTER="$name"
  log "Sentinel set ready: master 127.0.0.1:$master, replica 127.0.0.1:$replica, sentinels $VIGIL_TEST_REDIS_SENTINELS"
}

sentinels_ready() {
  local name="$1" s info
  shift
  for s in "$@"; do
    info="$(redis_cli -p "${s##*:}" sentinel master "$name" 2>/dev/null | tr '\n' ' ')"
    [[ "$info" =~ num-slaves\ 1\  && "$info" =~ num-other-sentinels\ 2\  ]] || return 1
  done
}

# ---------------------------------------------------------------------------
# docker compose

# Debian's faketime runs a child process under a shifted clock (test/clock-skew.test.ts). Installed when missing and
# this script may use apt-get (root, or sudo without a password); otherwise the test says loudly that it skips.
ensure_faketime() {
  local lib
  for lib in /usr/lib/faketime/libfaketime.so.1 /usr/lib/*/faketime/libfaketime.so.1; do
    [[ -e "$lib" ]] && return 0
  done
  command -v apt-get >/dev/null 2>&1 || {
    log "faketime: not installed and no apt-get; the clock skew test will skip"
    return 0
  }
  local sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo -n)
  log "faketime: installing (apt-get install faketime)"
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends faketime >/dev/null 2>&1 ||
    log "faketime: could not install it; the clock skew test will skip (apt-get install faketime)"
}

docker_usable() {
  command -v docker >/dev/null 2>&1 &&
    docker compose version >/dev/null 2>&1 &&
    docker info >/dev/null 2>&1
}

# start_compose SERVICE... : services are "mysql" and/or "redis".
start_compose() {
  local services=("$@") mysql_port="" redis_port=""
  COMPOSE_PROJECT="vigil-test-$$"
  [[ " ${services[*]} " == *" mysql "* ]] && mysql_port="$(free_port)"
  [[ " ${services[*]} " == *" redis "* ]] && redis_port="$(free_port)"
  log "starting ${services[*]} with docker compose (project $COMPOSE_PROJECT)"
  if ! VIGIL_TEST_MYSQL_PORT="${mysql_port:-0}" VIGIL_TEST_REDIS_PORT="${redis_port:-0}" \
    docker compose -p "$COMPOSE_PROJECT" -f "$COMPOSE_FILE" up -d --wait "${services[@]}" >&2; then
    log "docker compose up failed"
    return 1
  fi
  if [[ -n "$mysql_port" ]]; then
    VIGIL_TEST_MYSQL_DSN="mysql://root@127.0.0.1:$mysql_port"
    local deadline=$((SECONDS + READY_TIMEOUT_S))
    until mysql_check "$VIGIL_TEST_MYSQL_DSN" quiet >/dev/null; do
      ((SECONDS < deadline)) || { log "mysql container not reachable on port $mysql_port"; return 1; }
      sleep 0.5
    done
  fi
  if [[ -n "$redis_port" ]]; then
    VIGIL_TEST_REDIS_ADDR="127.0.0.1:$redis_port"
    redis_check "$VIGIL_TEST_REDIS_ADDR" || return 1
  fi
}

# ---------------------------------------------------------------------------
# resolution

# Each resolve_* sets the variable and returns 0, returns 1 to fall through to docker, or exits.
resolve_mysql() {
  local version
  if [[ -n "${VIGIL_TEST_MYSQL_DSN:-}" ]]; then
    log "MySQL: using VIGIL_TEST_MYSQL_DSN=$(redact_dsn "$VIGIL_TEST_MYSQL_DSN")"
    version="$(mysql_check "$VIGIL_TEST_MYSQL_DSN")" ||
      die 2 "VIGIL_TEST_MYSQL_DSN is set but the server does not accept the login; fix or unset it"
    log "MySQL: server $version"
    return 0
  fi
  if [[ "${VIGIL_TEST_FORCE_LOCAL:-}" != 1 ]]; then
    if version="$(mysql_check "mysql://root@127.0.0.1:3306" quiet)"; then
      VIGIL_TEST_MYSQL_DSN="mysql://root@127.0.0.1:3306"
      log "MySQL: using the server on 127.0.0.1:3306 ($version)"
      return 0
    fi
    log "MySQL: nothing usable on 127.0.0.1:3306 as root with an empty password"
  else
    log "MySQL: VIGIL_TEST_FORCE_LOCAL=1, not looking at 127.0.0.1:3306"
  fi
  if find_bin mariadbd mysqld >/dev/null; then
    start_local_mysql || die 2 "could not start a local MySQL/MariaDB server (see above)"
    return 0
  fi
  log "MySQL: no mariadbd/mysqld binary found"
  return 1
}

resolve_redis() {
  if [[ -n "${VIGIL_TEST_REDIS_ADDR:-}" ]]; then
    log "Redis: using VIGIL_TEST_REDIS_ADDR=$VIGIL_TEST_REDIS_ADDR"
    redis_check "$VIGIL_TEST_REDIS_ADDR" ||
      die 2 "VIGIL_TEST_REDIS_ADDR is set but Redis does not answer PING there; fix or unset it"
    return 0
  fi
  if [[ "${VIGIL_TEST_FORCE_LOCAL:-}" != 1 ]]; then
    if redis_check "127.0.0.1:6379" quiet; then
      VIGIL_TEST_REDIS_ADDR="127.0.0.1:6379"
      log "Redis: using the server on 127.0.0.1:6379"
      return 0
    fi
    log "Redis: nothing answers PING on 127.0.0.1:6379"
  else
    log "Redis: VIGIL_TEST_FORCE_LOCAL=1, not looking at 127.0.0.1:6379"
  fi
  if find_bin redis-server >/dev/null; then
    start_local_redis || die 2 "could not start a local redis-server (see above)"
    return 0
  fi
  log "Redis: no redis-server binary found"
  return 1
}

main() {
  local mode="${1:-}"
  case "$mode" in
    run | cluster | sentinel | ha) ;;
    *)
      usage
      exit 2
      ;;
  esac
  shift
  [[ "${1:-}" == -- ]] && shift
  if (($# == 0)); then
    usage
    exit 2
  fi
  command -v node >/dev/null 2>&1 || die 2 "node is not on PATH; install Node.js 20 or newer"

  trap cleanup EXIT
  trap 'on_signal INT' INT
  trap 'on_signal TERM' TERM

  local need_docker=()
  resolve_mysql || need_docker+=(mysql)
  resolve_redis || need_docker+=(redis)

  if ((${#need_docker[@]} > 0)); then
    if docker_usable; then
      start_compose "${need_docker[@]}" || die 2 "docker compose could not provide ${need_docker[*]}"
    else
      local missing=()
      [[ " ${need_docker[*]} " == *" mysql "* ]] &&
        missing+=("MariaDB server (apt-get install mariadb-server)")
      [[ " ${need_docker[*]} " == *" redis "* ]] &&
        missing+=("Redis (apt-get install redis-server)")
      local what="${missing[0]}" servers="${need_docker[*]}"
      ((${#missing[@]} > 1)) && what="${missing[0]} and ${missing[1]}"
      servers="${servers/mysql/MySQL\/MariaDB}"
      servers="${servers/redis/Redis}"
      die 2 "no ${servers/ / or } server reachable, no local binary to start one, and no usable Docker engine." \
        "Install $what, or Docker with the compose plugin;" \
        "or point VIGIL_TEST_MYSQL_DSN / VIGIL_TEST_REDIS_ADDR at running servers."
    fi
  fi

  if [[ -z "${VIGIL_TEST_REDIS_SERVER_BIN:-}" ]]; then
    VIGIL_TEST_REDIS_SERVER_BIN="$(find_bin redis-server || true)"
  fi
  export VIGIL_TEST_MYSQL_DSN VIGIL_TEST_REDIS_ADDR VIGIL_TEST_REDIS_SERVER_BIN
  ensure_faketime

  if [[ "$mode" != run ]]; then
    find_bin redis-server >/dev/null || die 2 "a Redis Cluster or Sentinel set needs a local redis-server (apt-get install redis-server)"
    REDIS_CLI_BIN="$(find_bin redis-cli)" || die 2 "a Redis Cluster or Sentinel set needs a local redis-cli (apt-get install redis-tools)"
    if [[ "$mode" == cluster || "$mode" == ha ]]; then
      start_redis_cluster || die 2 "could not start a local Redis Cluster (see above)"
      export VIGIL_TEST_REDIS_CLUSTER_NODES
    fi
    if [[ "$mode" == sentinel || "$mode" == ha ]]; then
      start_redis_sentinel || die 2 "could not start a local Redis Sentinel set (see above)"
      export VIGIL_TEST_REDIS_SENTINELS VIGIL_TEST_REDIS_SENTINEL_MASTER
    fi
  fi

  log "VIGIL_TEST_MYSQL_DSN=$(redact_dsn "$VIGIL_TEST_MYSQL_DSN")"
  log "VIGIL_TEST_REDIS_ADDR=$VIGIL_TEST_REDIS_ADDR"
  log "VIGIL_TEST_REDIS_SERVER_BIN=${VIGIL_TEST_REDIS_SERVER_BIN:-<none>}"
  log "running: $*"

  # The command runs in the background so that a TERM sent to this script is handled at once
  # (passed on) instead of after the command ends. Stdin is handed over explicitly because a
  # background command would otherwise read from /dev/null.
  # The subshell restores the default SIGINT/SIGQUIT that bash ignores in background commands,
  # so that Ctrl-C still stops the command.
  if { true <&0; } 2>/dev/null; then
    (trap - INT QUIT && exec "$@") <&0 &
  else
    (trap - INT QUIT && exec "$@") </dev/null & # stdin was closed by the caller
  fi
  CHILD_PID=$!
  local status=0
  while kill -0 "$CHILD_PID" 2>/dev/null; do
    wait "$CHILD_PID" 2>/dev/null || true
  done
  # bash remembers the status of a reaped background child.
  wait "$CHILD_PID" 2>/dev/null || status=$?
  CHILD_PID=""
  log "command exited with status $status"
  exit "$status"
}

main "$@"
