#!/usr/bin/env bash
# Local backing services for Hexashop: MariaDB (127.0.0.1:3306), Redis (127.0.0.1:6379)
# and Kafka (127.0.0.1:9092, via scripts/kafka.sh).
#
# Usage: scripts/services.sh up [--encrypted] [--replica]|down|status|up-encrypted|down-encrypted|up-replica|down-replica
#                            |up-chaos|kill-chaos mariadb|redis|kafka|down-chaos
#
#   up     starts whatever does not already answer on its port; leaves running ones alone. Then creates
#          what the split roles need with their default settings: the schemas and users (`hexashop db
#          setup`, as HEXASHOP_MYSQL_ADMIN_URL, default mysql://root@127.0.0.1:3306) and the Kafka topics
#          (`hexashop kafka topics`). Both are idempotent, so `hexashop start --role product` (or order,
#          gateway) works with no further flags afterwards.
#   down   stops only what this script started (pid files / markers in .cache/services/).
#   status shows each service and whether this script manages it.
#   up --encrypted / up-encrypted / down-encrypted: also (or only) a second MariaDB on 127.0.0.1:3307 with
#          encryption at rest and TLS required (see "MariaDB, encrypted" below and docs/security.md).
#   up --replica / up-replica / down-replica: also (or only) a MariaDB replication pair, primary on
#          127.0.0.1:3308 and a GTID replica of it on 127.0.0.1:3309, with the schemas and users of
#          `hexashop db setup` (see "MariaDB, replication pair" below and docs/architecture.md).
#   up-chaos / kill-chaos mariadb|redis|kafka / down-chaos: a MariaDB (127.0.0.1:3310), a Redis (6380) and a
#          Kafka broker (9094, controller 9095) of their own for the chaos suite, which crashes them (kill-chaos:
#          SIGKILL) and restarts what is down with up-chaos again (see "chaos instances" below). Nothing is
#          provisioned on them. `down` stops them too; `status` shows them once they were started.
#
# Everything binds to loopback only. Services found already running (e.g. a system MariaDB)
# are used as they are and never stopped by `down`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.cache/services"
HOST=127.0.0.1
MARIADB_PORT=3306
REDIS_PORT=6379
KAFKA_PORT=9092
KAFKA_SH="$ROOT/scripts/kafka.sh"

die() { echo "services: ERROR: $*" >&2; exit 1; }

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# Retry "$@" every WAIT_STEP seconds (default 0.5) for up to $1 seconds.
wait_for() {
  local secs="$1"; shift
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep "${WAIT_STEP:-0.5}"
  done
}

# Prints the pid recorded in pid file $1 if that process is alive and its command line
# matches $2 (guards against a stale file whose pid was reused).
live_pid() {
  local file="$1" pattern="$2" pid
  [[ -f "$file" ]] || return 1
  pid="$(<"$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && [[ -r "/proc/$pid/cmdline" ]] || return 1
  # The process may vanish between the test and the read (e.g. right after a kill): that is "not alive".
  { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q -- "$pattern" || return 1
  echo "$pid"
}

# Stop pid $2 (named $1): SIGTERM, wait up to $3 seconds, then SIGKILL.
stop_pid() {
  local name="$1" pid="$2" secs="$3" i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < secs * 2; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  echo "$name: did not stop within ${secs}s; killing"
  kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- MariaDB
MARIADB_PIDFILE="$STATE/mariadb.pid"
# "Answers" means the server replied over TCP, even if it refused our login: a fresh datadir
# may not let root in from 127.0.0.1 (error 1130), and ping exits non-zero for that one.
mariadb_alive() {
  local bin out
  bin="$(command -v mariadb-admin || command -v mysqladmin)" || return 127
  out="$("$bin" --protocol=tcp -h "$HOST" -P "$MARIADB_PORT" -u root --connect-timeout=2 ping 2>&1)" && return 0
  [[ "$out" =~ (1045|1130|Access\ denied|not\ allowed\ to\ connect) ]]
}

mariadb_up() {
  if mariadb_alive >/dev/null 2>&1; then
    echo "mariadb: already running"
    return 0
  fi
  # A server that is alive but not answering yet (still starting, or recovering): wait for it
  # rather than start a second one on the same datadir. mariadbd writes /run/mysqld/mysqld.pid
  # itself (pid-file in Debian's my.cnf); our own pid file covers the instant before that.
  if live_pid "$MARIADB_PIDFILE" mariadbd >/dev/null || live_pid /run/mysqld/mysqld.pid mariadbd >/dev/null; then
    echo "mariadb: mariadbd is starting; waiting for it to answer"
  else
    [[ -x /usr/sbin/mariadbd ]] || die "/usr/sbin/mariadbd not found (apt-get install mariadb-server)"
    # Debian's init normally creates the socket dir; we start mariadbd without it.
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    # --background + --make-pidfile: mariadbd does not daemonize itself, so this pid is the server.
    # The user (mysql) and datadir come from /etc/mysql/my.cnf; pin address/port to loopback.
    # 9>&-: daemons must not inherit the lock fd, or they would hold the lock forever.
    start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$MARIADB_PIDFILE" \
      --exec /usr/sbin/mariadbd -- --bind-address="$HOST" --port="$MARIADB_PORT" 9>&-
  fi
  wait_for 60 mariadb_alive || die "mariadb did not answer on $HOST:$MARIADB_PORT within 60s"
  local pid
  if pid="$(live_pid "$MARIADB_PIDFILE" mariadbd)"; then
    echo "mariadb: started (pid $pid)"
  else
    rm -f "$MARIADB_PIDFILE"
    echo "mariadb: running (started elsewhere)"
  fi
}

mariadb_down() {
  local pid
  if pid="$(live_pid "$MARIADB_PIDFILE" mariadbd)"; then
    stop_pid mariadb "$pid" 60   # SIGTERM = clean InnoDB shutdown
    echo "mariadb: stopped (pid $pid)"
  elif mariadb_alive >/dev/null 2>&1; then
    echo "mariadb: not started by this script; left running"
  else
    echo "mariadb: not running"
  fi
  rm -f "$MARIADB_PIDFILE"
}

# ---------------------------------------------------------------- Redis
REDIS_PIDFILE="$STATE/redis.pid"
redis_alive() { [[ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

redis_up() {
  if redis_alive; then
    echo "redis: already running"
    return 0
  fi
  command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
  mkdir -p "$STATE/redis"
  # No persistence: dev/test data is disposable. Redis writes its own pid file when daemonized.
  redis-server --daemonize yes --bind "$HOST" --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$STATE/redis" --pidfile "$REDIS_PIDFILE" --logfile "$STATE/redis/redis.log" 9>&-
  wait_for 15 redis_alive || die "redis did not answer PONG on $HOST:$REDIS_PORT within 15s"
  local pid
  wait_for 5 live_pid "$REDIS_PIDFILE" redis-server || true
  pid="$(live_pid "$REDIS_PIDFILE" redis-server)" || die "redis answers but wrote no pid file ($REDIS_PIDFILE)"
  echo "redis: started (pid $pid)"
}

redis_down() {
  local pid
  if pid="$(live_pid "$REDIS_PIDFILE" redis-server)"; then
    stop_pid redis "$pid" 15
    echo "redis: stopped (pid $pid)"
  elif redis_alive; then
    echo "redis: not started by this script; left running"
  else
    echo "redis: not running"
  fi
  rm -f "$REDIS_PIDFILE"
}

# ---------------------------------------------------------------- Kafka
# kafka.sh owns the broker's pid file; this marker records that `up` is the one who started it.
KAFKA_MARKER="$STATE/kafka.started"

# The shared broker: kafka.sh's defaults, pinned so that a KAFKA_PORT etc. in the caller's environment (meant for
# another broker, see kafka.sh) never moves it.
shared_kafka() {
  KAFKA_STATE_DIR="$ROOT/.cache/kafka" KAFKA_PORT="$KAFKA_PORT" KAFKA_CONTROLLER_PORT=9093 KAFKA_EXTRA_CONFIG="" \
    KAFKA_JVM_OPTS="" bash "$KAFKA_SH" "$@"
}

kafka_up() {
  if port_open "$KAFKA_PORT"; then
    echo "kafka: already running"
    return 0
  fi
  # kafka.sh fetches the jars on first use and returns only once metadata requests work.
  shared_kafka start 9>&-    # prints "kafka: started (pid N) ..."
  touch "$KAFKA_MARKER"
}

kafka_down() {
  if [[ -f "$KAFKA_MARKER" ]]; then
    shared_kafka stop
    rm -f "$KAFKA_MARKER"
  elif port_open "$KAFKA_PORT"; then
    echo "kafka: not started by this script; left running"
  else
    echo "kafka: not running"
  fi
}

# ---------------------------------------------------------------- schemas, users and topics
ADMIN_URL="${HEXASHOP_MYSQL_ADMIN_URL:-mysql://root@127.0.0.1:3306}"

# The Node the project pins (24): `bash scripts/services.sh` outside npm has no node_modules/.bin on PATH,
# and the system node may be too old to run the TypeScript sources.
hexashop_node() {
  [[ -d "$ROOT/node_modules" ]] || die "$ROOT/node_modules is missing: run npm ci first"
  local node="$ROOT/node_modules/.bin/node"
  [[ -x "$node" ]] || node="$(command -v node)" || die "node not found: run npm ci first"
  "$node" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 24 ? 0 : 1)' ||
    die "$node is older than Node 24: run npm ci first (it installs the pinned Node)"
  echo "$node"
}

# Runs both set-ups at once (each is a Node start-up plus a few round trips), then prints their output in
# order. --disable-warning: kafkajs 2.2.4 schedules a negative timeout that Node 24 warns about (harmless).
provision_up() {
  local node="$1" out="$STATE/provision" db_pid topics_pid db_rc=0 topics_rc=0
  mkdir -p "$out"
  "$node" "$ROOT/bin/hexashop.js" db setup --admin-url "$ADMIN_URL" --log-level warn >"$out/db.log" 2>&1 &
  db_pid=$!
  "$node" --disable-warning=TimeoutNegativeWarning "$ROOT/bin/hexashop.js" kafka topics --log-level warn \
    >"$out/topics.log" 2>&1 &
  topics_pid=$!
  wait "$db_pid" || db_rc=$?
  wait "$topics_pid" || topics_rc=$?
  sed 's/^/schemas: /' "$out/db.log"
  sed 's/^/topics: /' "$out/topics.log"
  ((db_rc == 0)) ||
    die "could not create the schemas and users; set HEXASHOP_MYSQL_ADMIN_URL to the URL of a MySQL user who may"
  ((topics_rc == 0)) || die "could not create or verify the Kafka topics"
}

# ---------------------------------------------------------------- MariaDB, encrypted (opt-in)
# A SECOND MariaDB on 127.0.0.1:3307 with data-at-rest encryption and TLS, for trying and testing both
# (`up --encrypted`, or `up-encrypted` alone). The shared server on 3306 is never touched. Everything it
# owns lives in .cache/services/mariadb-encrypted/ (git-ignored): data/, keys/ (the file_key_management
# key file, 0600), tls/ (a self-signed CA and a server certificate for 127.0.0.1/localhost) and its log.
# The keys sit on the same disk as the data: this shows the mechanics, it protects nothing in itself
# (docs/security.md says what production uses instead).
#   innodb_encrypt_tables=FORCE  no table can be created unencrypted; innodb_encrypt_log: redo log;
#   encrypt_binlog (log_bin on); encrypt_tmp_files; aria_encrypt_tables; innodb_encrypt_temporary_tables;
#   require_secure_transport: TCP clients must use TLS (the unix socket in the state dir stays usable).
# Root has an empty password from 127.0.0.1 like the shared dev server; it is reachable over TLS only.
ENC_PORT="${HEXASHOP_ENCRYPTED_MARIADB_PORT:-3307}"
ENC_DIR="$STATE/mariadb-encrypted"
ENC_PIDFILE="$ENC_DIR/start.pid"   # start-stop-daemon's (root-owned); mariadbd writes mariadbd.pid itself
ENC_SOCKET="$ENC_DIR/mariadbd.sock"

# True once the server answers, and also once it has died (so a failed start is reported at once).
enc_alive_or_dead() { enc_alive || ! live_pid "$ENC_PIDFILE" mariadbd >/dev/null; }

# An extra instance answers over its socket (TCP may need TLS); a server that answers at all is alive.
socket_alive() {
  local sock="$1" bin out
  bin="$(command -v mariadb-admin || command -v mysqladmin)" || return 127
  [[ -S "$sock" ]] || return 1
  out="$("$bin" --no-defaults -S "$sock" -u root --connect-timeout=2 ping 2>&1)" && return 0
  [[ "$out" =~ (1045|Access\ denied) ]]
}

enc_alive() { socket_alive "$ENC_SOCKET"; }

# The CA and server certificate (10 years; SANs 127.0.0.1, ::1 and localhost so clients can verify the host).
enc_tls() {
  local tls="$ENC_DIR/tls"
  [[ -s "$tls/ca.pem" && -s "$tls/server-cert.pem" && -s "$tls/server-key.pem" ]] && return 0
  command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
  mkdir -p "$tls"
  (
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Hexashop dev MariaDB CA" \
      -keyout "$tls/ca-key.pem" -out "$tls/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
      -keyout "$tls/server-key.pem" -out "$tls/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
      >"$tls/server.ext"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" -CAcreateserial \
      -days 3650 -extfile "$tls/server.ext" -out "$tls/server-cert.pem" 2>/dev/null
  ) || die "could not create the TLS certificates in $tls"
  chmod 0644 "$tls/ca.pem" "$tls/server-cert.pem"
  rm -f "$tls/server.csr" "$tls/server.ext"
}

# file_key_management's key file: "id;hex" lines, AES-256 keys. Key 1 encrypts everything by default.
enc_keys() {
  local keys="$ENC_DIR/keys"
  [[ -s "$keys/keyfile" ]] && return 0
  command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
  mkdir -p "$keys" && chmod 0700 "$keys"
  (umask 077 && printf '1;%s\n2;%s\n' "$(openssl rand -hex 32)" "$(openssl rand -hex 32)" >"$keys/keyfile")
  chmod 0600 "$keys/keyfile"
}

# The user the extra MariaDB instances (encrypted, replication pair) run as when we are root: mysql when it can
# reach the state dir (the usual case), else root — a checkout under a private directory (e.g. `mktemp -d`,
# mode 0700) cannot be traversed by mysql, and install-db would fail on "Permission denied".
extra_mariadb_user() {
  ((EUID == 0)) || return 0
  if runuser -u mysql -- test -x "$STATE" 2>/dev/null; then echo mysql; else echo root; fi
}

# Gives the extra instance's files to mysql when it runs as mysql.
own_for_mariadb() {
  if [[ "$(extra_mariadb_user)" == mysql ]]; then chown -R mysql:mysql "$@"; fi
}

enc_server_args() {
  local user_args=() user
  user="$(extra_mariadb_user)"
  if [[ -n "$user" ]]; then user_args=(--user="$user"); fi
  printf '%s\n' --no-defaults "${user_args[@]}" --datadir="$ENC_DIR/data" --socket="$ENC_SOCKET" \
    --pid-file="$ENC_DIR/mariadbd.pid" --log-error="$ENC_DIR/mariadbd.err" --bind-address="$HOST" --port="$ENC_PORT" \
    --plugin-load-add=file_key_management --file-key-management-filename="$ENC_DIR/keys/keyfile" \
    --file-key-management-encryption-algorithm=aes_ctr \
    --innodb-encrypt-tables=FORCE --innodb-encrypt-log=ON --innodb-encryption-threads=4 \
    --innodb-encrypt-temporary-tables=ON --encrypt-tmp-files=ON --encrypt-tmp-disk-tables=ON \
    --aria-encrypt-tables=ON --log-bin=binlog --server-id=1 --encrypt-binlog=ON \
    --ssl-ca="$ENC_DIR/tls/ca.pem" --ssl-cert="$ENC_DIR/tls/server-cert.pem" \
    --ssl-key="$ENC_DIR/tls/server-key.pem" --require-secure-transport=ON --tls-version=TLSv1.2,TLSv1.3 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_bin
}

mariadb_encrypted_up() {
  if enc_alive >/dev/null 2>&1; then
    echo "mariadb-encrypted: already running on $HOST:$ENC_PORT (state in $ENC_DIR)"
    return 0
  fi
  [[ -x /usr/sbin/mariadbd ]] || die "/usr/sbin/mariadbd not found (apt-get install mariadb-server)"
  [[ -f /usr/lib/mysql/plugin/file_key_management.so ]] ||
    die "the file_key_management plugin is missing (it ships with mariadb-server)"
  port_open "$ENC_PORT" && die "$HOST:$ENC_PORT is taken by something else; set HEXASHOP_ENCRYPTED_MARIADB_PORT"
  local started=$SECONDS args=()
  mkdir -p "$ENC_DIR"
  enc_tls
  enc_keys
  mapfile -t args < <(enc_server_args)
  if [[ ! -d "$ENC_DIR/data/mysql" ]]; then
    # The bootstrap runs with the same encryption settings, so even the system tablespace starts encrypted.
    rm -rf "$ENC_DIR/data"
    mkdir -p "$ENC_DIR/data"
    own_for_mariadb "$ENC_DIR"
    mariadb-install-db "${args[@]:0:2}" --datadir="$ENC_DIR/data" --auth-root-authentication-method=normal \
      --skip-test-db --skip-name-resolve \
      "${args[@]:2}" >"$ENC_DIR/install.log" 2>&1 ||
      die "mariadb-install-db failed; see $ENC_DIR/install.log"
  fi
  own_for_mariadb "$ENC_DIR/data" "$ENC_DIR/keys" "$ENC_DIR/tls"
  # The pid file scopes the "already running?" check to this instance, not the shared mariadbd.
  start-stop-daemon --start --background --make-pidfile --pidfile "$ENC_PIDFILE" \
    --exec /usr/sbin/mariadbd -- "${args[@]}" 9>&-
  if ! wait_for 60 enc_alive_or_dead; then
    tail -n 20 "$ENC_DIR/mariadbd.err" >&2 || true
    die "the encrypted mariadb did not answer within 60s; see $ENC_DIR/mariadbd.err"
  fi
  if ! enc_alive >/dev/null 2>&1; then
    tail -n 20 "$ENC_DIR/mariadbd.err" >&2 || true
    die "the encrypted mariadb exited during start-up; see $ENC_DIR/mariadbd.err"
  fi
  echo "mariadb-encrypted: started (pid $(<"$ENC_PIDFILE")) on $HOST:$ENC_PORT in $((SECONDS - started))s;" \
    "TLS required, CA $ENC_DIR/tls/ca.pem"
}

mariadb_encrypted_down() {
  local pid
  if pid="$(live_pid "$ENC_PIDFILE" mariadbd)"; then
    stop_pid mariadb-encrypted "$pid" 60
    echo "mariadb-encrypted: stopped (pid $pid)"
  else
    echo "mariadb-encrypted: not running"
  fi
}

# ---------------------------------------------------------------- MariaDB, replication pair (opt-in)
# A primary on 127.0.0.1:3308 and a read replica of it on 127.0.0.1:3309 (`up --replica`, or `up-replica`
# alone), for trying and testing the product module's read replicas (--product-db-replica-urls). The shared
# server on 3306 has no binary log and is never restarted, so the pair is two servers of its own. Everything
# they own lives in .cache/services/mariadb-replication/{primary,replica}/ (git-ignored): data/, the socket,
# the pid files and the error log. Both start with --no-defaults (no /etc/mysql settings leak in).
#   primary  server_id=1, log_bin, binlog_format=ROW, log_slave_updates, gtid_strict_mode
#   replica  server_id=2, read_only (only SUPER, i.e. replication and root, writes), gtid_strict_mode;
#            CHANGE MASTER TO … master_use_gtid=slave_pos, as user `repl` (REPLICATION SLAVE only)
# Accounts are created on the primary only, before the replica first connects, so they reach the replica
# through the binary log like everything else: the replica never writes a transaction of its own.
# Root has an empty password from 127.0.0.1 like the shared dev server. Idempotent: a running server is
# left as it is, and the replica is (re)started with START SLAVE, so a test that paused it leaves nothing
# behind after another `up-replica`.
REPL_PRIMARY_PORT="${HEXASHOP_REPLICATION_PRIMARY_PORT:-3308}"
REPL_REPLICA_PORT="${HEXASHOP_REPLICATION_REPLICA_PORT:-3309}"
REPL_DIR="$STATE/mariadb-replication"
REPL_USER=repl
REPL_PASSWORD="${HEXASHOP_REPLICATION_PASSWORD:-repl-dev-only}"

repl_dir() { echo "$REPL_DIR/$1"; }                 # primary | replica
repl_port() { [[ "$1" == primary ]] && echo "$REPL_PRIMARY_PORT" || echo "$REPL_REPLICA_PORT"; }

# Runs SQL ($2…) as root over instance $1's socket.
repl_sql() {
  local which="$1"; shift
  local bin
  bin="$(command -v mariadb || command -v mysql)" || die "the mariadb client is missing (apt-get install mariadb-client)"
  "$bin" --no-defaults -S "$(repl_dir "$which")/mariadbd.sock" -u root --connect-timeout=5 -N -B -e "$*"
}

repl_alive() { socket_alive "$(repl_dir "$1")/mariadbd.sock"; }
repl_alive_or_dead() { repl_alive "$1" || ! live_pid "$(repl_dir "$1")/start.pid" mariadbd >/dev/null; }

repl_server_args() {
  local which="$1" dir port user_args=() role_args=() user
  dir="$(repl_dir "$which")"
  port="$(repl_port "$which")"
  user="$(extra_mariadb_user)"
  if [[ -n "$user" ]]; then user_args=(--user="$user"); fi
  if [[ "$which" == primary ]]; then
    role_args=(--server-id=1 --log-bin=binlog --binlog-format=ROW --log-slave-updates=ON)
  else
    role_args=(--server-id=2 --read-only=ON --relay-log=relay)
  fi
  printf '%s\n' --no-defaults "${user_args[@]}" --datadir="$dir/data" --socket="$dir/mariadbd.sock" \
    --pid-file="$dir/mariadbd.pid" --log-error="$dir/mariadbd.err" --bind-address="$HOST" --port="$port" \
    --gtid-strict-mode=ON --skip-name-resolve "${role_args[@]}" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_bin
}

repl_server_up() {
  local which="$1" dir port args=() started=$SECONDS
  dir="$(repl_dir "$which")"
  port="$(repl_port "$which")"
  if repl_alive "$which" >/dev/null 2>&1; then
    echo "mariadb-$which: already running on $HOST:$port (state in $dir)"
    return 0
  fi
  [[ -x /usr/sbin/mariadbd ]] || die "/usr/sbin/mariadbd not found (apt-get install mariadb-server)"
  local env_name=HEXASHOP_REPLICATION_PRIMARY_PORT
  [[ "$which" == replica ]] && env_name=HEXASHOP_REPLICATION_REPLICA_PORT
  port_open "$port" && die "$HOST:$port is taken by something else; set $env_name"
  mkdir -p "$dir"
  mapfile -t args < <(repl_server_args "$which")
  if [[ ! -d "$dir/data/mysql" ]]; then
    rm -rf "$dir/data"
    mkdir -p "$dir/data"
    own_for_mariadb "$dir"
    mariadb-install-db "${args[@]:0:2}" --datadir="$dir/data" --auth-root-authentication-method=normal \
      --skip-test-db --skip-name-resolve >"$dir/install.log" 2>&1 ||
      die "mariadb-install-db failed for the $which; see $dir/install.log"
  fi
  own_for_mariadb "$dir"
  start-stop-daemon --start --background --make-pidfile --pidfile "$dir/start.pid" \
    --exec /usr/sbin/mariadbd -- "${args[@]}" 9>&-
  if ! wait_for 60 repl_alive_or_dead "$which" || ! repl_alive "$which" >/dev/null 2>&1; then
    tail -n 20 "$dir/mariadbd.err" >&2 || true
    die "the $which of the replication pair did not start on $HOST:$port; see $dir/mariadbd.err"
  fi
  echo "mariadb-$which: started (pid $(<"$dir/start.pid")) on $HOST:$port in $((SECONDS - started))s"
}

mariadb_replication_up() {
  local node="$1"
  repl_server_up primary
  # Root over TCP from 127.0.0.1 (like the shared server) and the replication account; both replicate.
  repl_sql primary "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';" \
    "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" \
    "CREATE USER IF NOT EXISTS '$REPL_USER'@'%' IDENTIFIED BY '$REPL_PASSWORD';" \
    "ALTER USER '$REPL_USER'@'%' IDENTIFIED BY '$REPL_PASSWORD';" \
    "GRANT REPLICATION SLAVE ON *.* TO '$REPL_USER'@'%';" ||
    die "could not create the replication account on the primary"
  repl_server_up replica
  if [[ -z "$(repl_sql replica "SHOW SLAVE STATUS")" ]]; then
    repl_sql replica "CHANGE MASTER TO master_host='$HOST', master_port=$REPL_PRIMARY_PORT," \
      "master_user='$REPL_USER', master_password='$REPL_PASSWORD', master_use_gtid=slave_pos," \
      "master_connect_retry=1" || die "CHANGE MASTER TO failed on the replica"
  fi
  repl_sql replica "START SLAVE" || die "START SLAVE failed on the replica; see $(repl_dir replica)/mariadbd.err"
  # The schemas and users of the split roles, on the primary (the replica gets them through replication).
  local out="$STATE/provision"
  mkdir -p "$out"
  "$node" "$ROOT/bin/hexashop.js" db setup --admin-url "mysql://root@$HOST:$REPL_PRIMARY_PORT" --log-level warn \
    >"$out/replication-db.log" 2>&1 || { cat "$out/replication-db.log" >&2; die "db setup on the primary failed"; }
  sed 's/^/replication schemas: /' "$out/replication-db.log"
  local gtid
  gtid="$(repl_sql primary "SELECT @@gtid_binlog_pos")"
  if [[ -n "$gtid" ]] && [[ "$(repl_sql replica "SELECT MASTER_GTID_WAIT('$gtid', 30)")" != 0 ]]; then
    repl_sql replica "SHOW SLAVE STATUS\G" | grep -E 'Running|Last_.*Error' >&2 || true
    die "the replica did not reach the primary's position $gtid within 30s"
  fi
  echo "mariadb-replication: primary $HOST:$REPL_PRIMARY_PORT, replica $HOST:$REPL_REPLICA_PORT (GTID $gtid);" \
    "--product-db-replica-urls mysql://hexashop_product:…@$HOST:$REPL_REPLICA_PORT/product_db"
}

mariadb_replication_down() {
  local which pid
  for which in replica primary; do
    if pid="$(live_pid "$(repl_dir "$which")/start.pid" mariadbd)"; then
      stop_pid "mariadb-$which" "$pid" 60
      echo "mariadb-$which: stopped (pid $pid)"
    else
      echo "mariadb-$which: not running"
    fi
  done
}

# ---------------------------------------------------------------- chaos instances (opt-in)
# A MariaDB (127.0.0.1:3310), a Redis (127.0.0.1:6380) and a Kafka broker (127.0.0.1:9094, controller 9095) of
# their own, for the chaos suite (chaos/, `npm run chaos`), which CRASHES them (`kill-chaos mariadb|redis|kafka`:
# SIGKILL, no clean shutdown) and brings them back with `up-chaos` again, which starts only what is down, on
# the same data. The shared 3306/6379/9092 are never touched. Nothing is provisioned here: the suite creates
# its schemas, users and topics itself, as root (mysql://root@127.0.0.1:3310/mysql).
#   mariadb  .cache/services/chaos/mariadb/ (data/, socket, pid files, error log), --no-defaults, no binlog,
#            root with an empty password from 127.0.0.1 (like the replication pair), utf8mb4/utf8mb4_bin, and a
#            small InnoDB (64 MB buffer pool, 16 MB redo log: quick to create and to recover after a crash).
#   redis    .cache/services/chaos/redis/, no persistence: after a crash it comes back empty.
#   kafka    scripts/kafka.sh with KAFKA_STATE_DIR=.cache/kafka-chaos (data, config, log, pid; a cluster id of
#            its own) and the jars of .cache/kafka/libs. broker.session.timeout.ms=2000 (heartbeats every
#            500 ms) instead of 9000: after a SIGKILL the restarted broker cannot register until the dead
#            incarnation's session expires, which is most of a restart's time with the default.
#            group.min.session.timeout.ms stays at its default 6000 (the suite's paused-consumer fault counts
#            on that 6 s session). JVM with -XX:TieredStopAtLevel=1 (C1 only): half the CPU to start (~5 s
#            instead of ~11 s on 2 cores), which is what a restart waits for on a busy box; its lower peak
#            throughput does not matter for a chaos run.
CHAOS_DIR="$STATE/chaos"
CHAOS_MARIADB_PORT="${HEXASHOP_CHAOS_MARIADB_PORT:-3310}"
CHAOS_REDIS_PORT="${HEXASHOP_CHAOS_REDIS_PORT:-6380}"
CHAOS_KAFKA_PORT="${HEXASHOP_CHAOS_KAFKA_PORT:-9094}"
CHAOS_KAFKA_CONTROLLER_PORT="${HEXASHOP_CHAOS_KAFKA_CONTROLLER_PORT:-9095}"
CHAOS_MDB_DIR="$CHAOS_DIR/mariadb"
CHAOS_MDB_PIDFILE="$CHAOS_MDB_DIR/start.pid"   # start-stop-daemon's; mariadbd writes mariadbd.pid itself
CHAOS_MDB_SOCKET="$CHAOS_MDB_DIR/mariadbd.sock"
CHAOS_MDB_PATTERN="mariadbd .*--datadir=$CHAOS_MDB_DIR/data "   # for live_pid: this instance only
CHAOS_REDIS_DIR="$CHAOS_DIR/redis"
CHAOS_REDIS_PIDFILE="$CHAOS_REDIS_DIR/redis.pid"
CHAOS_REDIS_PATTERN="^redis-server $HOST:$CHAOS_REDIS_PORT "     # redis sets its title to "redis-server host:port"
CHAOS_KAFKA_DIR="$ROOT/.cache/kafka-chaos"
CHAOS_KAFKA_PIDFILE="$CHAOS_KAFKA_DIR/kafka.pid"                 # kafka.sh's
CHAOS_KAFKA_PATTERN="kafka\.Kafka $CHAOS_KAFKA_DIR/server.properties "

# Retry "$@" every 0.1 s for up to $1 seconds (restart times matter here).
wait_briefly() { WAIT_STEP=0.1 wait_for "$@"; }

chaos_kafka() {
  KAFKA_STATE_DIR="$CHAOS_KAFKA_DIR" KAFKA_PORT="$CHAOS_KAFKA_PORT" KAFKA_CONTROLLER_PORT="$CHAOS_KAFKA_CONTROLLER_PORT" \
    KAFKA_EXTRA_CONFIG=$'broker.session.timeout.ms=2000\nbroker.heartbeat.interval.ms=500' \
    KAFKA_JVM_OPTS=-XX:TieredStopAtLevel=1 bash "$KAFKA_SH" "$@"
}

chaos_mariadb_alive() { socket_alive "$CHAOS_MDB_SOCKET"; }
chaos_mariadb_alive_or_dead() { chaos_mariadb_alive || ! live_pid "$CHAOS_MDB_PIDFILE" "$CHAOS_MDB_PATTERN" >/dev/null; }
chaos_redis_alive() { [[ "$(redis-cli -h "$HOST" -p "$CHAOS_REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }
chaos_kafka_alive() { port_open "$CHAOS_KAFKA_PORT" && live_pid "$CHAOS_KAFKA_PIDFILE" "$CHAOS_KAFKA_PATTERN" >/dev/null; }

chaos_mariadb_args() {
  local user_args=() user
  user="$(extra_mariadb_user)"
  if [[ -n "$user" ]]; then user_args=(--user="$user"); fi
  printf '%s\n' --no-defaults "${user_args[@]}" --datadir="$CHAOS_MDB_DIR/data" --socket="$CHAOS_MDB_SOCKET" \
    --pid-file="$CHAOS_MDB_DIR/mariadbd.pid" --log-error="$CHAOS_MDB_DIR/mariadbd.err" --bind-address="$HOST" \
    --port="$CHAOS_MARIADB_PORT" --skip-name-resolve --skip-log-bin \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
    --innodb-buffer-pool-dump-at-shutdown=OFF --innodb-buffer-pool-load-at-startup=OFF \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_bin
}

chaos_mariadb_up() {
  local args=() started=$SECONDS bin
  if chaos_mariadb_alive >/dev/null 2>&1; then
    echo "chaos-mariadb: already running on $HOST:$CHAOS_MARIADB_PORT"
    return 0
  fi
  [[ -x /usr/sbin/mariadbd ]] || die "/usr/sbin/mariadbd not found (apt-get install mariadb-server)"
  # Still alive but not answering (e.g. hung): never start a second server on the same datadir.
  live_pid "$CHAOS_MDB_PIDFILE" "$CHAOS_MDB_PATTERN" >/dev/null &&
    die "chaos-mariadb (pid $(<"$CHAOS_MDB_PIDFILE")) runs but does not answer; see $CHAOS_MDB_DIR/mariadbd.err"
  port_open "$CHAOS_MARIADB_PORT" &&
    die "$HOST:$CHAOS_MARIADB_PORT is taken by something else; set HEXASHOP_CHAOS_MARIADB_PORT"
  mkdir -p "$CHAOS_MDB_DIR"
  mapfile -t args < <(chaos_mariadb_args)
  if [[ ! -d "$CHAOS_MDB_DIR/data/mysql" ]]; then
    rm -rf "$CHAOS_MDB_DIR/data"
    mkdir -p "$CHAOS_MDB_DIR/data"
    own_for_mariadb "$CHAOS_MDB_DIR"
    mariadb-install-db "${args[@]:0:2}" --datadir="$CHAOS_MDB_DIR/data" --auth-root-authentication-method=normal \
      --skip-test-db --skip-name-resolve --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
      >"$CHAOS_MDB_DIR/install.log" 2>&1 ||
      die "mariadb-install-db failed for chaos-mariadb; see $CHAOS_MDB_DIR/install.log"
  fi
  own_for_mariadb "$CHAOS_MDB_DIR"
  start-stop-daemon --start --background --make-pidfile --pidfile "$CHAOS_MDB_PIDFILE" \
    --exec /usr/sbin/mariadbd -- "${args[@]}" 9>&-
  if ! wait_briefly 120 chaos_mariadb_alive_or_dead || ! chaos_mariadb_alive >/dev/null 2>&1; then
    tail -n 20 "$CHAOS_MDB_DIR/mariadbd.err" >&2 || true
    die "chaos-mariadb did not start on $HOST:$CHAOS_MARIADB_PORT; see $CHAOS_MDB_DIR/mariadbd.err"
  fi
  # Root over TCP from 127.0.0.1 (--skip-name-resolve: root@localhost does not match it). Idempotent.
  bin="$(command -v mariadb || command -v mysql)" || die "the mariadb client is missing (apt-get install mariadb-client)"
  "$bin" --no-defaults -S "$CHAOS_MDB_SOCKET" -u root --connect-timeout=5 -N -B -e \
    "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" ||
    die "could not let root in from $HOST on chaos-mariadb"
  echo "chaos-mariadb: started (pid $(<"$CHAOS_MDB_PIDFILE")) on $HOST:$CHAOS_MARIADB_PORT in $((SECONDS - started))s"
}

chaos_redis_up() {
  local started=$SECONDS pid
  if chaos_redis_alive; then
    echo "chaos-redis: already running on $HOST:$CHAOS_REDIS_PORT"
    return 0
  fi
  command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
  port_open "$CHAOS_REDIS_PORT" && die "$HOST:$CHAOS_REDIS_PORT is taken by something else; set HEXASHOP_CHAOS_REDIS_PORT"
  mkdir -p "$CHAOS_REDIS_DIR"
  redis-server --daemonize yes --bind "$HOST" --port "$CHAOS_REDIS_PORT" --save "" --appendonly no \
    --dir "$CHAOS_REDIS_DIR" --pidfile "$CHAOS_REDIS_PIDFILE" --logfile "$CHAOS_REDIS_DIR/redis.log" 9>&-
  wait_briefly 15 chaos_redis_alive || die "chaos-redis did not answer PONG on $HOST:$CHAOS_REDIS_PORT within 15s"
  wait_briefly 5 live_pid "$CHAOS_REDIS_PIDFILE" "$CHAOS_REDIS_PATTERN" || true
  pid="$(live_pid "$CHAOS_REDIS_PIDFILE" "$CHAOS_REDIS_PATTERN")" ||
    die "chaos-redis answers but wrote no pid file ($CHAOS_REDIS_PIDFILE)"
  echo "chaos-redis: started (pid $pid) on $HOST:$CHAOS_REDIS_PORT in $((SECONDS - started))s"
}

chaos_kafka_up() {
  local started=$SECONDS
  if chaos_kafka_alive; then
    echo "chaos-kafka: already running on $HOST:$CHAOS_KAFKA_PORT"
    return 0
  fi
  local port
  for port in "$CHAOS_KAFKA_PORT" "$CHAOS_KAFKA_CONTROLLER_PORT"; do
    port_open "$port" && die "$HOST:$port is taken by something else;" \
      "set HEXASHOP_CHAOS_KAFKA_PORT / HEXASHOP_CHAOS_KAFKA_CONTROLLER_PORT"
  done
  # kafka.sh returns once a metadata request works; its own lines ("kafka: ...") are not repeated here.
  chaos_kafka start >/dev/null 9>&- || die "chaos-kafka did not start; see $CHAOS_KAFKA_DIR/kafka.log"
  echo "chaos-kafka: started (pid $(<"$CHAOS_KAFKA_PIDFILE")) on $HOST:$CHAOS_KAFKA_PORT in $((SECONDS - started))s"
}

# Starts whatever of the three is down, all at once (cold, Kafka's JVM is the slowest by far); their lines come
# out in a fixed order afterwards: mariadb, redis, kafka. Fails if any of them did not start.
chaos_up() {
  local which pids=() rc=0 i=0 out="$CHAOS_DIR/up"
  mkdir -p "$out"
  for which in mariadb redis kafka; do
    "chaos_${which}_up" >"$out/$which.out" 2>"$out/$which.err" 9>&- &
    pids+=("$!")
  done
  for which in mariadb redis kafka; do
    wait "${pids[i++]}" || rc=1
    cat "$out/$which.out"
    cat "$out/$which.err" >&2
  done
  return "$rc"
}

# SIGKILL one chaos service (a crash) and wait until its process is gone and its port closed.
chaos_kill() {
  local which="${1:-}" pidfile pattern port pid i
  case "$which" in
    mariadb) pidfile="$CHAOS_MDB_PIDFILE" pattern="$CHAOS_MDB_PATTERN" port="$CHAOS_MARIADB_PORT" ;;
    redis) pidfile="$CHAOS_REDIS_PIDFILE" pattern="$CHAOS_REDIS_PATTERN" port="$CHAOS_REDIS_PORT" ;;
    kafka)
      # kafka.sh kill also waits for the controller port; same pid file and guard as here.
      chaos_kafka kill | sed 's/^kafka:/chaos-kafka:/'
      return "${PIPESTATUS[0]}" ;;
    *) die "kill-chaos mariadb|redis|kafka" ;;
  esac
  if ! pid="$(live_pid "$pidfile" "$pattern")"; then
    echo "chaos-$which: not running"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  # A zombie has an empty cmdline, so live_pid fails for it as for a reaped process.
  for ((i = 0; i < 300; i++)); do
    if ! live_pid "$pidfile" "$pattern" >/dev/null && ! port_open "$port"; then
      echo "chaos-$which: killed (pid $pid)"
      return 0
    fi
    sleep 0.1
  done
  die "chaos-$which (pid $pid) still there, or $HOST:$port still open, 30s after SIGKILL"
}

chaos_down() {
  local pid
  if pid="$(live_pid "$CHAOS_MDB_PIDFILE" "$CHAOS_MDB_PATTERN")"; then
    stop_pid chaos-mariadb "$pid" 60   # SIGTERM = clean InnoDB shutdown
    echo "chaos-mariadb: stopped (pid $pid)"
  else
    echo "chaos-mariadb: not running"
  fi
  if pid="$(live_pid "$CHAOS_REDIS_PIDFILE" "$CHAOS_REDIS_PATTERN")"; then
    stop_pid chaos-redis "$pid" 15
    echo "chaos-redis: stopped (pid $pid)"
  else
    echo "chaos-redis: not running"
  fi
  rm -f "$CHAOS_REDIS_PIDFILE"
  chaos_kafka stop | sed 's/^kafka:/chaos-kafka:/'
}

chaos_status() {
  status_line chaos-mariadb chaos_mariadb_alive "$CHAOS_MDB_PIDFILE" "$CHAOS_MDB_PATTERN"
  status_line chaos-redis chaos_redis_alive "$CHAOS_REDIS_PIDFILE" "$CHAOS_REDIS_PATTERN"
  status_line chaos-kafka "port_open $CHAOS_KAFKA_PORT" "$CHAOS_KAFKA_PIDFILE" "$CHAOS_KAFKA_PATTERN"
}

# ---------------------------------------------------------------- status
status_line() {
  local name="$1" alive="$2" pidfile="$3" pattern="$4" pid
  if pid="$(live_pid "$pidfile" "$pattern")"; then
    echo "$name: running (pid $pid, started by services.sh)"
  elif $alive >/dev/null 2>&1; then
    echo "$name: running (not started by services.sh)"
  else
    echo "$name: not running"
  fi
}

status() {
  status_line mariadb mariadb_alive "$MARIADB_PIDFILE" mariadbd
  status_line redis redis_alive "$REDIS_PIDFILE" redis-server
  if [[ -f "$KAFKA_MARKER" ]] && shared_kafka status >/dev/null; then
    echo "kafka: running (pid $(<"$ROOT/.cache/kafka/kafka.pid"), started by services.sh)"
  elif port_open "$KAFKA_PORT"; then
    echo "kafka: running (not started by services.sh)"
  else
    echo "kafka: not running"
  fi
}

# ---------------------------------------------------------------- main
mkdir -p "$STATE"
# Serialize concurrent invocations (e.g. two test runs calling `up` at once).
exec 9>"$STATE/.lock"
flock 9

case "${1:-}" in
  up)
    node="$(hexashop_node)"; mariadb_up; redis_up; kafka_up; provision_up "$node"
    for opt in "${@:2}"; do
      case "$opt" in
        --encrypted) mariadb_encrypted_up ;;
        --replica) mariadb_replication_up "$node" ;;
        *) die "unknown option $opt (up [--encrypted] [--replica])" ;;
      esac
    done ;;
  up-encrypted) mariadb_encrypted_up ;;
  up-replica) mariadb_replication_up "$(hexashop_node)" ;;
  down)
    kafka_down; redis_down; mariadb_down
    if live_pid "$ENC_PIDFILE" mariadbd >/dev/null; then mariadb_encrypted_down; fi
    if [[ -d "$REPL_DIR" ]]; then mariadb_replication_down; fi
    if [[ -d "$CHAOS_DIR" ]]; then chaos_down; fi ;;
  down-encrypted) mariadb_encrypted_down ;;
  down-replica) mariadb_replication_down ;;
  up-chaos) chaos_up ;;
  kill-chaos) chaos_kill "${2:-}" ;;
  down-chaos) chaos_down ;;
  status)
    status
    if [[ -d "$ENC_DIR" ]]; then status_line mariadb-encrypted enc_alive "$ENC_PIDFILE" mariadbd; fi
    if [[ -d "$REPL_DIR" ]]; then
      status_line mariadb-primary "repl_alive primary" "$(repl_dir primary)/start.pid" mariadbd
      status_line mariadb-replica "repl_alive replica" "$(repl_dir replica)/start.pid" mariadbd
    fi
    if [[ -d "$CHAOS_DIR" ]]; then chaos_status; fi ;;
  *) usage="up [--encrypted] [--replica]|down|status|up-encrypted|down-encrypted|up-replica|down-replica"
     usage+="|up-chaos|kill-chaos mariadb|redis|kafka|down-chaos"
     echo "usage: $0 $usage" >&2
     exit 2 ;;
esac
