// gorilla_server: an echo server in the shape of gorilla/websocket's echo
// example (a page at "/", the WebSocket at "/echo", ReadMessage then
// WriteMessage of the same type), as a Go user would write it. It is an
// interop peer for wsmachine's echo_client (tests/interop/go.sh).
//
//	gorilla_server [-addr 127.0.0.1:0] [-compress] [-protocols a,b] [-require-header "Name: value"]
//
// The first stdout line is `listening on http://HOST:PORT`, followed by
// ` (permessage-deflate on)` with -compress (Upgrader.EnableCompression:
// gorilla's no-context-takeover permessage-deflate). -protocols lists the
// subprotocols it supports; it picks the first one the CLIENT offered that it
// supports (so the client's order is what decides). -require-header refuses
// a handshake without that exact header with 401. Each connection is logged
// on stderr: the subprotocols offered in order, the one chosen, the
// extensions offered, and the close code received.
package main

import (
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/gorilla/websocket"
)

var (
	addr      = flag.String("addr", "127.0.0.1:0", "address to listen on")
	compress  = flag.Bool("compress", false, "negotiate permessage-deflate (no context takeover)")
	protocols = flag.String("protocols", "", "comma-separated subprotocols this server supports")
	required  = flag.String("require-header", "", `refuse (401) a handshake without this "Name: value" header`)
)

func main() {
	flag.Parse()
	upgrader := websocket.Upgrader{EnableCompression: *compress}
	supported := map[string]bool{}
	for _, p := range strings.Split(*protocols, ",") {
		if p = strings.TrimSpace(p); p != "" {
			supported[p] = true
		}
	}
	var needName, needValue string
	if *required != "" {
		name, value, ok := strings.Cut(*required, ":")
		if !ok {
			log.Fatalf("-require-header %q is not \"Name: value\"", *required)
		}
		needName, needValue = strings.TrimSpace(name), strings.TrimSpace(value)
	}

	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		homeTemplate.Execute(w, "ws://"+r.Host+"/echo")
	})
	http.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		if needName != "" && r.Header.Get(needName) != needValue {
			log.Printf("refused: header %s is %q, not %q", needName, r.Header.Get(needName), needValue)
			http.Error(w, "missing or wrong "+needName, http.StatusUnauthorized)
			return
		}
		offered := websocket.Subprotocols(r)
		header := http.Header{}
		for _, p := range offered {
			if supported[p] {
				header.Set("Sec-WebSocket-Protocol", p)
				break
			}
		}
		c, err := upgrader.Upgrade(w, r, header)
		if err != nil {
			log.Print("upgrade: ", err)
			return
		}
		defer c.Close()
		log.Printf("connected: subprotocols offered %q, chosen %q; extensions offered %q",
			offered, c.Subprotocol(), r.Header.Get("Sec-WebSocket-Extensions"))
		for {
			mt, message, err := c.ReadMessage()
			if err != nil {
				var closeErr *websocket.CloseError
				if errors.As(err, &closeErr) {
					log.Printf("closed with %d %q", closeErr.Code, closeErr.Text)
				} else {
					log.Print("read: ", err)
				}
				return
			}
			if err := c.WriteMessage(mt, message); err != nil {
				log.Print("write: ", err)
				return
			}
		}
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	suffix := ""
	if *compress {
		suffix = " (permessage-deflate on)"
	}
	fmt.Printf("listening on http://%s%s\n", ln.Addr(), suffix)
	os.Stdout.Sync()
	log.Fatal(http.Serve(ln, nil))
}

// The page of gorilla's echo example, reduced: open, send, close, and a log.
var homeTemplate = template.Must(template.New("").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>gorilla echo</title>
<script>
window.addEventListener("load", function () {
    var ws, log = document.getElementById("log");
    function print(text) {
        var d = document.createElement("div");
        d.textContent = text;
        log.appendChild(d);
    }
    document.getElementById("open").onclick = function () {
        if (ws) { return false; }
        ws = new WebSocket("{{.}}");
        ws.onopen = function () { print("OPEN"); };
        ws.onclose = function (e) { print("CLOSE " + e.code); ws = null; };
        ws.onmessage = function (e) { print("RESPONSE: " + e.data); };
        ws.onerror = function () { print("ERROR"); };
        return false;
    };
    document.getElementById("send").onclick = function () {
        if (!ws) { return false; }
        var input = document.getElementById("input").value;
        print("SEND: " + input);
        ws.send(input);
        return false;
    };
    document.getElementById("close").onclick = function () {
        if (ws) { ws.close(); }
        return false;
    };
});
</script></head>
<body>
<p>"Open" connects to {{.}}, "Send" sends the text, "Close" closes.</p>
<form>
<button id="open">Open</button> <button id="close">Close</button>
<input id="input" type="text" value="Hello world!"> <button id="send">Send</button>
</form>
<div id="log"></div>
</body></html>
`))
