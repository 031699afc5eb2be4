"""Many idle WebSocket connections plus a busy one, against one server.

    python idle_load.py ws://127.0.0.1:PORT/echo --idle 2000 [--pid PID] [--compression deflate|none]

Opens --idle connections that then sit idle, runs 1 MiB echoes on one more
connection meanwhile (it must not wait behind the idle ones), then checks that
every idle connection still answers a ping and a small echo. With --pid,
reports the server's resident memory before and after the idle connections
open (Linux /proc), so that per-connection memory is visible, and checks
backpressure: a client that sends 1 MiB messages without reading the echoes
must stall (before 128 MiB), with the server's memory bounded, and then get
every echo intact.

Every connection offers permessage-deflate unless --compression none (the
default, deflate, is websockets' default offer); with it, the busy connection
must have it in use. The backpressure payloads are random, so that
compression cannot shrink them into what the socket buffers hold anyway.
"""

import argparse
import asyncio
import os
import sys
import time

from websockets.asyncio.client import connect


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--pid", type=int)
    parser.add_argument("--compression", choices=["deflate", "none"], default="deflate")
    args = parser.parse_args()
    compression = None if args.compression == "none" else "deflate"
    before = rss_kib(args.pid) if args.pid else None

    idle = []
    sem = asyncio.Semaphore(200)  # bound the handshakes in flight

    async def open_one():
        async with sem:
            ws = await connect(args.url, compression=compression, open_timeout=20, ping_interval=None)
            idle.append(ws)

    started = time.monotonic()
    await asyncio.gather(*(open_one() for _ in range(args.idle)))
    opened = time.monotonic() - started
    after = rss_kib(args.pid) if args.pid else None

    async with connect(args.url, compression=compression, max_size=None) as busy:
        in_use = [e.name for e in busy.protocol.extensions]
        if in_use != ([] if compression is None else ["permessage-deflate"]):
            raise SystemExit(f"FAIL: compression={compression} but extensions in use: {in_use}")
        data = os.urandom(1 << 20)
        started = time.monotonic()
        for _ in range(10):
            await busy.send(data)
            if await busy.recv() != data:
                raise SystemExit("FAIL: busy echo corrupted")
        busy_time = time.monotonic() - started

    backpressure = ""
    if args.pid:
        backpressure = await slow_reader(args.url, args.pid, compression)

    async def still_alive(ws, i):
        await asyncio.wait_for(await ws.ping(), 20)
        await ws.send(f"idle {i}")
        if await asyncio.wait_for(ws.recv(), 20) != f"idle {i}":
            raise SystemExit(f"FAIL: idle connection {i} echoed wrong")
        await ws.close()

    await asyncio.gather(*(still_alive(ws, i) for i, ws in enumerate(idle)))
    memory = ""
    if before is not None:
        per = (after - before) / args.idle
        memory = f"; server RSS {before} KiB -> {after} KiB with them open ({per:.1f} KiB each)"
    print(f"[idle load] ok: compression={compression}: {args.idle} idle connections opened in {opened:.1f}s, "
          f"10 x 1 MiB echoes meanwhile in {busy_time:.2f}s, all idle ones then "
          f"answered ping + echo{memory}{backpressure}")


async def slow_reader(url, pid, compression):
    """Sends 1 MiB messages without reading the echoes until the sends stall
    (up to 128 MiB): the server must stop reading once its output for this
    peer backs up, so the sends stall with its memory bounded; then every echo
    must arrive intact. Where the stall comes depends on the kernel's socket
    buffers (receive buffers autotune up to net.ipv4.tcp_rmem's maximum, 32 MiB
    here) and websockets' receive queue, hence the margin."""
    cap, size = 128, 1 << 20
    noise = os.urandom(size)  # incompressible; message i starts with byte i

    def message(i):
        return bytes([i % 256]) + noise[1:]

    before = rss_kib(pid)
    async with connect(url, compression=compression, max_size=None, ping_interval=None) as ws:
        sent, stop = 0, False

        async def sender():
            nonlocal sent
            for i in range(cap):
                if stop:
                    break
                await ws.send(message(i))
                sent += 1

        task = asyncio.create_task(sender())
        # Wait (bounded) until the sends stop making progress.
        last, still = -1, 0
        for _ in range(400):
            await asyncio.sleep(0.05)
            if task.done():
                raise SystemExit(f"FAIL: all {cap} MiB were taken without the echoes being read")
            still = still + 1 if sent == last else 0
            last = sent
            if still >= 10:
                break
        else:
            raise SystemExit(f"FAIL: the sends did not stall within 20s ({sent} MiB sent)")
        stalled_rss = rss_kib(pid)
        grown = (stalled_rss - before) // 1024
        if grown > 32:
            raise SystemExit(f"FAIL: server memory grew by {grown} MiB under a non-reading peer")
        stop = True  # the send in flight completes once the echoes are read
        received = 0
        while not (task.done() and received == sent):
            echo = await asyncio.wait_for(ws.recv(), 20)
            if echo != message(received):
                raise SystemExit(f"FAIL: echo {received} of the slow reader is wrong")
            received += 1
        await task
    return (f"; a non-reading peer stalled after {last} MiB (cap {cap}) with server RSS "
            f"+{grown} MiB, then got all {received} echoes")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
