// Command fhref is a reference server of bench/http1-nginx.sh: a bare
// fasthttp server (the library decoy's HTTP/1.1 front door is built on)
// whose one handler answers every request with the same JSON body and
// nothing else: no routing, no counters, no journal. decoy against it
// shows what decoy's own work costs; fhref against nginx, what the
// library costs.
//
// Usage: fhref -addr 127.0.0.1:8081 -body TEXT
package main

import (
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on (loopback)")
	body := flag.String("body", `{"ok":true}`, "the JSON body of every answer")
	flag.Parse()
	b, ct := []byte(*body), []byte("application/json")
	s := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.Response.Header.SetContentTypeBytes(ct)
			ctx.Response.SetBodyRaw(b)
		},
		NoDefaultServerHeader: true,
	}
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, os.Interrupt)
		<-ch
		_ = s.Shutdown()
	}()
	if err := s.ListenAndServe(*addr); err != nil {
		log.Fatal(err)
	}
}
