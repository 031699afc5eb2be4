// xnet_server: the golang.org/x/net/websocket echo server as its own
// documentation writes it: websocket.Handler around io.Copy(ws, ws), at
// "/echo". An interop peer for wsmachine's echo_client (tests/interop/go.sh).
//
//	xnet_server [-addr 127.0.0.1:0]
//
// The first stdout line is `listening on http://HOST:PORT`. websocket.Handler
// refuses (403) a handshake that has no Origin header: that is x/net's
// default, kept on purpose.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"

	"golang.org/x/net/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	http.Handle("/echo", websocket.Handler(func(ws *websocket.Conn) {
		log.Printf("connected: origin %s", ws.Config().Origin)
		n, err := io.Copy(ws, ws)
		log.Printf("done after %d bytes (%v)", n, err)
	}))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	os.Stdout.Sync()
	log.Fatal(http.Serve(ln, nil))
}
