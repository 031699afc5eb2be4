"""Python `websockets` as a real client of a wsmachine echo server.

    python ws_client.py ws://HOST:PORT/echo [--label NAME] [--compression both|deflate|none]
                        [--expect-deflate] [--variants] [--no-http-checks] [--ca CA.pem]

Runs the same exchange once per compression setting: `none` offers nothing
(the uncompressed path), `deflate` offers permessage-deflate (websockets'
default). The exchange: messages of the sizes around each frame-length
boundary, text and binary (random, so incompressible); compressible JSON-like
text and patterned binary of 1 KiB, 64 KiB and 1 MiB; non-ASCII text; a
fragmented message; a ping; and a clean close with 1000 checked from the
client's side. With --expect-deflate (a server built with `--features
deflate`), an offer must be accepted: `ws.protocol.extensions` is exactly one
PerMessageDeflate; without an offer it must be empty. With --variants, also
offers permessage-deflate with window bits and no_context_takeover parameters
(one connection each) and checks what was accepted and the echoes. Prints one line per
check and exits non-zero on the first failure. Run it through wire_tap.py to
see RSV1 on the wire.

With a wss:// URL, --ca CA.pem is the only CA trusted (Python's ssl module,
hostname checked), every connection runs over TLS, the HTTP checks use
https://, and three more checks run: a plain ws:// handshake to the same port
is refused with 400, and a plain http:// GET gets a 400 that says to use
https:// or wss://, and a TLS client that trusts only the system's CAs is
refused (certificate verify failed).
"""

import argparse
import asyncio
import os
import ssl
import sys

import urllib.error
import urllib.request

import websockets
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, PerMessageDeflate

# The TLS context for wss:// URLs (set from --ca), None for ws://.
TLS = None

SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20]
COMPRESSIBLE_SIZES = [1 << 10, 64 << 10, 1 << 20]
NON_ASCII = "héllo wörld — €uro 𝄞 🦀 中文 ✓"


class Failure(Exception):
    pass


def connect(url, **kwargs):
    """websockets' connect, over TLS with the --ca context for wss://."""
    if TLS is not None and url.startswith("wss://"):
        kwargs.setdefault("ssl", TLS)
    return ws_connect(url, **kwargs)


def check(ok, what):
    if not ok:
        raise Failure(what)


def text_of(size):
    # ASCII with a multi-byte character wherever it fits, so that large
    # messages also cross frame reads inside a character now and then.
    chunk = "abcdefghij" * 6 + "é" * 2
    text = (chunk * (size // len(chunk.encode()) + 1)).encode()[:size]
    text = text.decode("utf-8", errors="ignore")
    return text + "x" * (size - len(text.encode()))


def json_like(size):
    """Compressible text: JSON records with repeating keys, some non-ASCII."""
    records, i = [], 0
    while sum(map(len, records)) < size:
        records.append(f'{{"id": {i}, "user": "user-{i % 37}", "text": "message {i} — ok", '
                       f'"tags": ["a", "b", "c"], "score": {i * 7 % 1000}}},\n'.encode())
        i += 1
    data = b"".join(records)[:size].decode("utf-8", errors="ignore")
    return data + " " * (size - len(data.encode()))


def patterned(size):
    """Compressible binary: little-endian counters and a fixed header."""
    block = b"".join(b"\x89WSM" + (n % 256).to_bytes(2, "little") + bytes(9) for n in range(256))
    return (block * (size // len(block) + 1))[:size]


def describe_extensions(ws):
    parts = []
    for e in ws.protocol.extensions:
        if isinstance(e, PerMessageDeflate):
            parts.append(f"{e.name} (client window {e.local_max_window_bits} bits, server window "
                         f"{e.remote_max_window_bits} bits, client_no_context_takeover="
                         f"{e.local_no_context_takeover}, server_no_context_takeover="
                         f"{e.remote_no_context_takeover})")
        else:
            parts.append(str(e.name))
    return ", ".join(parts) or "none"


async def exchange(url, compression, label, expect_deflate):
    checks = 0
    async with connect(url, compression=compression, max_size=None, open_timeout=10) as ws:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions")
        print(f"[{label}] connected, compression offered={compression or 'none'}, "
              f"Sec-WebSocket-Extensions: {extensions!r}; in use: {describe_extensions(ws)}")
        deflates = [e for e in ws.protocol.extensions if isinstance(e, PerMessageDeflate)]
        if compression is None:
            check(not ws.protocol.extensions and extensions is None,
                  f"no offer, yet extensions {extensions!r} in use")
        elif expect_deflate:
            check(len(deflates) == 1 and len(ws.protocol.extensions) == 1,
                  f"permessage-deflate offered to a deflate server, in use: {describe_extensions(ws)}")
        for size in COMPRESSIBLE_SIZES:
            for data in (json_like(size), patterned(size)):
                await ws.send(data)
                echo = await ws.recv()
                check(type(echo) is type(data) and echo == data,
                      f"echo of compressible {type(data).__name__} of {size} bytes")
                checks += 1
        for size in SIZES:
            data = os.urandom(size)
            await ws.send(data)
            echo = await ws.recv()
            check(isinstance(echo, bytes) and echo == data, f"binary echo of {size} bytes")
            text = text_of(size)
            check(len(text.encode()) == size, f"text_of({size})")
            await ws.send(text)
            echo = await ws.recv()
            check(isinstance(echo, str) and echo == text, f"text echo of {size} bytes")
            checks += 2
        await ws.send(NON_ASCII)
        check(await ws.recv() == NON_ASCII, "non-ASCII text echo")
        await ws.send(["frag", "ment", "ed 🦀"])
        check(await ws.recv() == "fragmented 🦀", "fragmented text echo")
        await ws.send([b"\x00\x01", b"", b"\xff"])
        check(await ws.recv() == b"\x00\x01\xff", "fragmented binary echo")
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        checks += 4
        await ws.close(code=1000, reason="done")
        check(ws.protocol.close_sent is not None and ws.protocol.close_sent.code == 1000, "close frame sent")
        check(ws.protocol.close_rcvd is not None, "server answered the close frame")
        check(ws.protocol.close_rcvd.code == 1000, f"server echoed 1000, got {ws.protocol.close_rcvd.code}")
        check(ws.close_code == 1000, f"close_code is {ws.close_code}")
        checks += 2
    print(f"[{label}] ok: {checks} checks (sizes {SIZES} random text+binary, compressible "
          f"{COMPRESSIBLE_SIZES} JSON-like text+binary, non-ASCII, fragmented, ping/pong, "
          f"close 1000/{ws.protocol.close_rcvd.code})")


# Offers with parameters (RFC 7692 7.1): the server must accept each as
# offered (an accepted server_max_window_bits may only be lower) and then
# compress within what it accepted, which websockets' zlib decoder enforces.
VARIANTS = [
    dict(server_max_window_bits=9),
    dict(server_max_window_bits=10, client_max_window_bits=9),
    dict(server_no_context_takeover=True),
    dict(client_no_context_takeover=True),
    dict(server_no_context_takeover=True, client_no_context_takeover=True,
         server_max_window_bits=8, client_max_window_bits=9),
    dict(client_max_window_bits=None),  # no client_max_window_bits in the offer
]


async def variants(url, label):
    for offer in VARIANTS:
        factory = ClientPerMessageDeflateFactory(**offer)
        async with connect(url, extensions=[factory], compression=None, max_size=None,
                           open_timeout=10) as ws:
            (pmd,) = ws.protocol.extensions
            check(isinstance(pmd, PerMessageDeflate), f"{offer}: in use {describe_extensions(ws)}")
            want_server_bits = offer.get("server_max_window_bits") or 15
            check(pmd.remote_max_window_bits <= want_server_bits,
                  f"{offer}: server window {pmd.remote_max_window_bits} bits")
            check(pmd.remote_no_context_takeover >= offer.get("server_no_context_takeover", False),
                  f"{offer}: server_no_context_takeover not accepted")
            for size in (100, 5000, 70000, 256 << 10):
                for data in (json_like(size), patterned(size), os.urandom(size)):
                    await ws.send(data)
                    echo = await ws.recv()
                    check(echo == data, f"{offer}: echo of {type(data).__name__} of {size} bytes")
            for i in range(20):  # the same message again: back-references into earlier ones
                data = json_like(3000)
                await ws.send(data)
                check(await ws.recv() == data, f"{offer}: repeated echo {i}")
            print(f"[{label}, offer {offer}] ok: accepted "
                  f"{ws.response.headers.get('Sec-WebSocket-Extensions')!r}, 32 echoes")


def http_status(url):
    status, kind, _ = http_get(url)
    return status, kind


def http_get(url):
    context = TLS if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


async def http_checks(url, label):
    """Plain HTTP beside the WebSocket: the page, a refused plain GET, a
    refused foreign Origin (the default policy compares Origin with Host)."""
    host, path = url.split("/", 3)[2:]
    http = "https" if url.startswith("wss://") else "http"
    status, kind = http_status(f"{http}://{host}/")
    check(status == 200 and kind.startswith("text/html"), f"GET / gave {status} {kind!r}")
    status, _ = http_status(f"{http}://{host}/{path}")
    check(400 <= status < 500, f"plain GET of the WebSocket path gave {status}, not 4xx")
    try:
        async with connect(url, origin="http://elsewhere.example", open_timeout=10):
            raise Failure("a foreign Origin was accepted")
    except InvalidStatus as e:
        check(e.response.status_code == 403, f"foreign Origin got {e.response.status_code}")
    print(f"[{label}] ok: GET / is an HTML page, plain GET /{path} is "
          f"refused with {status}, a foreign Origin with 403")


async def tls_checks(url, label):
    """A TLS port refuses plain clients with a 400 that says why, and a
    client that does not trust the test CA refuses the server."""
    host = url.split("/", 3)[2]
    try:
        async with ws_connect(f"ws://{host}/echo", open_timeout=10):
            raise Failure("a plain ws:// handshake succeeded on the TLS port")
    except InvalidStatus as e:
        check(e.response.status_code == 400, f"plain ws:// got {e.response.status_code}")
    status, _, body = http_get(f"http://{host}/")
    check(status == 400 and b"wss://" in body, f"plain http:// got {status} {body!r}")
    try:
        async with ws_connect(url, ssl=ssl.create_default_context(), open_timeout=10):
            raise Failure("a client without the test CA accepted the server")
    except ssl.SSLCertVerificationError as e:
        check("certificate verify failed" in str(e), f"unexpected TLS error {e}")
    print(f"[{label}] ok: plain ws:// and http:// to the TLS port get 400 ({body.decode().strip()!r}); "
          f"without the test CA: certificate verify failed")


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--label", default="websockets")
    parser.add_argument("--compression", choices=["both", "deflate", "none"], default="both")
    parser.add_argument("--expect-deflate", action="store_true",
                        help="the server negotiates permessage-deflate: an offer must be accepted")
    parser.add_argument("--no-http-checks", action="store_true")
    parser.add_argument("--variants", action="store_true",
                        help="also offer permessage-deflate with each set of parameters in VARIANTS")
    parser.add_argument("--ca", help="for wss://: trust only this CA (PEM)")
    args = parser.parse_args()
    print(f"python websockets {websockets.__version__} on Python {sys.version.split()[0]}")
    if args.url.startswith("wss://"):
        global TLS
        TLS = ssl.create_default_context(cafile=args.ca)
        await tls_checks(args.url, args.label)
    if not args.no_http_checks:
        await http_checks(args.url, args.label)
    settings = {"both": [None, "deflate"], "deflate": ["deflate"], "none": [None]}[args.compression]
    for compression in settings:
        await exchange(args.url, compression, f"{args.label}, compression={compression}",
                       args.expect_deflate)
    if args.variants:
        await variants(args.url, args.label)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # connection refused, timeouts, protocol errors
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
