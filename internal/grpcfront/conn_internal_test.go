package grpcfront

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"

	"github.com/decoy-dev/decoy/internal/loopback"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// bufConn records what is written to it.
type bufConn struct {
	net.Conn
	buf bytes.Buffer
}

func (c *bufConn) Write(p []byte) (int, error) { return c.buf.Write(p) }

// Writev makes bufConn an h2serve.VectorWriter.
func (c *bufConn) Writev(bufs [][]byte) (int64, error) {
	n := 0
	for _, b := range bufs {
		n += len(b)
		c.buf.Write(b)
	}
	return int64(n), nil
}

// frames splits b into HTTP/2 frames; ok is false when b does not end a
// frame.
func frames(b []byte) (out [][]byte, ok bool) {
	for len(b) > 0 {
		if len(b) < 9 {
			return out, false
		}
		n := 9 + (int(b[0])<<16 | int(b[1])<<8 | int(b[2]))
		if len(b) < n {
			return out, false
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out, true
}

// TestInjectAtFrameBoundary: a frame injected while grpc-go's bytes are
// written in pieces of any size, by Write or by Writev (h2serve's large
// bodies), lands between two of the frames written, which all arrive
// whole and in order.
func TestInjectAtFrameBoundary(t *testing.T) {
	var stream []byte
	for i, n := range []int{0, 6, 300, 1, 66000, 4} { // SETTINGS, ..., a payload past 64 KiB
		stream = appendFrame(stream, byte(i), uint32(i), bytes.Repeat([]byte{byte('a' + i)}, n))
	}
	orig, _ := frames(stream)
	inj := rstStreamFrame(7, 8)
	// Inject around each frame boundary, and in the middle of the stream.
	var ats []int
	b := 0
	for _, f := range orig {
		for d := -10; d <= 10; d++ {
			if b+d >= 0 {
				ats = append(ats, b+d)
			}
		}
		b += len(f)
	}
	ats = append(ats, len(stream)/2, len(stream))
	for _, chunk := range []int{1, 2, 5, 9, 10, 301, 4096, len(stream)} {
		for _, at := range ats {
			for _, vec := range []bool{false, true} {
				bc := &bufConn{}
				fc := &faultConn{Conn: bc, conns: &conns{}}
				injected := false
				for off := 0; off < len(stream); off += chunk {
					if !injected && off >= at {
						fc.inject(inj, nil)
						injected = true
					}
					end := min(off+chunk, len(stream))
					if !vec {
						if n, err := fc.Write(stream[off:end]); n != end-off || err != nil {
							t.Fatalf("Write: %d, %v", n, err)
						}
						continue
					}
					p := stream[off:end] // in three parts, the first and last maybe empty
					k := len(p) / 3
					if n, err := fc.Writev([][]byte{p[:k], p[k : len(p)-k], p[len(p)-k:]}); n != int64(end-off) || err != nil {
						t.Fatalf("Writev: %d, %v", n, err)
					}
				}
				if !injected {
					fc.inject(inj, nil)
				}
				got, ok := frames(bc.buf.Bytes())
				if !ok || len(got) != len(orig)+1 {
					t.Fatalf("chunk %d, inject at %d: %d frames (whole: %v), want %d", chunk, at, len(got), ok, len(orig)+1)
				}
				k := 0
				for _, f := range got {
					if bytes.Equal(f, inj) {
						continue
					}
					if !bytes.Equal(f, orig[k]) {
						t.Fatalf("chunk %d, inject at %d: frame %d changed", chunk, at, k)
					}
					k++
				}
				if k != len(orig) {
					t.Fatalf("chunk %d, inject at %d: the injected frame is missing", chunk, at)
				}
			}
		}
	}
}

// TestStreamIDFound: the stream id of a call is read from grpc-go's
// transport stream; a grpc-go upgrade that renames its field fails here.
func TestStreamIDFound(t *testing.T) {
	ids := make(chan uint32, 2)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		ids <- streamID(ss.Context())
		return nil
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	cc, err := grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	for range 2 {
		_ = cc.Invoke(context.Background(), "/x.Y/Z", &frame{}, &frame{}, grpc.ForceCodecV2(newCodec()))
	}
	if a, b := <-ids, <-ids; a != 1 || b != 3 {
		t.Errorf("stream ids %d, %d; want 1, 3", a, b)
	}
}

// discardConn swallows writes.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkFaultConnWrite: what following frame boundaries adds to one
// write of a unary answer (response headers, a message, trailers).
func BenchmarkFaultConnWrite(b *testing.B) {
	var batch []byte
	batch = appendFrame(batch, 0x1, 1, make([]byte, 14))
	batch = appendFrame(batch, 0x0, 1, make([]byte, 7))
	batch = appendFrame(batch, 0x1, 1, make([]byte, 24))
	for _, wrapped := range []bool{false, true} {
		name := "plain"
		var c net.Conn = discardConn{}
		if wrapped {
			name = "faultConn"
			c = &faultConn{Conn: c, conns: &conns{}}
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = c.Write(batch)
			}
		})
	}
}

// TestFaultConnCloseWrite: a faultConn half-closes the TCP connection
// under it, so that decoy's HTTP/2 loop can read what the client still
// sends before it closes (a close with unread bytes resets the
// connection, and the client may lose the last answer): the client reads
// EOF and can still write.
func TestFaultConnCloseWrite(t *testing.T) {
	t.Parallel()
	client, sc := loopback.Pair(t)
	fc := &faultConn{Conn: sc, conns: &conns{}}
	defer fc.Close()
	cw, ok := any(fc).(interface{ CloseWrite() error })
	if !ok {
		t.Fatal("a faultConn cannot be half-closed")
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if n, err := client.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("the client read %d, %v: want EOF", n, err)
	}
	if _, err := client.Write([]byte("PING")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(fc, buf); err != nil || string(buf) != "PING" {
		t.Errorf("the server read %q, %v after its half-close", buf, err)
	}
	if err := (&faultConn{Conn: &bufConn{}, conns: &conns{}}).CloseWrite(); err == nil {
		t.Error("a connection without CloseWrite was half-closed")
	}
}

// TestFaultConnCanWritev: h2serve vectors its writes on the gRPC port only
// when what lies under the connection makes vectored writes (not TLS),
// rather than have Writev join the buffers into a new one every flush.
func TestFaultConnCanWritev(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    net.Conn
		want bool
	}{
		{"vectored", &bufConn{}, true},
		{"plain", discardConn{}, false},
	} {
		if got := (&faultConn{Conn: tc.c, conns: &conns{}}).CanWritev(); got != tc.want {
			t.Errorf("%s: CanWritev %v, want %v", tc.name, got, tc.want)
		}
	}
}
