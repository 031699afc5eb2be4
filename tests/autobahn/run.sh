#!/usr/bin/env bash
# Run Autobahn|Testsuite against wsmachine's example testees and check the result.
#
#   tests/autobahn/run.sh [server|client|all|stream]      (default: all)
#
# server: the suite (wstest -m fuzzingclient) connects to our echo server
#         (examples/echo_server, started as `echo_server 127.0.0.1:PORT`).
# client: the suite runs a fuzzing server (wstest -m fuzzingserver) and our
#         client testee (examples/autobahn_client, started as
#         `autobahn_client ws://127.0.0.1:PORT`) drives it.
# stream: server mode against `echo_server --stream` (streaming mode: every
#         message echoed chunk by chunk), reports in reports/stream. Not
#         part of "all"; CI runs it on cases 1-10 (AUTOBAHN_CASES).
# Then check.py reads reports/<mode>/index.json and fails unless every case is
# OK (7.1.6, 7.13.1, 7.13.2 are INFORMATIONAL by the suite's own definition).
#
# Environment (all optional):
#   AUTOBAHN_SERVER_CMD   server testee command; "127.0.0.1:PORT" replaces
#                         {addr} in it, or is appended as the last argument if
#                         there is no {addr}. Parsed by bash (quoting works),
#                         run from the repo root.
#                         Default: <target>/release/examples/echo_server
#   AUTOBAHN_STREAM_CMD   the same for stream mode. Default:
#                         <target>/release/examples/echo_server --stream
#   AUTOBAHN_CLIENT_CMD   client testee command; "ws://127.0.0.1:PORT" replaces
#                         {url}, or is appended. Default:
#                         <target>/release/examples/autobahn_client
#   AUTOBAHN_AGENT        agent name expected in the reports (default wsmachine;
#                         the client testee must send the same ?agent=)
#   AUTOBAHN_CASES        comma-separated case patterns overriding "cases" in
#                         the spec templates, e.g. "1.*,2.*" for a quick run
#   AUTOBAHN_TIMEOUT      seconds allowed for the suite run of one mode (default 900)
#   AUTOBAHN_BUILD_TIMEOUT seconds allowed for cargo build (default 1800)
#   AUTOBAHN_START_TIMEOUT seconds to wait for a listener to accept (default 30)
#   AUTOBAHN_SKIP_BUILD=1 do not run cargo build
#   AUTOBAHN_PYTHON3      host python3 for port picking and check.py (default python3)
# The examples are only built for modes that use the default commands.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PYTHONUNBUFFERED=1   # live wstest output in the logs
ROOT="$(cd "$HERE/../.." && pwd)"
REPORTS="$HERE/reports"
WSTEST="$HERE/.venv/bin/wstest"
VPY="$HERE/.venv/bin/python"
PY3="${AUTOBAHN_PYTHON3:-python3}"
AGENT="${AUTOBAHN_AGENT:-wsmachine}"
SUITE_TIMEOUT="${AUTOBAHN_TIMEOUT:-900}"
BUILD_TIMEOUT="${AUTOBAHN_BUILD_TIMEOUT:-1800}"
START_TIMEOUT="${AUTOBAHN_START_TIMEOUT:-30}"

log() { printf '[autobahn] %s\n' "$*" >&2; }
die() { printf '[autobahn] ERROR: %s\n' "$*" >&2; exit 1; }

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

MODE="${1:-all}"
case "$MODE" in
    server) MODES=(server) ;;
    client) MODES=(client) ;;
    all) MODES=(server client) ;;
    stream) MODES=(stream) ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
esac

# --- background processes: each in its own session, killed on exit ---------
BG_PIDS=()
start_bg() { # DIR LOGFILE CMD... ; sets BG_PID
    local dir="$1" logfile="$2"; shift 2
    # setsid: the process leads its own process group, so the whole tree
    # (timeout + testee + its children) can be signalled with kill -- -PID.
    # timeout: a hard upper bound even if this script is killed with SIGKILL.
    (cd "$dir" && exec setsid timeout -k 5 "$((SUITE_TIMEOUT + 60))" "$@") \
        >"$logfile" 2>&1 </dev/null &
    BG_PID=$!
    BG_PIDS+=("$BG_PID")
}
stop_bg() { # PID (leader of its own process group)
    local pid="$1" i
    # Signal the whole group, even if its leader is already gone.
    kill -0 -- "-$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do   # up to 5 s for a graceful exit
        kill -0 -- "-$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
# Run a bounded step to completion while echoing its output to LOGFILE.
# It runs as a background job + `wait` so that a TERM/INT to this script is
# handled at once (the EXIT trap then kills the step's process group).
run_step() { # DIR LOGFILE TIMEOUT CMD... ; sets STEP_RC
    local dir="$1" logfile="$2" limit="$3"; shift 3
    (cd "$dir" && exec setsid timeout -k 10 "$limit" "$@") </dev/null > >(tee "$logfile") 2>&1 &
    local pid=$!
    BG_PIDS+=("$pid")
    STEP_RC=0
    wait "$pid" || STEP_RC=$?
}
cleanup() {
    # A second TERM/INT (e.g. from an outer `timeout` signalling both us and
    # our group) must not cut the cleanup short.
    trap '' TERM INT
    local pid
    for pid in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do stop_bg "$pid"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$PY3" -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Poll until 127.0.0.1:PORT accepts a TCP connection (bounded), failing early
# if the process that should listen has exited.
wait_port() { # PORT PID WHAT
    local port="$1" pid="$2" what="$3"
    local deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$what exited before listening on 127.0.0.1:$port"
            return 1
        fi
        if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    log "$what did not accept on 127.0.0.1:$port within ${START_TIMEOUT}s"
    return 1
}

# Render a spec template: fill in the port, optionally override "cases".
render_spec() { # TEMPLATE PORT OUT [OUTDIR]
    AB_CASES="${AUTOBAHN_CASES:-}" "$PY3" - "$1" "$2" "$3" "${4:-}" <<'EOF'
import json, os, sys
template, port, out, outdir = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
with open(template) as f:
    text = f.read().replace("@PORT@", port)
spec = json.loads(text)
if outdir:
    spec["outdir"] = outdir
cases = os.environ.get("AB_CASES", "").strip()
if cases:
    spec["cases"] = [c.strip() for c in cases.split(",") if c.strip()]
with open(out, "w") as f:
    json.dump(spec, f, indent=3)
    f.write("\n")
EOF
}

write_info() { # OUTFILE KEY=VALUE...  (values are strings; numbers converted)
    local out="$1"; shift
    "$PY3" - "$out" "$@" <<'EOF'
import json, sys
info = {}
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    try:
        v = int(v)
    except ValueError:
        try:
            v = float(v)
        except ValueError:
            pass
    info[k] = v
with open(sys.argv[1], "w") as f:
    json.dump(info, f, indent=2, sort_keys=True)
    f.write("\n")
EOF
}

# testee_cmdline CMD VALUE PLACEHOLDER: substitute or append VALUE.
testee_cmdline() {
    if [[ "$1" == *"$3"* ]]; then
        printf '%s' "${1//"$3"/$2}"
    else
        printf '%s %q' "$1" "$2"
    fi
}

now() { date +%s.%N; }
elapsed() { "$PY3" -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

# --- install + build ---------------------------------------------------------
command -v "$PY3" >/dev/null 2>&1 || die "python3 ('$PY3') not found"
"$HERE/install.sh"

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
[[ "$TARGET_DIR" = /* ]] || TARGET_DIR="$ROOT/$TARGET_DIR"
EXAMPLES="$TARGET_DIR/release/examples"

SERVER_CMD="${AUTOBAHN_SERVER_CMD:-}"
CLIENT_CMD="${AUTOBAHN_CLIENT_CMD:-}"
STREAM_CMD="${AUTOBAHN_STREAM_CMD:-}"
build_examples=()
for m in "${MODES[@]}"; do
    if [[ $m == server && -z "$SERVER_CMD" ]]; then build_examples+=(--example echo_server); fi
    if [[ $m == stream && -z "$STREAM_CMD" ]]; then build_examples+=(--example echo_server); fi
    if [[ $m == client && -z "$CLIENT_CMD" ]]; then build_examples+=(--example autobahn_client); fi
done
if ((${#build_examples[@]})) && [[ "${AUTOBAHN_SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release --features deflate ${build_examples[*]}"
    (cd "$ROOT" && timeout "$BUILD_TIMEOUT" cargo build --release --features deflate "${build_examples[@]}") \
        || die "cargo build of the testee examples failed or timed out"
fi
[[ -n "$SERVER_CMD" ]] || SERVER_CMD="$(printf '%q' "$EXAMPLES/echo_server")"
[[ -n "$CLIENT_CMD" ]] || CLIENT_CMD="$(printf '%q' "$EXAMPLES/autobahn_client")"
[[ -n "$STREAM_CMD" ]] || STREAM_CMD="$(printf '%q --stream' "$EXAMPLES/echo_server")"

# --- server mode: wstest is the client, our echo server the testee ----------
run_server() { run_server_mode server "$SERVER_CMD"; }
# Stream mode is server mode against the streaming echo server.
run_stream() { run_server_mode stream "$STREAM_CMD"; }
run_server_mode() { # MODE (report directory) TESTEE-CMD
    local mode="$1" testee="$2"
    local out="$REPORTS/$mode" port t0 t1 rc=0 alive=1
    rm -rf "$out"; mkdir -p "$out"
    port="$(free_port)"
    render_spec "$HERE/fuzzingclient.json" "$port" "$out/spec.json" "./reports/$mode"
    "$VPY" "$HERE/list_cases.py" "$out/spec.json" >"$out/expected-cases.json"
    local cmdline
    cmdline="$(testee_cmdline "$testee" "127.0.0.1:$port" "{addr}")"
    log "$mode mode: testee: $cmdline"
    t0="$(now)"
    start_bg "$ROOT" "$out/testee.log" bash -c "exec $cmdline"
    local testee_pid="$BG_PID"
    if ! wait_port "$port" "$testee_pid" "server testee"; then
        tail -n 20 "$out/testee.log" >&2 || true
        write_info "$out/run-info.json" "mode=$mode" wall_seconds=0 suite_rc=-1 \
            "problem=server testee did not start listening (see reports/$mode/testee.log)"
        stop_bg "$testee_pid"
        return 0
    fi
    log "$mode mode: wstest -m fuzzingclient (timeout ${SUITE_TIMEOUT}s), log: reports/$mode/wstest.log"
    run_step "$HERE" "$out/wstest.log" "$SUITE_TIMEOUT" "$WSTEST" -m fuzzingclient -s "$out/spec.json"
    rc="$STEP_RC"
    t1="$(now)"
    kill -0 "$testee_pid" 2>/dev/null || alive=0
    stop_bg "$testee_pid"
    local problem=""
    if ((rc == 124 || rc == 137)); then problem="wstest timed out after ${SUITE_TIMEOUT}s"
    elif ((rc != 0)); then problem="wstest exited with status $rc"
    elif ((alive == 0)); then problem="the server testee exited during the run (see reports/$mode/testee.log)"
    fi
    write_info "$out/run-info.json" "mode=$mode" "wall_seconds=$(elapsed "$t0" "$t1")" \
        "suite_rc=$rc" "testee_alive_at_end=$alive" "testee_cmd=$cmdline" \
        ${problem:+"problem=$problem"}
}

# --- client mode: wstest is the server, our client the testee ---------------
run_client() {
    local out="$REPORTS/client" port t0 t1 rc=0 i
    rm -rf "$out"; mkdir -p "$out"
    port="$(free_port)"
    render_spec "$HERE/fuzzingserver.json" "$port" "$out/spec.json"
    "$VPY" "$HERE/list_cases.py" "$out/spec.json" >"$out/expected-cases.json"
    log "client mode: wstest -m fuzzingserver on 127.0.0.1:$port, log: reports/client/wstest.log"
    t0="$(now)"
    # --webport 0: no embedded HTTP server (it would otherwise grab port 8080).
    start_bg "$HERE" "$out/wstest.log" "$WSTEST" -m fuzzingserver -s "$out/spec.json" --webport 0
    local suite_pid="$BG_PID"
    if ! wait_port "$port" "$suite_pid" "wstest fuzzingserver"; then
        tail -n 20 "$out/wstest.log" >&2 || true
        write_info "$out/run-info.json" mode=client wall_seconds=0 testee_rc=-1 \
            "problem=wstest fuzzingserver did not start listening (see reports/client/wstest.log)"
        stop_bg "$suite_pid"
        return 0
    fi
    local cmdline
    cmdline="$(testee_cmdline "$CLIENT_CMD" "ws://127.0.0.1:$port" "{url}")"
    log "client mode: testee: $cmdline (timeout ${SUITE_TIMEOUT}s)"
    run_step "$ROOT" "$out/testee.log" "$SUITE_TIMEOUT" bash -c "exec $cmdline"
    rc="$STEP_RC"
    # The suite writes index.json while handling /updateReports, before it
    # closes that connection; allow a short grace period for a client that
    # does not wait for the close.
    for ((i = 0; i < 50; i++)); do
        [[ -f "$out/index.json" ]] && break
        kill -0 "$suite_pid" 2>/dev/null || break
        sleep 0.1
    done
    t1="$(now)"
    local alive=1
    kill -0 "$suite_pid" 2>/dev/null || alive=0
    stop_bg "$suite_pid"
    local problem=""
    if ((rc == 124 || rc == 137)); then problem="the client testee timed out after ${SUITE_TIMEOUT}s"
    elif ((rc != 0)); then problem="the client testee exited with status $rc"
    elif ((alive == 0)); then problem="wstest fuzzingserver died during the run (see reports/client/wstest.log)"
    elif [[ ! -f "$out/index.json" ]]; then problem="no reports/client/index.json: the client testee never completed /updateReports?agent=$AGENT"
    fi
    write_info "$out/run-info.json" mode=client "wall_seconds=$(elapsed "$t0" "$t1")" \
        "testee_rc=$rc" "suite_alive_at_end=$alive" "testee_cmd=$cmdline" \
        ${problem:+"problem=$problem"}
}

# --- run + check --------------------------------------------------------------
mkdir -p "$REPORTS"
for m in "${MODES[@]}"; do
    "run_$m"
done
log "checking reports"
status=0
"$PY3" "$HERE/check.py" --reports "$REPORTS" --agent "$AGENT" "${MODES[@]}" || status=$?
exit "$status"
