// Command h2server serves one fixed JSON body over h2c (HTTP/2 with prior
// knowledge) on a loopback port, either with h2serve or with a bare
// net/http server, for the side-by-side measurements of
// internal/h2serve/bench/h2load-cpu.sh and for conformance runs (h2spec).
//
//	h2server -mode h2serve -addr 127.0.0.1:18081 -body body.json
//	h2server -mode nethttp -addr 127.0.0.1:18082 -body body.json
//
// It stops by itself after -max-time, or on SIGINT/SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/decoy-dev/decoy/internal/h2serve"
)

func main() {
	mode := flag.String("mode", "h2serve", "h2serve or nethttp")
	addr := flag.String("addr", "127.0.0.1:18081", "listen address (loopback)")
	bodyFile := flag.String("body", "", "file holding the response body (default: a 168-byte JSON document)")
	maxTime := flag.Duration("max-time", 10*time.Minute, "exit after this long")
	flag.Parse()

	body := []byte(`{"id":42,"name":"Ada Lovelace","email":"ada@example.com","role":"dev","active":true,"created_at":"2024-01-15T09:30:00Z","team":{"id":7,"name":"Engine"},"tags":["math"]}`)
	if *bodyFile != "" {
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			log.Fatal(err)
		}
		body = b
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("-addr must be a loopback address, got %q", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *maxTime)
	defer cancel()

	switch *mode {
	case "h2serve":
		serveH2(ctx, ln, body)
	case "nethttp":
		serveStd(ctx, ln, body)
	default:
		log.Fatalf("unknown -mode %q", *mode)
	}
}

func serveH2(ctx context.Context, ln net.Listener, body []byte) {
	block := h2serve.EncodeHeaderBlock(200, [][2]string{{"Content-Type", "application/json"}}, len(body))
	h := h2serve.HandlerFunc(func(w *h2serve.ResponseWriter, r *h2serve.Request) {
		_ = w.WriteBlock(block, body)
	})
	var wg sync.WaitGroup
	go func() { <-ctx.Done(); _ = ln.Close() }()
	fmt.Fprintf(os.Stderr, "h2server: h2serve on %s\n", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				break
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = h2serve.ServeConn(ctx, c, h, h2serve.Options{})
		}()
	}
	wg.Wait()
}

func serveStd(ctx context.Context, ln net.Listener, body []byte) {
	length := strconv.Itoa(len(body))
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Protocols: p,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h["Content-Type"] = []string{"application/json"}
			h["Content-Length"] = []string{length}
			_, _ = w.Write(body)
		}),
	}
	go func() {
		<-ctx.Done()
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Fprintf(os.Stderr, "h2server: net/http on %s\n", ln.Addr())
	_ = srv.Serve(ln)
}
