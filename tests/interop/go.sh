# Interop with the Go libraries the project's seed documents teach:
# gorilla/websocket and golang.org/x/net/websocket, both directions.
#
# Sourced by tests/interop/run.sh (`tests/interop/run.sh go` runs this part
# alone), which defines step, fail, launch, start, tap_start, tap_check and
# $root, $here, $out, $tmp, $py, and has built the examples in release with
# `--features deflate`. The Go programs in tests/interop/go/ are built here
# in GOPATH mode against Debian's packaged sources (/usr/share/gocode),
# offline, into target/go/ (installed by scripts/install-interop-go.sh).
#
# What is checked (each Go program prints one `ok`/`FAIL` line per case):
#   - echo_client's command line: --help lists every option; an unknown
#     option, a header without a colon, a missing value: exit 2 and the reason.
#   - gorilla client -> wire tap -> echo_server, and -> event_loop, without
#     and with EnableCompression: text, binary, empty text and binary,
#     non-ASCII, 64 KiB, 1 MiB text and binary, fragmented text and binary
#     (NextWriter), a ping between fragments, ping/pong, close 1000, 4000 and
#     1001 echoed back (and logged by the server). Tap: permessage-deflate
#     accepted for gorilla's offer, RSV1 on text and binary both ways,
#     continuation frames client->server on both kinds of connection.
#   - x/net client -> echo_server and event_loop, Origin = the server's own
#     origin: the same cases but fragmented (x/net cannot send fragments),
#     the pong and the close codes read off the wire; with x/net's usual
#     Origin http://localhost/: 403 from both (SameHost default), and every
#     case passing against `echo_server --any-origin`.
#   - echo_client -> gorilla's echo server (the seed's shape, with its page):
#     lines echoed; --protocol order decides the chosen subprotocol; and
#     -> wire tap -> gorilla server with EnableCompression and a required
#     header: permessage-deflate negotiated (echo_client names it, the tap
#     sees RSV1 both ways), 401 without --header.
#   - echo_client -> x/net's websocket.Handler + io.Copy server: lines echoed
#     with --origin (x/net drops TCP instead of answering the close frame:
#     echo_client reports the 1006 and still exits 0, every reply being in);
#     without --origin, 403 and echo_client says why, exit 1.
#   - gorilla chat clients (3, then 3 with compression) -> wire tap ->
#     chat_server: each sees every line with its author's uid.

go_bin=$root/target/go/bin
go_env=(env GO111MODULE=off GOPATH="$root/target/go/gopath:/usr/share/gocode"
    GOCACHE="$root/target/go/cache" GOPROXY=off GOFLAGS= CGO_ENABLED=0)

step "Go peers: build (Debian's Go, gorilla/websocket and x/net, GOPATH mode, offline)"
mkdir -p "$go_bin"
unformatted=$(gofmt -l tests/interop/go)
[ -z "$unformatted" ] || fail "not gofmt-formatted: $unformatted"
for prog in gorilla_server xnet_server gorilla_client xnet_client; do
    timeout 600 "${go_env[@]}" go vet "./tests/interop/go/$prog" \
        || fail "go vet ./tests/interop/go/$prog failed"
    timeout 600 "${go_env[@]}" go build -o "$go_bin/$prog" "./tests/interop/go/$prog" \
        || fail "go build ./tests/interop/go/$prog failed"
done
{
    echo "go: $(go version | sed 's/^go version //')"
    echo "gorilla/websocket: $(dpkg-query -W -f='${Version}' golang-github-gorilla-websocket-dev)"
    echo "golang.org/x/net: $(dpkg-query -W -f='${Version}' golang-golang-x-net-dev)"
} | tee -a "$out/versions.txt"

# go_peer NAME ARGS...: a Go server from $go_bin on 127.0.0.1:0; sets PORT, PID.
go_peer() {
    local name=$1
    shift
    launch "$name" "$go_bin/${name%%-*}" -addr 127.0.0.1:0 "$@"
    echo "$name: listening on port $PORT"
}

# example_peer LABEL EXAMPLE ARGS...: like run.sh's `start`, under its own
# LABEL (the other parts of run.sh start the same examples); sets PORT, PID.
example_peer() {
    local label=$1 name=$2
    shift 2
    launch "$label" "target/release/examples/$name" 127.0.0.1:0 "$@"
    [[ $FIRST == *" (permessage-deflate on)" ]] \
        || fail "$name was built with --features deflate but says: $FIRST"
    echo "$label: $name listening on port $PORT, permessage-deflate on"
}

# codes_logged NAME CODE...: the server's stderr names each close code.
codes_logged() {
    local name=$1 code
    shift
    for code in "$@"; do
        grep -Eq "(^|[^0-9])$code([^0-9]|$)" "$tmp/$name.err" \
            || { cat "$tmp/$name.err" >&2; fail "$name did not log a close with code $code"; }
    done
    echo "$name logged the close codes $*"
}

# echo_client_run LABEL EXPECTED_RC ARGS...: echo_client with $tmp/lines on
# stdin; output in $tmp/LABEL.{out,err}; fails unless it exits EXPECTED_RC.
printf '%s\n' "hello from wsmachine's echo_client" 'ünïcödé — ☃ 🦀 日本語' \
    '{"a line": "long enough to be compressed", "numbers": [1, 2, 3, 4, 5, 6, 7, 8, 9], "more": "text text text"}' \
    >"$tmp/lines"
echo_client_run() {
    local label=$1 want=$2 rc=0
    shift 2
    timeout -k 5 30 target/release/examples/echo_client "$@" <"$tmp/lines" \
        >"$tmp/$label.out" 2>"$tmp/$label.err" || rc=$?
    if [ "$rc" -ne "$want" ]; then
        cat "$tmp/$label.err" >&2
        fail "echo_client ($label) exited $rc, expected $want"
    fi
    if [ "$want" -eq 0 ]; then
        cmp -s "$tmp/lines" "$tmp/$label.out" \
            || { diff "$tmp/lines" "$tmp/$label.out" >&2; fail "echo_client ($label): the echo differs from the input"; }
        echo "ok   echo_client -> $label: $(wc -l <"$tmp/lines") lines echoed; $(grep -o 'connected to.*' "$tmp/$label.err")"
    fi
}
# stderr_says LABEL TEXT: echo_client's stderr for LABEL contains TEXT.
stderr_says() {
    grep -qF -- "$2" "$tmp/$1.err" || { cat "$tmp/$1.err" >&2; fail "echo_client ($1) did not say: $2"; }
}

step "echo_client's command line (--help, bad options)"
help=$(timeout 10 target/release/examples/echo_client --help) || fail "echo_client --help failed"
for option in --origin --protocol --header --help; do
    [[ $help == *"$option"* ]] || fail "echo_client --help does not list $option"
done
echo_client_run bad-option 2 --bogus
stderr_says bad-option "unknown option --bogus"
echo_client_run bad-header 2 --header no-colon ws://127.0.0.1:9/
stderr_says bad-header 'is not "Name: value"'
echo_client_run missing-value 2 --protocol
stderr_says missing-value "--protocol needs a value"
echo "ok   echo_client: --help lists every option; bad ones exit 2 with the reason"

step "gorilla client -> wire tap -> echo_server and event_loop (without and with EnableCompression)"
for server in echo_server event_loop; do
    example_peer "go-$server" "$server"
    server_port=$PORT
    tap_start "gorilla-$server" "$server_port"
    timeout -k 5 120 "$go_bin/gorilla_client" -url "ws://127.0.0.1:$TAP_PORT/echo" -label "$server"
    timeout -k 5 120 "$go_bin/gorilla_client" -url "ws://127.0.0.1:$TAP_PORT/echo" -compress \
        -label "$server (permessage-deflate)"
    tap_check "gorilla-$server" --need text,binary --plain 1 --fragmented
    codes_logged "go-$server" 1000 4000 1001

    step "x/net client -> $server (its own origin; then http://localhost/: 403)"
    timeout -k 5 120 "$go_bin/xnet_client" -url "ws://127.0.0.1:$server_port/echo" \
        -origin "http://127.0.0.1:$server_port" -label "$server"
    timeout -k 5 30 "$go_bin/xnet_client" -url "ws://127.0.0.1:$server_port/echo" \
        -origin "http://localhost/" -expect-status 403 -label "$server"
done

step "x/net client with Origin http://localhost/ -> echo_server --any-origin"
example_peer go-echo_server-any echo_server --any-origin
timeout -k 5 120 "$go_bin/xnet_client" -url "ws://127.0.0.1:$PORT/echo" \
    -origin "http://localhost/" -label "echo_server --any-origin"

step "echo_client -> gorilla echo server (the seed's echo example)"
go_peer gorilla_server -protocols echo.v1,echo.v2
gorilla_port=$PORT
timeout 30 "$py" - "http://127.0.0.1:$gorilla_port/" <<'PY' || fail "gorilla's echo page did not load"
import sys, urllib.request
page = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
assert "new WebSocket(" in page, page[:200]
print("ok   gorilla echo page: 200, %d bytes" % len(page))
PY
echo_client_run gorilla 0 "ws://127.0.0.1:$gorilla_port/echo"
stderr_says gorilla "no subprotocol, extensions: none"
echo_client_run gorilla-v2-first 0 --protocol echo.v2 --protocol echo.v1 "ws://127.0.0.1:$gorilla_port/echo"
stderr_says gorilla-v2-first "subprotocol echo.v2,"
echo_client_run gorilla-v1-second 0 --protocol nope --protocol echo.v1 "ws://127.0.0.1:$gorilla_port/echo"
stderr_says gorilla-v1-second "subprotocol echo.v1,"
grep -qF 'subprotocols offered ["nope" "echo.v1"], chosen "echo.v1"' "$tmp/gorilla_server.err" \
    || { cat "$tmp/gorilla_server.err" >&2; fail "gorilla server did not log the protocols offered in order"; }
echo "ok   echo_client --protocol: offered in order, the server's choice printed"

step "echo_client -> wire tap -> gorilla server with EnableCompression and a required header"
go_peer gorilla_server-compress -compress -require-header "X-Interop-Token: s3cret"
[[ $FIRST == *" (permessage-deflate on)" ]] || fail "gorilla server -compress says: $FIRST"
gorilla_port=$PORT
tap_start echo_client-gorilla "$gorilla_port"
echo_client_run gorilla-compress 0 --header "X-Interop-Token: s3cret" "ws://127.0.0.1:$TAP_PORT/echo"
stderr_says gorilla-compress "extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover"
tap_check echo_client-gorilla --need text
echo_client_run gorilla-no-header 1 "ws://127.0.0.1:$gorilla_port/echo"
stderr_says gorilla-no-header "refused the WebSocket handshake with HTTP 401"
echo "ok   echo_client --header: 401 without it, echoed with it"

step "echo_client -> x/net echo server (websocket.Handler + io.Copy)"
go_peer xnet_server
xnet_port=$PORT
echo_client_run xnet 0 --origin "http://127.0.0.1:$xnet_port" "ws://127.0.0.1:$xnet_port/echo"
# x/net never answers a close frame: it drops TCP (1006); echo_client says so.
stderr_says xnet "closed TCP without answering our close frame"
echo_client_run xnet-no-origin 1 "ws://127.0.0.1:$xnet_port/echo"
stderr_says xnet-no-origin "refused the WebSocket handshake with HTTP 403"
stderr_says xnet-no-origin "--origin"
echo "ok   echo_client -> x/net without --origin: 403, says so, exit 1"

step "gorilla chat clients -> wire tap -> chat_server (without and with EnableCompression)"
example_peer go-chat_server chat_server
tap_start gorilla-chat "$PORT"
timeout -k 5 60 "$go_bin/gorilla_client" -url "ws://127.0.0.1:$TAP_PORT/ws" -chat 3 -label chat_server
timeout -k 5 60 "$go_bin/gorilla_client" -url "ws://127.0.0.1:$TAP_PORT/ws" -chat 3 -compress \
    -label "chat_server (permessage-deflate)"
tap_check gorilla-chat --need text --plain 1
