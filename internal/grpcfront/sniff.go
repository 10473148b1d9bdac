package grpcfront

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// The cleartext gRPC port speaks HTTP/2 with prior knowledge only. To an
// HTTP/1.1 request grpc-go answers with its SETTINGS frame and a close,
// which curl reports as "Received HTTP/0.9", and a TLS client sees "first
// record does not look like a TLS handshake". So the first bytes of each
// connection are looked at (sniff) before grpc-go reads them, and what
// grpc-go writes first (its SETTINGS) is held until then: HTTP/1.x gets a
// one-line HTTP/1.1 answer naming the HTTP port, a TLS ClientHello a
// close (or, with Options.TLS, a TLS handshake: see tlsport.go). Past
// those bytes, reads and writes pass straight through.

// gate is what the sniff answers with, made once.
type gate struct {
	http1 []byte // the HTTP/1.1 answer
	log   *slog.Logger
}

func newGate(httpAddr string, overTLS bool, log *slog.Logger) *gate {
	msg := "This is decoy's gRPC port: it speaks HTTP/2 only (gRPC; grpcurl -plaintext). "
	if overTLS {
		msg = "This is decoy's gRPC port: it speaks HTTP/2 only, in cleartext or over TLS (gRPC; grpcurl -plaintext, or grpcurl with TLS). "
	}
	if httpAddr != "" {
		msg += "HTTP/1.1, the HTTP stubs and gRPC-Web are served on the HTTP port, " + httpAddr + ".\n"
	} else {
		msg += "decoy serves no HTTP port.\n"
	}
	b := []byte("HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: " +
		strconv.Itoa(len(msg)) + "\r\n\r\n" + msg)
	return &gate{http1: b, log: log}
}

var errNotHTTP2 = errors.New("not an HTTP/2 connection")

// sniffKind is what a connection's first bytes are.
type sniffKind int

const (
	sniffMore  sniffKind = iota // too few bytes to tell
	sniffHTTP2                  // the HTTP/2 preface, or anything else: grpc-go's to judge
	sniffHTTP1                  // an HTTP/1.x request line
	sniffTLS                    // a TLS handshake record
)

// sniffOf tells what b, a connection's first bytes, begins.
func sniffOf(b []byte) sniffKind {
	if len(b) == 0 {
		return sniffMore
	}
	if b[0] == 0x16 { // a TLS handshake record
		return sniffTLS
	}
	// A request method is uppercase letters then a space: "GET ", "POST",
	// "OPTIONS ". The HTTP/2 preface starts "PRI ".
	for i := 0; i < 4; i++ {
		if i == len(b) {
			return sniffMore
		}
		c := b[i]
		if c == ' ' && i > 0 {
			break
		}
		if c < 'A' || c > 'Z' {
			return sniffHTTP2
		}
	}
	if string(b[:4]) == "PRI " {
		return sniffHTTP2
	}
	return sniffHTTP1
}

// sniff reads the connection's first bytes and acts on them; c.pre holds
// what it read, for grpc-go. It runs on grpc-go's handshake goroutine,
// within grpc-go's connection timeout.
func (c *faultConn) sniff() error {
	kind, err := c.peek()
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.sniffing = false
	held := c.held
	c.held = nil
	c.mu.Unlock()
	switch kind {
	case sniffTLS:
		if c.gate.log.Enabled(context.Background(), slog.LevelDebug) {
			c.gate.log.Debug("gRPC port: a TLS handshake on the cleartext port; closed", "remote", c.RemoteAddr().String())
		}
		return errNotHTTP2
	case sniffHTTP1:
		if c.requestLine() {
			_, _ = c.Conn.Write(c.gate.http1)
		} // else a broken HTTP/2 preface, say: closed without an answer
		if tc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
			_ = tc.CloseWrite()
		}
		// Read what the client sent on, so that closing does not reset
		// the connection before the answer is read.
		_ = c.Conn.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = io.Copy(io.Discard, io.LimitReader(c.Conn, 64<<10))
		return errNotHTTP2
	}
	if len(held) > 0 {
		if _, err := c.Write(held); err != nil {
			return err
		}
	}
	return nil
}

// requestLine reads on to the end of the first line of what sniffed as
// HTTP/1.x and reports whether it is a request line (it ends with
// HTTP/1.0 or HTTP/1.1): anything else, such as a client preface that
// is not HTTP/2's, is not answered in HTTP/1.1 but closed on.
func (c *faultConn) requestLine() bool {
	line := append([]byte(nil), c.pre...)
	var buf [512]byte
	for bytes.IndexByte(line, '\n') < 0 && len(line) < 8<<10 {
		n, err := c.Conn.Read(buf[:])
		line = append(line, buf[:n]...)
		if err != nil {
			break
		}
	}
	i := bytes.IndexByte(line, '\n')
	if i < 0 {
		return false
	}
	l := bytes.TrimSuffix(line[:i], []byte("\r"))
	return bytes.HasSuffix(l, []byte(" HTTP/1.1")) || bytes.HasSuffix(l, []byte(" HTTP/1.0"))
}

// peek reads the connection's first bytes into c.pre, once, and tells
// what they begin.
func (c *faultConn) peek() (sniffKind, error) {
	if c.peeked {
		return c.kind, nil
	}
	n := 0
	kind := sniffMore
	for kind == sniffMore && n < len(c.preBuf) {
		m, err := c.Conn.Read(c.preBuf[n:])
		n += m
		kind = sniffOf(c.preBuf[:n])
		if err != nil && kind == sniffMore {
			return kind, err
		}
	}
	c.pre = c.preBuf[:n]
	c.peeked, c.kind = true, kind
	return kind, nil
}

// overTLS makes c read and write through tc, the TLS connection over
// what it wrapped, whose handshake took the bytes peek read.
func (c *faultConn) overTLS(tc net.Conn) {
	c.mu.Lock()
	c.Conn = tc
	c.pre = nil
	c.kind = sniffHTTP2 // grpc-go's to judge what comes through TLS
	c.mu.Unlock()
}

// Read passes reads through once the first bytes were sniffed.
func (c *faultConn) Read(p []byte) (int, error) {
	if c.sniffing {
		if err := c.sniff(); err != nil {
			return 0, err
		}
	}
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

var _ net.Conn = (*faultConn)(nil)
