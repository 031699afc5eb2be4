// xnet_client: a golang.org/x/net/websocket client that runs a fixed script
// of cases against a WebSocket echo server and exits non-zero if any fails.
// An interop peer for wsmachine's servers (tests/interop/go.sh).
//
//	xnet_client -url ws://127.0.0.1:PORT/echo -origin http://127.0.0.1:PORT [-label NAME]
//	xnet_client -url ws://127.0.0.1:PORT/echo -origin http://localhost/ -expect-status 403
//
// x/net always sends the Origin it is given (its own examples use
// http://localhost/). With -expect-status the handshake must be refused with
// that HTTP status and nothing else is run.
//
// x/net hides control frames (it answers pings, drops pongs and turns a close
// frame into io.EOF) and cannot send a fragmented message, so this client
// keeps a copy of the bytes it reads off the socket and parses the server's
// frames itself to see the pong and the close code. Cases: text, binary,
// empty text, empty binary, non-ASCII, 1 MiB text and binary, ping/pong (a
// ping written as PayloadType = PingFrame, its pong found on the wire) and
// close 1000 and 4000 (sent as a close frame, the server's close frame must
// carry the same code).
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/websocket"
)

var (
	url          = flag.String("url", "", "ws:// URL of the echo server")
	origin       = flag.String("origin", "http://localhost/", "the Origin header x/net sends")
	label        = flag.String("label", "", "name printed with each result")
	expectStatus = flag.Int("expect-status", 0, "expect the handshake refused with this HTTP status")
	deadline     = flag.Duration("timeout", 20*time.Second, "deadline of the whole connection")
)

var passed, failed int

func result(name string, err error) {
	if err != nil {
		failed++
		fmt.Printf("FAIL x/net -> %s: %s: %v\n", *label, name, err)
	} else {
		passed++
		fmt.Printf("ok   x/net -> %s: %s\n", *label, name)
	}
}

func main() {
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "xnet_client: -url is required")
		os.Exit(2)
	}
	if *label == "" {
		*label = *url
	}
	if *expectStatus != 0 {
		result(fmt.Sprintf("Origin %s refused with %d", *origin, *expectStatus), refused(*expectStatus))
	} else {
		echoCases()
	}
	fmt.Printf("x/net client -> %s: %d passed, %d failed\n", *label, passed, failed)
	if failed > 0 || passed == 0 {
		os.Exit(1)
	}
}

// tapConn is the TCP connection x/net reads from, keeping a copy of what it
// read since the last reset.
type tapConn struct {
	net.Conn
	mu   sync.Mutex
	seen []byte
}

func (t *tapConn) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	t.mu.Lock()
	t.seen = append(t.seen, p[:n]...)
	t.mu.Unlock()
	return n, err
}

func (t *tapConn) take() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := t.seen
	t.seen = nil
	return seen
}

func dial() (*websocket.Conn, *tapConn, error) {
	config, err := websocket.NewConfig(*url, *origin)
	if err != nil {
		return nil, nil, err
	}
	raw, err := net.DialTimeout("tcp", config.Location.Host, *deadline)
	if err != nil {
		return nil, nil, err
	}
	raw.SetDeadline(time.Now().Add(*deadline))
	tap := &tapConn{Conn: raw}
	ws, err := websocket.NewClient(config, tap)
	if err != nil {
		raw.Close()
		return nil, tap, err
	}
	return ws, tap, nil
}

// refused: the handshake fails and the status line read off the wire has
// the expected status (x/net itself only says "bad status").
func refused(status int) error {
	ws, tap, err := dial()
	if err == nil {
		ws.Close()
		return errors.New("the handshake succeeded")
	}
	if tap == nil {
		return err
	}
	defer tap.Close()
	line, _, _ := strings.Cut(string(tap.take()), "\r\n")
	want := "HTTP/1.1 " + strconv.Itoa(status) + " "
	if !strings.HasPrefix(line+" ", want) {
		return fmt.Errorf("x/net said %v; the status line was %q, expected %q", err, line, want)
	}
	return nil
}

// typed is a codec that also reports the frame type received.
var typed = websocket.Codec{
	Marshal: func(v interface{}) ([]byte, byte, error) {
		m := v.(message)
		return m.data, m.kind, nil
	},
	Unmarshal: func(data []byte, kind byte, v interface{}) error {
		m := v.(*message)
		m.data, m.kind = data, kind
		return nil
	},
}

type message struct {
	kind byte
	data []byte
}

func echo(ws *websocket.Conn, kind byte, payload []byte) error {
	if err := typed.Send(ws, message{kind, payload}); err != nil {
		return err
	}
	var got message
	if err := typed.Receive(ws, &got); err != nil {
		return err
	}
	if got.kind != kind {
		return fmt.Errorf("sent frame type %d, echo has type %d", kind, got.kind)
	}
	if !bytes.Equal(got.data, payload) {
		return fmt.Errorf("sent %d bytes, echo has %d bytes that differ", len(payload), len(got.data))
	}
	return nil
}

// frame is one server frame parsed from the bytes read.
type frame struct {
	fin     bool
	opcode  byte
	payload []byte
}

// frames parses unmasked server frames (RFC 6455 5.2) from b.
func frames(b []byte) ([]frame, error) {
	var out []frame
	for len(b) > 0 {
		if len(b) < 2 {
			return out, errors.New("truncated frame header")
		}
		f := frame{fin: b[0]&0x80 != 0, opcode: b[0] & 0x0f}
		if b[1]&0x80 != 0 {
			return out, errors.New("a masked frame from the server")
		}
		n, head := uint64(b[1]&0x7f), 2
		switch n {
		case 126:
			if len(b) < 4 {
				return out, errors.New("truncated length")
			}
			n, head = uint64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return out, errors.New("truncated length")
			}
			n, head = binary.BigEndian.Uint64(b[2:]), 10
		}
		if uint64(len(b)-head) < n {
			return out, errors.New("truncated payload")
		}
		f.payload = b[head : head+int(n)]
		out = append(out, f)
		b = b[head+int(n):]
	}
	return out, nil
}

func echoCases() {
	r := rand.New(rand.NewSource(6455))
	ws, tap, err := dial()
	result(fmt.Sprintf("handshake with Origin %s", *origin), err)
	if err != nil {
		return
	}
	defer ws.Close()

	random := make([]byte, 1000)
	r.Read(random)
	big := make([]byte, 1<<20)
	r.Read(big)
	bigText := bytes.Repeat([]byte(`{"name": "Zürich", "n": 1, "ok": true} `), (1<<20)/40)

	result("text", echo(ws, websocket.TextFrame, []byte("Hello from x/net/websocket")))
	result("binary (1000 random bytes)", echo(ws, websocket.BinaryFrame, random))
	result("empty text", echo(ws, websocket.TextFrame, []byte{}))
	result("empty binary", echo(ws, websocket.BinaryFrame, []byte{}))
	result("non-ASCII text", echo(ws, websocket.TextFrame, []byte("héllo wörld — ☃ 🦀 日本語 Ωμέγα")))
	result("1 MiB text (JSON-like)", echo(ws, websocket.TextFrame, bigText))
	result("1 MiB binary (random)", echo(ws, websocket.BinaryFrame, big))

	// Ping: nothing is pending, so every byte read from here on is the
	// server's answer to what follows.
	tap.take()
	ws.PayloadType = websocket.PingFrame
	_, err = ws.Write([]byte("xnet-ping"))
	ws.PayloadType = websocket.TextFrame
	if err == nil {
		err = echo(ws, websocket.TextFrame, []byte("after the ping"))
	}
	if err == nil {
		err = pongFirst(tap.take(), "xnet-ping")
	}
	result("ping/pong (pong with the ping's payload, before the next echo)", err)
	result("close 1000", closeWith(ws, tap, 1000))

	for _, code := range []int{4000, 1001} {
		ws, tap, err := dial()
		if err == nil {
			err = echo(ws, websocket.TextFrame, []byte("before close"))
		}
		if err == nil {
			err = closeWith(ws, tap, code)
		}
		result(fmt.Sprintf("close %d (new connection)", code), err)
	}
}

func pongFirst(seen []byte, payload string) error {
	fs, err := frames(seen)
	if err != nil {
		return fmt.Errorf("parsing the server's frames: %w", err)
	}
	if len(fs) != 2 || fs[0].opcode != 0xA || string(fs[0].payload) != payload || fs[1].opcode != 0x1 {
		desc := []string{}
		for _, f := range fs {
			desc = append(desc, fmt.Sprintf("opcode %d %q", f.opcode, f.payload))
		}
		return fmt.Errorf("expected a pong %q then the text echo, the server sent: %v", payload, desc)
	}
	return nil
}

// closeWith writes a close frame with code (x/net has no call for a code of
// one's choice: the close frame is written as a frame of PayloadType 8),
// waits for x/net to report the server's close (io.EOF), and checks the code
// in the server's close frame read off the wire.
func closeWith(ws *websocket.Conn, tap *tapConn, code int) error {
	tap.take()
	body := binary.BigEndian.AppendUint16(nil, uint16(code))
	ws.PayloadType = websocket.CloseFrame
	_, err := ws.Write(append(body, "bye"...))
	ws.PayloadType = websocket.TextFrame
	if err != nil {
		return err
	}
	var rest message
	err = typed.Receive(ws, &rest)
	tap.Close() // x/net's Close would send a second close frame
	if err != io.EOF {
		return fmt.Errorf("expected io.EOF (the server's close), got %v", err)
	}
	fs, err := frames(tap.take())
	if err != nil {
		return fmt.Errorf("parsing the server's frames: %w", err)
	}
	if len(fs) != 1 || fs[0].opcode != 0x8 || len(fs[0].payload) < 2 {
		return fmt.Errorf("expected one close frame with a code, got %d frame(s)", len(fs))
	}
	if got := int(binary.BigEndian.Uint16(fs[0].payload)); got != code {
		return fmt.Errorf("sent close %d, the server's close has %d", code, got)
	}
	return nil
}
