"""Python `websockets` as a real client of a wsmachine echo server.

    python ws_client.py ws://127.0.0.1:PORT/echo [--label NAME]

Runs the same exchange twice, once without and once with compression offered
(`permessage-deflate`, websockets' default): messages of the sizes around
each frame-length boundary, text and binary, non-ASCII text, a fragmented
message, a ping, and a clean close with 1000 checked from the client's side.
Prints one line per check and exits non-zero on the first failure.
"""

import argparse
import asyncio
import os
import sys

import urllib.error
import urllib.request

import websockets
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20]
NON_ASCII = "héllo wörld — €uro 𝄞 🦀 中文 ✓"


class Failure(Exception):
    pass


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


async def exchange(url, compression, label):
    checks = 0
    async with connect(url, compression=compression, max_size=None, open_timeout=10) as ws:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions")
        print(f"[{label}] connected, compression offered={compression or 'none'}, "
              f"negotiated extensions={extensions!r}")
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
    print(f"[{label}] ok: {checks} checks (sizes {SIZES} text+binary, non-ASCII, "
          f"fragmented, ping/pong, close 1000/{ws.protocol.close_rcvd.code})")


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", "")


async def http_checks(url, label):
    """Plain HTTP beside the WebSocket: the page, a refused plain GET, a
    refused foreign Origin (the default policy compares Origin with Host)."""
    host, path = url.split("/", 3)[2:]
    status, kind = http_status(f"http://{host}/")
    check(status == 200 and kind.startswith("text/html"), f"GET / gave {status} {kind!r}")
    status, _ = http_status(f"http://{host}/{path}")
    check(400 <= status < 500, f"plain GET of the WebSocket path gave {status}, not 4xx")
    try:
        async with connect(url, origin="http://elsewhere.example", open_timeout=10):
            raise Failure("a foreign Origin was accepted")
    except InvalidStatus as e:
        check(e.response.status_code == 403, f"foreign Origin got {e.response.status_code}")
    print(f"[{label}] ok: GET / is an HTML page, plain GET /{path} is "
          f"refused with {status}, a foreign Origin with 403")


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--label", default="websockets")
    args = parser.parse_args()
    print(f"python websockets {websockets.__version__} on Python {sys.version.split()[0]}")
    await http_checks(args.url, args.label)
    for compression in (None, "deflate"):
        await exchange(args.url, compression, f"{args.label}, compression={compression}")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # connection refused, timeouts, protocol errors
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
