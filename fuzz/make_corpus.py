#!/usr/bin/env python3
"""Writes the hand-made seed corpus into fuzz/corpus/<target>/.

The seeds are RFC 6455 section 5.7 example frames, the section 1.2 handshake,
a Chrome handshake like the one in tests/handshake.rs, a few frames of each
kind and a few malformed inputs. Each stream target reads 4 parameter bytes
first (see wsmachine::fuzzing::StreamParams); handshake_request reads 3 limit
bytes; inflate reads a switch byte and a u16 limit, then length-prefixed
frames. pair_ops seeds are kept from a short fuzzing run (minimised), since
its input is decoded by `arbitrary`.

Run from anywhere: python3 fuzz/make_corpus.py
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


def frame(b0, payload, mask=None):
    out = bytearray([b0])
    bit = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        out.append(bit | n)
    elif n <= 0xFFFF:
        out.append(bit | 126)
        out += struct.pack(">H", n)
    else:
        out.append(bit | 127)
        out += struct.pack(">Q", n)
    if mask:
        out += mask
        out += bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    else:
        out += payload
    return bytes(out)


MASK = bytes([0x37, 0xFA, 0x21, 0x3D])  # the RFC 6455 section 5.7 key

RFC_REQUEST = (
    b"GET /chat HTTP/1.1\r\n"
    b"Host: server.example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Origin: http://example.com\r\n"
    b"Sec-WebSocket-Protocol: chat, superchat\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)
CHROME_REQUEST = (
    b"GET /echo HTTP/1.1\r\n"
    b"Host: localhost:8080\r\n"
    b"Connection: Upgrade\r\n"
    b"Pragma: no-cache\r\n"
    b"Cache-Control: no-cache\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n"
    b"Upgrade: websocket\r\n"
    b"Origin: http://localhost:8080\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"Accept-Encoding: gzip, deflate, br, zstd\r\n"
    b"Accept-Language: en-US,en;q=0.9\r\n"
    b"Cookie: session=abc123; theme=dark\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
)
MINIMAL_REQUEST = (
    b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
DEFLATE_REQUEST = MINIMAL_REQUEST[:-2] + b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
# RFC 7692 section 7.2.3.1: "Hello" compresses to f2 48 cd c9 c9 07 00.
HELLO_DEFLATED = bytes([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
COMPRESSED_FRAMES = {
    "compressed_hello": frame(0xC1, HELLO_DEFLATED),
    "compressed_twice": frame(0xC1, HELLO_DEFLATED) + frame(0xC1, bytes([0xF2, 0x00, 0x11, 0x00, 0x00])),
    "compressed_fragments": frame(0x41, HELLO_DEFLATED[:3]) + frame(0x80, HELLO_DEFLATED[3:]),
    "compressed_corrupt": frame(0xC2, b"\xff\xff\xff"),
    "rsv1_on_continuation": frame(0x41, HELLO_DEFLATED) + frame(0xC0, b""),
}
BAD_REQUESTS = {
    "post": RFC_REQUEST.replace(b"GET", b"POST", 1),
    "http10": RFC_REQUEST.replace(b"HTTP/1.1", b"HTTP/1.0", 1),
    "version8": RFC_REQUEST.replace(b"Version: 13", b"Version: 8"),
    "badkey": RFC_REQUEST.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"short"),
    "nohost": RFC_REQUEST.replace(b"Host: server.example.com\r\n", b""),
    "bare_lf": RFC_REQUEST.replace(b"\r\n", b"\n"),
    "many_headers": RFC_REQUEST[:-2] + b"".join(b"X-%d: y\r\n" % i for i in range(80)) + b"\r\n",
    "garbage": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
}

# RFC 6455 section 5.7, unmasked (server to client) and masked (client to server).
HELLO = b"Hello"
SERVER_FRAMES = {
    "text_hello": frame(0x81, HELLO),
    "fragmented_hello": frame(0x01, b"Hel") + frame(0x80, b"lo"),
    "ping_hello": frame(0x89, HELLO),
    "pong_hello": frame(0x8A, HELLO),
    "binary_256": frame(0x82, bytes(range(256))),
    "binary_64k_header": bytes([0x82, 0x7F]) + struct.pack(">Q", 65536),
    "close_1000": frame(0x88, struct.pack(">H", 1000) + b"bye"),
    "close_empty": frame(0x88, b""),
    "ping_between_fragments": frame(0x01, b"He") + frame(0x89, b"p") + frame(0x80, b"llo"),
    "utf8_split": frame(0x01, "é".encode()[:1]) + frame(0x80, "é".encode()[1:]),
    "huge_length": bytes([0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
    "msb_length": bytes([0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]),
    "reserved_opcode": frame(0x83, b"x"),
    "rsv1": frame(0xC1, b"x"),
    "bad_utf8": frame(0x81, b"\xff\xfe"),
    "bad_close_code": frame(0x88, struct.pack(">H", 1005)),
    "many_tiny_fragments": frame(0x02, b"a") + b"".join(frame(0x00, b"a") for _ in range(40)) + frame(0x80, b"a"),
}


def masked(frames):
    """The same frames as a client sends them (masked with the RFC key)."""
    out = bytearray()
    data = frames
    while data:
        b0, b1 = data[0], data[1]
        n = b1 & 0x7F
        at = 2
        if n == 126:
            n = struct.unpack(">H", data[2:4])[0]
            at = 4
        elif n == 127:
            n = struct.unpack(">Q", data[2:10])[0]
            at = 10
        payload = data[at:at + n]
        if len(payload) < n:  # a header alone: keep it, masked
            out += frame(b0, b"", MASK)[:1] + bytes([b1 | 0x80]) + data[2:at] + MASK
            break
        out += frame(b0, payload, MASK)
        data = data[at + n:]
    return bytes(out)


# Parameter bytes (see StreamParams::from_bytes): b0 = frame idx | message
# idx << 3 | no auto-pong 0x40 | never read 0x80; b1 = fragments idx |
# handshake idx << 3 | headers idx << 5 | same-host origin 0x80; b2 = seed,
# 0x80 = no valid 101 (client); b3 = chunk 1 << (b3 % 13).
PARAMS = {
    "whole": bytes([6 | 5 << 3, 4 | 3 << 3 | 3 << 5, 1, 12]),
    "bytewise": bytes([6 | 5 << 3, 4 | 3 << 3 | 3 << 5, 1, 0]),
    "small": bytes([2 | 2 << 3, 2 | 0 << 3 | 0 << 5, 7, 3]),
    "noread": bytes([6 | 5 << 3 | 0x80, 7 | 3 << 3 | 3 << 5, 3, 5]),
}

RFC_FRAME_EXAMPLES = {
    "rfc_text_unmasked": bytes([0x81, 0x05]) + HELLO,
    "rfc_text_masked": bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]),
    "rfc_fragment_1": bytes([0x01, 0x03, 0x48, 0x65, 0x6C]),
    "rfc_fragment_2": bytes([0x80, 0x02, 0x6C, 0x6F]),
    "rfc_ping": bytes([0x89, 0x05]) + HELLO,
    "rfc_pong_masked": bytes([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]),
    "rfc_256": bytes([0x82, 0x7E, 0x01, 0x00]),
    "rfc_64k": bytes([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]),
    "len126_masked": bytes([0x82, 0xFE, 0x00, 0x7E]) + MASK,
    "len127_masked": bytes([0x02, 0xFF, 0, 0, 0, 0, 0, 0x01, 0, 0]) + MASK,
    "non_minimal_len": bytes([0x82, 0x7E, 0x00, 0x05]),
    "reserved_opcode": bytes([0x8B, 0x00]),
    "fragmented_ping": bytes([0x09, 0x00]),
    "long_ping": bytes([0x89, 0x7E, 0x00, 0x7E]),
}


def main():
    for name, data in RFC_FRAME_EXAMPLES.items():
        write("frame_header", name, data)

    for pname, p in PARAMS.items():
        for rname, req in [("rfc", RFC_REQUEST), ("chrome", CHROME_REQUEST), ("minimal", MINIMAL_REQUEST)]:
            write("server_stream", f"{pname}_{rname}_only", p + req)
        for fname, frames in SERVER_FRAMES.items():
            write("server_stream", f"{pname}_{fname}", p + MINIMAL_REQUEST + masked(frames))
            write("client_stream", f"{pname}_{fname}", p + frames)
    for bname, req in BAD_REQUESTS.items():
        write("server_stream", f"bad_{bname}", PARAMS["whole"] + req)
    for fname, frames in COMPRESSED_FRAMES.items():
        write("server_stream", f"deflate_{fname}", PARAMS["whole"] + DEFLATE_REQUEST + masked(frames))
        write("server_stream", f"deflate_bytewise_{fname}", PARAMS["bytewise"] + DEFLATE_REQUEST + masked(frames))
        # b2 bit 6: the 101 accepts permessage-deflate.
        write("client_stream", f"deflate_{fname}", bytes([6 | 5 << 3, 4 | 3 << 3 | 3 << 5, 0x41, 12]) + frames)
    write("server_stream", "unmasked_after_handshake", PARAMS["whole"] + MINIMAL_REQUEST + frame(0x81, HELLO))
    write("client_stream", "masked_frame", PARAMS["whole"] + frame(0x81, HELLO, MASK))
    # Without the valid 101, the fuzzed bytes are the response itself.
    refusal = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!"
    write("client_stream", "refusal", bytes([6, 4, 0x81, 12]) + refusal)
    write("client_stream", "wrong_accept", bytes([6, 4, 0x81, 12]) +
          b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")

    limits = bytes([0x20, 0x00, 64 | 0x80])  # 8 KiB, 64 headers, any origin
    strict = bytes([0x01, 0x00, 8])  # 256 bytes, 8 headers, same host
    for name, req in [("rfc", RFC_REQUEST), ("chrome", CHROME_REQUEST), ("minimal", MINIMAL_REQUEST)]:
        write("handshake_request", f"{name}", limits + req)
        write("handshake_request", f"{name}_strict", strict + req)
    for name, req in BAD_REQUESTS.items():
        write("handshake_request", f"bad_{name}", limits + req)
    write("handshake_request", "zero_limits", bytes([0, 0, 0]) + MINIMAL_REQUEST)

    def raw_deflate(chunks, sync=True):
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        frames = []
        for i, chunk in enumerate(chunks):
            data = c.compress(chunk)
            if i + 1 == len(chunks):
                data += c.flush(zlib.Z_SYNC_FLUSH)
                assert data.endswith(b"\x00\x00\xff\xff")
                data = data[:-4]
            frames.append(data)
        return frames

    def frames_of(messages):
        out = bytearray()
        for frames in messages:
            for i, f in enumerate(frames):
                word = len(f) | (0x8000 if i + 1 == len(frames) else 0)
                out += struct.pack(">H", word) + f
        return bytes(out)

    # RFC 7692 section 7.2.3.1: "Hello" compresses to f2 48 cd c9 c9 07 00.
    hello = bytes([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
    write("inflate", "rfc7692_hello", bytes([15 - 8, 0x04, 0x00]) + frames_of([[hello], [hello]]))
    write("inflate", "rfc7692_hello_no_takeover", bytes([8 | 7, 0x04, 0x00]) + frames_of([[hello]]))
    write("inflate", "fragmented", bytes([7, 0xFF, 0xFF]) + frames_of([raw_deflate([b"Hello, ", b"World" * 20])]))
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb_data = bomb.compress(bytes(300_000)) + bomb.flush(zlib.Z_SYNC_FLUSH)
    write("inflate", "bomb", bytes([7, 0x10, 0x00]) + frames_of([[bomb_data[:-4][:0x7FFF]]]))
    write("inflate", "stored_block", bytes([7, 0x00, 0xFF]) + frames_of([[b"\x00\x05\x00\xfa\xffhello"]]))
    write("inflate", "bfinal", bytes([7, 0x00, 0xFF]) + frames_of([[bytes([0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])], [hello]]))
    write("inflate", "corrupt", bytes([7, 0x00, 0xFF]) + frames_of([[b"\xff\xff\xff\xff"], [hello]]))
    write("inflate", "roundtrip", bytes([32 | 7, 0xFF, 0xFF]) + frames_of([[b"Hello, ", b"World"], [b"x" * 300]]))
    # Bit 6: through a server Connection that negotiated permessage-deflate.
    write("inflate", "connection_hello", bytes([64 | 32 | 7, 0x04, 0x00]) + frames_of([[hello], [hello]]))
    write("inflate", "connection_fragmented_small_chunks", bytes([128 | 64 | 8 | 2, 0xFF, 0xFF]) + frames_of([raw_deflate([b"Hello, ", b"World" * 20])]))
    write("inflate", "connection_bomb", bytes([64 | 7, 0x10, 0x00]) + frames_of([[bomb_data[:-4][:0x7FFF]]]))
    write("inflate", "connection_corrupt", bytes([64 | 7, 0x00, 0xFF]) + frames_of([[b"\xff\xff\xff\xff"]]))
    write("inflate", "roundtrip_window8", bytes([32 | 8 | 0, 0xFF, 0xFF]) + frames_of([[bytes(range(256)) * 3]]))


if __name__ == "__main__":
    main()
