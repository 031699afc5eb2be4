// gorilla_client: a gorilla/websocket client that runs a fixed script of
// cases against a WebSocket echo server, or (with -chat N) N clients in a
// chat room shaped like gorilla's chat example, and exits non-zero if any
// case fails. An interop peer for wsmachine's servers (tests/interop/go.sh).
//
//	gorilla_client -url ws://127.0.0.1:PORT/echo [-compress] [-label NAME]
//	gorilla_client -url ws://127.0.0.1:PORT/ws -chat 3
//
// Echo cases (one connection, then one per close code): text, binary, empty
// text, empty binary, non-ASCII text, 1 MiB text and binary, fragmented text
// and binary (NextWriter: gorilla cuts the message into several frames, a
// multi-byte character straddling frame ends), a ping sent between two
// fragments of a message, ping/pong, and close 1000 and 4000 echoed back.
// With -compress, Dialer.EnableCompression (permessage-deflate, no context
// takeover) must be accepted by the server; without it, no extension may be.
//
// Chat: N clients join; each says "join I" and waits for its own echo
// (which proves the hub has it), then, once all have, each says one line and
// must receive every client's line as {"uid": N, "msg": "..."}, with the uid
// the room gave its author.
//
// Every read has a deadline; the exit status is 1 on any failure.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

var (
	url      = flag.String("url", "", "ws:// URL of the echo server (or of the chat room with -chat)")
	compress = flag.Bool("compress", false, "offer permessage-deflate and require it accepted")
	label    = flag.String("label", "", "name printed with each result")
	chat     = flag.Int("chat", 0, "run N chat clients instead of the echo cases")
	deadline = flag.Duration("timeout", 20*time.Second, "deadline of each read and write")
)

var passed, failed int

func result(name string, err error) {
	if err != nil {
		failed++
		fmt.Printf("FAIL gorilla -> %s: %s: %v\n", *label, name, err)
	} else {
		passed++
		fmt.Printf("ok   gorilla -> %s: %s\n", *label, name)
	}
}

func main() {
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "gorilla_client: -url is required")
		os.Exit(2)
	}
	if *label == "" {
		*label = *url
	}
	if *chat > 0 {
		result(fmt.Sprintf("chat room, %d clients see each other's messages", *chat), chatRoom(*chat))
	} else {
		echoCases()
	}
	fmt.Printf("gorilla client -> %s: %d passed, %d failed\n", *label, passed, failed)
	if failed > 0 || passed == 0 {
		os.Exit(1)
	}
}

func dial() (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: *deadline, EnableCompression: *compress}
	return d.Dial(*url, nil)
}

// echo sends one message with WriteMessage and checks the echo.
func echo(c *websocket.Conn, kind int, payload []byte) error {
	c.SetWriteDeadline(time.Now().Add(*deadline))
	if err := c.WriteMessage(kind, payload); err != nil {
		return err
	}
	return expect(c, kind, payload)
}

// expect reads the next message and compares it with what was sent.
func expect(c *websocket.Conn, kind int, payload []byte) error {
	c.SetReadDeadline(time.Now().Add(*deadline))
	got, data, err := c.ReadMessage()
	if err != nil {
		return err
	}
	if got != kind {
		return fmt.Errorf("sent message type %d, echo has type %d", kind, got)
	}
	if !bytes.Equal(data, payload) {
		return fmt.Errorf("sent %d bytes, echo has %d bytes that differ", len(payload), len(data))
	}
	return nil
}

// fragmented writes payload through NextWriter in pieces of `piece` bytes;
// gorilla flushes a frame each time its write buffer (4 KiB) fills, so a
// message of several buffers goes out as several frames. If pingAfter > 0,
// a ping is sent once that many bytes have been written (between frames).
func fragmented(c *websocket.Conn, kind int, payload []byte, piece, pingAfter int, ping []byte) error {
	c.SetWriteDeadline(time.Now().Add(*deadline))
	w, err := c.NextWriter(kind)
	if err != nil {
		return err
	}
	pinged := false
	for off := 0; off < len(payload); off += piece {
		end := off + piece
		if end > len(payload) {
			end = len(payload)
		}
		if _, err := w.Write(payload[off:end]); err != nil {
			return err
		}
		if pingAfter > 0 && !pinged && end >= pingAfter {
			if err := c.WriteControl(websocket.PingMessage, ping, time.Now().Add(*deadline)); err != nil {
				return fmt.Errorf("ping between fragments: %w", err)
			}
			pinged = true
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return expect(c, kind, payload)
}

// randomText is n bytes of UTF-8 that deflate cannot shrink much, with
// multi-byte characters everywhere (so frame ends fall inside them).
func randomText(r *rand.Rand, n int) []byte {
	alphabet := []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éüßжπ日本語🦀☃")
	var b strings.Builder
	for b.Len() < n {
		b.WriteRune(alphabet[r.Intn(len(alphabet))])
	}
	return []byte(b.String())
}

func echoCases() {
	r := rand.New(rand.NewSource(6455))
	c, resp, err := dial()
	result("handshake", err)
	if err != nil {
		return
	}
	defer c.Close()
	accepted := resp.Header.Get("Sec-WebSocket-Extensions")
	switch {
	case *compress && !strings.HasPrefix(accepted, "permessage-deflate"):
		result("permessage-deflate negotiated", fmt.Errorf("offered it, response accepted %q", accepted))
	case *compress:
		result(fmt.Sprintf("permessage-deflate negotiated (%s)", accepted), nil)
	case accepted != "":
		result("no extension without an offer", fmt.Errorf("offered nothing, response accepted %q", accepted))
	}

	pongs := make(chan string, 4)
	c.SetPongHandler(func(data string) error {
		pongs <- data
		return nil
	})
	pongWas := func(want string) error {
		select {
		case got := <-pongs:
			if got != want {
				return fmt.Errorf("pong payload %q, ping was %q", got, want)
			}
			return nil
		default:
			return errors.New("no pong arrived before the echo that followed the ping")
		}
	}

	random := make([]byte, 1000)
	r.Read(random)
	big := make([]byte, 1<<20)
	r.Read(big)
	// JSON-like text of 1 MiB (compressible), non-ASCII included.
	var js strings.Builder
	for i := 0; js.Len() < 1<<20-100; i++ {
		fmt.Fprintf(&js, `{"id": %d, "name": "user-%d", "city": "Zürich", "tags": ["a", "b"]}, `, i, i%97)
	}
	bigText := []byte(js.String())
	patterned := make([]byte, 64<<10)
	for i := range patterned {
		patterned[i] = byte(i % 251)
	}

	result("text", echo(c, websocket.TextMessage, []byte("Hello from gorilla/websocket")))
	result("binary (1000 random bytes)", echo(c, websocket.BinaryMessage, random))
	result("empty text", echo(c, websocket.TextMessage, []byte{}))
	result("empty binary", echo(c, websocket.BinaryMessage, []byte{}))
	result("non-ASCII text", echo(c, websocket.TextMessage, []byte("héllo wörld — ☃ 🦀 日本語 Ωμέγα")))
	result("patterned binary (64 KiB)", echo(c, websocket.BinaryMessage, patterned))
	result("1 MiB text (JSON-like)", echo(c, websocket.TextMessage, bigText))
	result("1 MiB binary (random)", echo(c, websocket.BinaryMessage, big))
	result("fragmented text (20 KiB in 1500-byte writes, several frames)",
		fragmented(c, websocket.TextMessage, randomText(r, 20<<10), 1500, 0, nil))
	result("fragmented binary (20 KiB in 1000-byte writes, several frames)",
		fragmented(c, websocket.BinaryMessage, big[:20<<10], 1000, 0, nil))
	// Gorilla flushes a frame per 4 KiB buffer, or with compression per
	// 64 KiB of input (compress/flate at BestSpeed): 72 KiB in, frames are out.
	mid := randomText(r, 96<<10)
	err = fragmented(c, websocket.TextMessage, mid, 2000, 72<<10, []byte("between fragments"))
	if err == nil {
		err = pongWas("between fragments")
	}
	result("ping after 72 KiB of a 96 KiB fragmented message, its pong, then the echo", err)

	c.SetWriteDeadline(time.Now().Add(*deadline))
	err = c.WriteControl(websocket.PingMessage, []byte("ping-42"), time.Now().Add(*deadline))
	if err == nil {
		err = echo(c, websocket.TextMessage, []byte("after the ping"))
	}
	if err == nil {
		err = pongWas("ping-42")
	}
	result("ping/pong (payload echoed in the pong)", err)
	result("close 1000", closeWith(c, websocket.CloseNormalClosure, "bye"))

	for _, code := range []int{4000, 1001} {
		c, _, err := dial()
		if err == nil {
			err = echo(c, websocket.TextMessage, []byte("before close"))
		}
		if err == nil {
			err = closeWith(c, code, "custom")
			c.Close()
		}
		result(fmt.Sprintf("close %d (new connection)", code), err)
	}
}

// closeWith sends a close frame with code and checks the server's close
// frame carries the same code back (RFC 6455 5.5.1: the endpoint "typically
// echos the status code it received").
func closeWith(c *websocket.Conn, code int, reason string) error {
	msg := websocket.FormatCloseMessage(code, reason)
	if err := c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(*deadline)); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(*deadline))
	for i := 0; i < 100; i++ {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var closeErr *websocket.CloseError
		if !errors.As(err, &closeErr) {
			return fmt.Errorf("expected the server's close frame, got %v", err)
		}
		if closeErr.Code != code {
			return fmt.Errorf("sent close %d, the server's close has %d", code, closeErr.Code)
		}
		return nil
	}
	return errors.New("no close frame after 100 messages")
}

type chatMessage struct {
	UID  int    `json:"uid"`
	Msg  string `json:"msg"`
	text string
}

// chatClient is one member of the room: its connection and what it reads,
// decoded, on a channel (the read pump of gorilla's chat client).
type chatClient struct {
	id       int
	conn     *websocket.Conn
	incoming chan chatMessage
	errs     chan error
	uid      int
}

func (cl *chatClient) readPump() {
	defer close(cl.incoming)
	for {
		cl.conn.SetReadDeadline(time.Now().Add(*deadline))
		kind, data, err := cl.conn.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				cl.errs <- err
			}
			return
		}
		if kind != websocket.TextMessage {
			cl.errs <- fmt.Errorf("client %d: a binary message in the room", cl.id)
			return
		}
		var m chatMessage
		if err := json.Unmarshal(data, &m); err != nil {
			cl.errs <- fmt.Errorf("client %d: %q is not {\"uid\": N, \"msg\": \"...\"}: %v", cl.id, data, err)
			return
		}
		m.text = string(data)
		cl.incoming <- m
	}
}

// next is the next message whose msg starts with prefix; others are skipped.
func (cl *chatClient) next(prefix string) (chatMessage, error) {
	timer := time.NewTimer(*deadline)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-cl.incoming:
			if !ok {
				select {
				case err := <-cl.errs:
					return m, err
				default:
					return m, fmt.Errorf("client %d: the room closed the connection", cl.id)
				}
			}
			if strings.HasPrefix(m.Msg, prefix) {
				return m, nil
			}
		case <-timer.C:
			return chatMessage{}, fmt.Errorf("client %d: nothing starting with %q within %v", cl.id, prefix, *deadline)
		}
	}
}

func (cl *chatClient) say(text string) error {
	cl.conn.SetWriteDeadline(time.Now().Add(*deadline))
	return cl.conn.WriteMessage(websocket.TextMessage, []byte(text))
}

func chatRoom(n int) error {
	clients := make([]*chatClient, n)
	for i := range clients {
		c, _, err := dial()
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		defer c.Close()
		clients[i] = &chatClient{id: i, conn: c, incoming: make(chan chatMessage, 64), errs: make(chan error, 1)}
		go clients[i].readPump()
	}
	// Phase 1: each client's own "join" echo proves the room has it.
	for _, cl := range clients {
		join := fmt.Sprintf("join %d", cl.id)
		if err := cl.say(join); err != nil {
			return err
		}
		for {
			m, err := cl.next("join ")
			if err != nil {
				return err
			}
			if m.Msg == join {
				cl.uid = m.UID
				break
			}
		}
	}
	uids := map[int]int{}
	for _, cl := range clients {
		if other, dup := uids[cl.uid]; dup {
			return fmt.Errorf("clients %d and %d got the same uid %d", other, cl.id, cl.uid)
		}
		uids[cl.uid] = cl.id
	}
	// Phase 2: everyone is in; each line must reach everyone, with its
	// author's uid. Quotes, a backslash and non-ASCII test the JSON escaping.
	line := func(id int) string {
		return fmt.Sprintf(`say %d: "quoted" back\slash ü 🦀, a line long enough for the room to compress`, id)
	}
	for _, cl := range clients {
		if err := cl.say(line(cl.id)); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, cl := range clients {
		wg.Add(1)
		go func(i int, cl *chatClient) {
			defer wg.Done()
			seen := map[string]bool{}
			for len(seen) < n {
				m, err := cl.next("say ")
				if err != nil {
					errs[i] = fmt.Errorf("client %d saw %d of %d lines: %w", cl.id, len(seen), n, err)
					return
				}
				author, ok := uids[m.UID]
				if !ok || m.Msg != line(author) {
					errs[i] = fmt.Errorf("client %d: %s is not a line of uid %d's client", cl.id, m.text, m.UID)
					return
				}
				seen[m.Msg] = true
			}
		}(i, cl)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	// Close 1000 each; the read pump sees the room's close 1000 and ends
	// (anything else it reports).
	for _, cl := range clients {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")
		if err := cl.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(*deadline)); err != nil {
			return fmt.Errorf("client %d: close: %w", cl.id, err)
		}
	}
	for _, cl := range clients {
		for range cl.incoming { // ends with the read pump, bounded by its read deadline
		}
		select {
		case err := <-cl.errs:
			return fmt.Errorf("client %d: closing: %w", cl.id, err)
		default:
		}
	}
	return nil
}
