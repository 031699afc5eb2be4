"""A TCP relay on 127.0.0.1 that watches the WebSocket frames it forwards.

    python wire_tap.py relay --upstream 127.0.0.1:PORT --report FILE [--max-seconds N]
    python wire_tap.py check FILE [--label NAME] [--need text,binary] [--plain N] [--fragmented]
    python wire_tap.py selftest

relay: listens on 127.0.0.1:0 and prints `listening on http://127.0.0.1:PORT`
as its first stdout line. Every accepted connection is relayed byte for byte
to --upstream, both ways (half-closes forwarded). Each direction is parsed as
it passes, and always before the bytes are forwarded, so a peer never sees a
byte the tap has not counted: first the HTTP head (the request's offered and
the response's accepted Sec-WebSocket-Extensions, the status), then, once the
request asked for an upgrade (client -> server) or the response is a 101
(server -> client), WebSocket frames: masking, 7/16/64-bit lengths, frames
split across reads or several in one read. Per direction it counts frames
and frames with RSV1 set by opcode, reassembles messages, inflates the
compressed ones with zlib (raw deflate, context kept across messages, the
RFC 7692 tail appended) as an independent check of the deflate stream, and
records protocol violations (RSV1 on a continuation or control frame, RSV2/3,
wrong masking, a continuation without a start, bad UTF-8 in a text message,
an inflate error). A connection that is not an upgrade (a page load) is
relayed without parsing. On SIGTERM/SIGINT, or after --max-seconds, it
writes the report as JSON to --report and exits 0.

check: reads a report and exits non-zero unless
  - there is at least one WebSocket connection that offered permessage-deflate,
    and every such connection had it accepted;
  - over those connections, RSV1 was set on data frames of each --need opcode
    (default: text and binary) in BOTH directions;
  - at least --plain connections offered no compression, and none of them had
    an extension accepted or a single RSV1 frame;
  - no RSV1 on any control or continuation frame, no violation at all;
  - with --fragmented: client->server continuation frames on the compressed
    connections, and on the uncompressed ones when --plain asks for some.
It prints one summary line with the counts.

selftest: feeds the parser a handshake and frames it builds itself (masked
and not, 7/16/64-bit lengths, compressed, fragmented, control frames, one bad
frame) cut into reads of 1, 2, 3, 7, 4096 bytes and at random, and checks the
counts are the same every time.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import zlib

OPCODES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}
HEAD_LIMIT = 64 * 1024
TAIL = b"\x00\x00\xff\xff"  # RFC 7692 7.2.2: removed by the sender, appended by the receiver


def unmask(payload, key):
    if not payload:
        return b""
    n = len(payload)
    stream = (bytes(key) * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def parse_head(raw):
    """(first line, {lower-case name: value joined with ', '}) of an HTTP head."""
    lines = raw.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            name = name.strip().lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return lines[0], headers


def offers_deflate(header):
    """Whether a Sec-WebSocket-Extensions value names permessage-deflate."""
    if not header:
        return False
    return any(item.split(";")[0].strip().lower() == "permessage-deflate" for item in header.split(","))


class Direction:
    """One direction of one connection: HTTP head, then frames."""

    def __init__(self, name, conn):
        self.name = name  # "c2s" or "s2c"
        self.conn = conn
        self.client_side = name == "c2s"
        self.mode = "head"  # head -> frames | passthrough
        self.buf = bytearray()
        self.bytes = 0
        self.frames = {}  # opcode name -> {"frames": n, "rsv1": n}
        self.messages = {}  # "text"/"binary" -> counts and sizes
        self.close_code = None
        self.violations = []
        self.message = None  # [opcode, compressed, [payloads]]
        self.inflater = zlib.decompressobj(wbits=-15)

    def violation(self, what):
        if len(self.violations) < 20:
            self.violations.append(what)

    def feed(self, data):
        self.bytes += len(data)
        if self.mode == "passthrough":
            return
        try:
            self.parse(data)
        except Exception as e:  # a tap bug must not stall the relay: report it
            self.violation(f"wire tap parser error: {type(e).__name__}: {e}")
            self.mode = "passthrough"
            self.buf.clear()

    def parse(self, data):
        self.buf += data
        if self.mode == "head":
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > HEAD_LIMIT:
                    self.mode = "passthrough"
                    self.buf.clear()
                return
            head = bytes(self.buf[: end + 4])
            del self.buf[: end + 4]
            first, headers = parse_head(head)
            if self.client_side:
                upgrade = "websocket" in headers.get("upgrade", "").lower()
                self.conn.request = first
                self.conn.offered = headers.get("sec-websocket-extensions")
                self.mode = "frames" if upgrade else "passthrough"
            else:
                parts = first.split()
                status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
                self.conn.status = status
                self.conn.accepted = headers.get("sec-websocket-extensions")
                self.mode = "frames" if status == 101 else "passthrough"
            if self.mode == "passthrough":
                self.buf.clear()
                return
        self.parse_frames()

    def parse_frames(self):
        buf, pos = self.buf, 0
        while True:
            avail = len(buf) - pos
            if avail < 2:
                break
            b0, b1 = buf[pos], buf[pos + 1]
            length, header = b1 & 0x7F, 2
            if length == 126:
                header = 4
                if avail < header:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
            elif length == 127:
                header = 10
                if avail < header:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
            masked = bool(b1 & 0x80)
            if masked:
                header += 4
            if avail < header + length:
                break
            payload = bytes(buf[pos + header : pos + header + length])
            if masked:
                payload = unmask(payload, buf[pos + header - 4 : pos + header])
            pos += header + length
            self.frame(bool(b0 & 0x80), (b0 >> 4) & 0x7, b0 & 0x0F, masked, payload)
        del buf[:pos]

    def frame(self, fin, rsv, opcode, masked, payload):
        name = OPCODES.get(opcode, f"opcode {opcode}")
        count = self.frames.setdefault(name, {"frames": 0, "rsv1": 0})
        count["frames"] += 1
        rsv1 = bool(rsv & 0x4)
        if rsv1:
            count["rsv1"] += 1
        if rsv & 0x3:
            self.violation(f"RSV2/RSV3 set on a {name} frame")
        if masked != self.client_side:
            self.violation(f"{name} frame {'masked' if masked else 'unmasked'} from the "
                           f"{'client' if self.client_side else 'server'}")
        if opcode >= 8:
            if rsv1:
                self.violation(f"RSV1 on a {name} frame")
            if not fin:
                self.violation(f"fragmented {name} frame")
            if opcode == 8 and len(payload) >= 2 and self.close_code is None:
                self.close_code = int.from_bytes(payload[:2], "big")
            return
        if opcode in (1, 2):
            if self.message is not None:
                self.violation(f"{name} frame inside an unfinished message")
            if rsv1 and not offers_deflate(self.conn.accepted):
                self.violation(f"RSV1 on a {name} frame without permessage-deflate negotiated")
            self.message = [OPCODES[opcode], rsv1, [payload]]
        elif opcode == 0:
            if rsv1:
                self.violation("RSV1 on a continuation frame")
            if self.message is None:
                self.violation("continuation frame without a message")
                return
            self.message[2].append(payload)
        else:
            self.violation(f"reserved opcode {opcode}")
            return
        if fin:
            self.finish_message()

    def finish_message(self):
        kind, compressed, payloads = self.message
        self.message = None
        wire = b"".join(payloads)
        data = wire
        stats = self.messages.setdefault(kind, {
            "messages": 0, "compressed": 0, "wire_bytes": 0, "payload_bytes": 0,
            "compressed_wire_bytes": 0, "compressed_payload_bytes": 0,
        })
        stats["messages"] += 1
        stats["wire_bytes"] += len(wire)
        if compressed:
            try:
                data = self.inflater.decompress(wire + TAIL)
                if self.inflater.eof:  # a final block ended the stream: next message starts afresh
                    self.inflater = zlib.decompressobj(wbits=-15)
            except zlib.error as e:
                self.violation(f"inflating a {kind} message of {len(wire)} bytes failed: {e}")
                self.inflater = zlib.decompressobj(wbits=-15)
                return
            stats["compressed"] += 1
            stats["compressed_wire_bytes"] += len(wire)
            stats["compressed_payload_bytes"] += len(data)
        stats["payload_bytes"] += len(data)
        if kind == "text":
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                self.violation(f"text message of {len(data)} bytes is not UTF-8")

    def report(self):
        if self.message is not None:
            self.violation("connection ended inside a message")
        return {
            "bytes": self.bytes,
            "frames": self.frames,
            "messages": self.messages,
            "close_code": self.close_code,
            "violations": self.violations,
        }


class Connection:
    def __init__(self, number):
        self.id = number
        self.request = None
        self.offered = None
        self.status = None
        self.accepted = None
        self.errors = []
        self.c2s = Direction("c2s", self)
        self.s2c = Direction("s2c", self)

    def report(self):
        return {
            "id": self.id,
            "request": self.request,
            "status": self.status,
            "websocket": self.status == 101,
            "offered": self.offered,
            "accepted": self.accepted,
            "c2s": self.c2s.report(),
            "s2c": self.s2c.report(),
            "errors": self.errors,
        }


async def pump(reader, writer, direction, conn, other_writer):
    try:
        while True:
            data = await reader.read(256 * 1024)
            if not data:
                break
            direction.feed(data)  # count first: the peer sees nothing uncounted
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # forward the half-close
    except (ConnectionError, OSError) as e:
        conn.errors.append(f"{direction.name}: {type(e).__name__}: {e}")
        writer.close()
        other_writer.close()  # a reset on one side ends the other side too


async def relay(args):
    host, port = args.upstream.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost"):
        sys.exit(f"wire tap: loopback upstreams only, not {host}")
    connections = []
    tasks = set()

    async def handle(client_reader, client_writer):
        conn = Connection(len(connections) + 1)
        connections.append(conn)
        try:
            server_reader, server_writer = await asyncio.wait_for(
                asyncio.open_connection(host, int(port)), 10)
        except (OSError, asyncio.TimeoutError) as e:
            conn.errors.append(f"connecting upstream: {type(e).__name__}: {e}")
            client_writer.close()
            return
        try:
            await asyncio.gather(
                pump(client_reader, server_writer, conn.c2s, conn, client_writer),
                pump(server_reader, client_writer, conn.s2c, conn, server_writer),
            )
        finally:
            client_writer.close()
            server_writer.close()

    def on_connect(reader, writer):
        task = asyncio.ensure_future(handle(reader, writer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    listen_port = server.sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{listen_port} (wire tap -> {args.upstream})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), args.max_seconds)
    except asyncio.TimeoutError:
        print(f"wire tap: stopping after --max-seconds {args.max_seconds}", file=sys.stderr)
    server.close()
    report = {"upstream": args.upstream, "connections": [c.report() for c in connections]}
    partial = f"{args.report}.partial"
    with open(partial, "w") as f:
        json.dump(report, f, indent=1)
    os.replace(partial, args.report)
    for task in tasks:
        task.cancel()


def frame_counts(conns, direction):
    """{opcode name: {"frames": n, "rsv1": n}} summed over connections."""
    total = {}
    for c in conns:
        for name, count in c[direction]["frames"].items():
            t = total.setdefault(name, {"frames": 0, "rsv1": 0})
            t["frames"] += count["frames"]
            t["rsv1"] += count["rsv1"]
    return total


def message_bytes(conns, direction):
    wire = payload = 0
    for c in conns:
        for stats in c[direction]["messages"].values():
            wire += stats["compressed_wire_bytes"]
            payload += stats["compressed_payload_bytes"]
    return wire, payload


def describe(counts):
    order = list(OPCODES.values())
    names = sorted(counts, key=lambda n: order.index(n) if n in order else len(order))
    return ", ".join(f"{n} {counts[n]['rsv1']}/{counts[n]['frames']}" for n in names) or "no frames"


def check(args):
    with open(args.report) as f:
        report = json.load(f)
    label = args.label or args.report
    problems = []
    websockets = [c for c in report["connections"] if c["websocket"]]
    deflate = [c for c in websockets if offers_deflate(c["offered"])]
    plain = [c for c in websockets if not offers_deflate(c["offered"])]
    for c in report["connections"]:
        for side in ("c2s", "s2c"):
            for v in c[side]["violations"]:
                problems.append(f"connection {c['id']} {side}: {v}")
    if not deflate:
        problems.append("no WebSocket connection offered permessage-deflate")
    for c in deflate:
        if not offers_deflate(c["accepted"]):
            problems.append(f"connection {c['id']} ({c['request']}) offered {c['offered']!r} "
                            f"but the response accepted {c['accepted']!r}")
    if len(plain) < args.plain:
        problems.append(f"{len(plain)} connection(s) without a compression offer, expected {args.plain}")
    for c in plain:
        if c["accepted"]:
            problems.append(f"connection {c['id']} offered nothing but got {c['accepted']!r}")
        for side in ("c2s", "s2c"):
            rsv1 = sum(n["rsv1"] for n in c[side]["frames"].values())
            if rsv1:
                problems.append(f"connection {c['id']} offered nothing but {side} had {rsv1} RSV1 frame(s)")
    if args.fragmented:
        for group, name in ((deflate, "compressed"), (plain if args.plain else [], "uncompressed")):
            if group and frame_counts(group, "c2s").get("continuation", {}).get("frames", 0) == 0:
                problems.append(f"client->server: no continuation frame on the {name} connection(s)")
    lines = []
    for side, arrow in (("c2s", "client->server"), ("s2c", "server->client")):
        counts = frame_counts(deflate, side)
        for name in args.need.split(","):
            if counts.get(name, {}).get("rsv1", 0) == 0:
                problems.append(f"{arrow}: no {name} frame with RSV1 set "
                                f"({describe(counts)})")
        for name, count in counts.items():
            if name not in ("text", "binary") and count["rsv1"]:
                problems.append(f"{arrow}: RSV1 on {count['rsv1']} {name} frame(s)")
        wire, payload = message_bytes(deflate, side)
        lines.append(f"{arrow}: RSV1/frames {describe(counts)}; compressed messages "
                     f"{payload} B inflated from {wire} B on the wire")
    if plain:
        lines.append("uncompressed connection(s): RSV1/frames "
                     f"client->server {describe(frame_counts(plain, 'c2s'))}, "
                     f"server->client {describe(frame_counts(plain, 's2c'))}")
    accepted = sorted({c["accepted"] for c in deflate if c["accepted"]})
    summary = (f"[wire tap {label}] {len(deflate)} connection(s) with permessage-deflate "
               f"(accepted {accepted}), {len(plain)} without")
    if problems:
        print(summary, file=sys.stderr)
        for line in lines:
            print(f"  {line}", file=sys.stderr)
        for p in problems:
            print(f"FAIL: {p}", file=sys.stderr)
        sys.exit(1)
    print(f"{summary}: ok")
    for line in lines:
        print(f"  {line}")


def build_frame(opcode, payload, fin=True, rsv1=False, mask=None):
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, m | 127]) + n.to_bytes(8, "big")
    if mask:
        return head + mask + unmask(payload, mask)
    return head + payload


def selftest(_args):
    rng = random.Random(6455)
    deflater = zlib.compressobj(wbits=-15)

    def deflate(data, last=True):
        out = deflater.compress(data) + deflater.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(TAIL)
        return out[:-4] if last else out  # only a message's end drops the tail

    def stream(masked):
        mask = (lambda: bytes(rng.randrange(256) for _ in range(4))) if masked else (lambda: None)
        text = ('{"k": "v", "n": 1, "é": "🦀"} ' * 3000).encode()  # 99000 bytes
        frames = [
            build_frame(1, deflate(b""), rsv1=True, mask=mask()),
            build_frame(1, deflate(text[:100]), rsv1=True, mask=mask()),
            build_frame(2, os.urandom(300), mask=mask()),  # 16-bit length
            build_frame(2, bytes(70000), mask=mask()),  # 64-bit length
            build_frame(1, deflate(text), rsv1=True, mask=mask()),  # back-references
            build_frame(9, b"ping", mask=mask()),
            build_frame(1, deflate(text[:5000], False), fin=False, rsv1=True, mask=mask()),
            build_frame(10, b"", mask=mask()),  # a control frame inside a fragmented message
            build_frame(0, deflate(text[5000:9000], False), fin=False, mask=mask()),
            build_frame(0, deflate(b"!"), mask=mask()),
            build_frame(8, (1000).to_bytes(2, "big") + b"done", mask=mask()),
        ]
        return b"".join(frames)

    request = (b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
    response = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
    c2s = request + stream(masked=True)
    deflater = zlib.compressobj(wbits=-15)
    s2c = response + stream(masked=False)
    expected = None
    for cut in (1, 2, 3, 7, 4096, None, None, None):
        conn = Connection(1)
        for direction, data in ((conn.s2c, s2c), (conn.c2s, c2s)):
            pos = 0
            while pos < len(data):
                step = cut or rng.choice([1, 2, 5, 13, 100, 1000, 65536])
                direction.feed(data[pos : pos + step])
                pos += step
        report = conn.report()
        for side in ("c2s", "s2c"):
            assert report[side]["violations"] == [], report[side]["violations"]
            frames = report[side]["frames"]
            assert frames["text"] == {"frames": 4, "rsv1": 4}, frames
            assert frames["continuation"] == {"frames": 2, "rsv1": 0}, frames
            assert frames["binary"] == {"frames": 2, "rsv1": 0}, frames
            assert frames["ping"] == {"frames": 1, "rsv1": 0} and frames["close"]["frames"] == 1, frames
            assert report[side]["close_code"] == 1000
            text = report[side]["messages"]["text"]
            assert text["compressed"] == 4 and text["compressed_payload_bytes"] == 100 + 99000 + 9001, text
        if expected is None:
            expected = report
        assert report == expected, "counts depend on how the bytes were cut"
    bad = Connection(2)
    bad.s2c.feed(response + build_frame(9, b"", rsv1=True) + build_frame(1, b"x", mask=b"abcd")
                 + build_frame(0, b"y"))
    assert len(bad.s2c.violations) == 3, bad.s2c.violations
    print("wire tap selftest: ok (frames cut into reads of 1, 2, 3, 7, 4096 bytes and at "
          f"random counted alike; violations caught: {bad.s2c.violations})")


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    r = commands.add_parser("relay")
    r.add_argument("--upstream", required=True, help="127.0.0.1:PORT")
    r.add_argument("--report", required=True)
    r.add_argument("--max-seconds", type=float, default=300)
    c = commands.add_parser("check")
    c.add_argument("report")
    c.add_argument("--label")
    c.add_argument("--need", default="text,binary")
    c.add_argument("--plain", type=int, default=0)
    c.add_argument("--fragmented", action="store_true")
    commands.add_parser("selftest")
    args = parser.parse_args()
    if args.command == "relay":
        asyncio.run(relay(args))
    elif args.command == "check":
        check(args)
    else:
        selftest(args)


if __name__ == "__main__":
    main()
