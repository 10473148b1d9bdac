package wsfront_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
)

// BenchmarkServeEcho: an echo stub's round trip for a 1 KiB text message
// over loopback TCP, the client writing a masked frame and reading the
// echo as bytes, so that the allocations counted are the server's.
func BenchmarkServeEcho(b *testing.B) {
	c, _ := serve(b, context.Background(), &engine.WebSocket{Echo: true, Repeat: 1}, 64<<20)
	nc := c.UnderlyingConn()
	payload := bytes.Repeat([]byte("decoy ws "), 114)[:1024]
	in := []byte{0x81, 0x80 | 126, 0x04, 0x00, 0x12, 0x34, 0x56, 0x78}
	for i, p := range payload {
		in = append(in, p^in[4+i%4])
	}
	out := make([]byte, 4+len(payload))
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := nc.Write(in); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(nc, out); err != nil {
			b.Fatal(err)
		}
	}
	if !bytes.Equal(out[4:], payload) {
		b.Fatalf("echo %q", out[4:20])
	}
}
