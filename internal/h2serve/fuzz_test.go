package h2serve

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// scriptConn is a client that sends in once, in reads of at most step
// bytes, then EOF; what the server writes is kept (up to a bound).
type scriptConn struct {
	in   []byte
	step int
	out  bytes.Buffer
}

func (s *scriptConn) Read(p []byte) (int, error) {
	if len(s.in) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), s.step)], s.in)
	s.in = s.in[n:]
	return n, nil
}

func (s *scriptConn) Write(p []byte) (int, error) {
	if s.out.Len() < 1<<20 {
		s.out.Write(p)
	}
	return len(p), nil
}

func (s *scriptConn) Close() error                     { return nil }
func (s *scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (s *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (s *scriptConn) SetDeadline(time.Time) error      { return nil }
func (s *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (s *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// fuzzFrames are the seeds' frames: a GET, a POST with its body, a
// request in HEADERS and CONTINUATION, a reset stream, a PING, a
// WINDOW_UPDATE and a PRIORITY.
func fuzzFrames() [][]byte {
	block := func(fields ...string) []byte {
		var b bytes.Buffer
		enc := hpack.NewEncoder(&b)
		for i := 0; i+1 < len(fields); i += 2 {
			_ = enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
		}
		return b.Bytes()
	}
	get := block(":method", "GET", ":scheme", "http", ":authority", "x", ":path", "/users/42?a=1", "cookie", "s=1")
	post := block(":method", "POST", ":scheme", "http", ":authority", "x", ":path", "/orders", "content-length", "3")
	var seeds [][]byte
	add := func(b []byte) { seeds = append(seeds, b) }
	add(append(appendFrameHeader(nil, len(get), http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersEndStream, 1), get...))
	b := append(appendFrameHeader(nil, len(post), http2.FrameHeaders, http2.FlagHeadersEndHeaders, 3), post...)
	add(append(appendFrameHeader(b, 3, http2.FrameData, http2.FlagDataEndStream, 3), "pen"...))
	b = append(appendFrameHeader(nil, 4, http2.FrameHeaders, http2.FlagHeadersEndStream, 5), get[:4]...)
	add(append(appendFrameHeader(b, len(get)-4, http2.FrameContinuation, http2.FlagContinuationEndHeaders, 5), get[4:]...))
	b = append(appendFrameHeader(nil, len(post), http2.FrameHeaders, http2.FlagHeadersEndHeaders, 7), post...)
	add(append(appendFrameHeader(b, 4, http2.FrameRSTStream, 0, 7), 0, 0, 0, 8))
	add(append(appendFrameHeader(nil, 8, http2.FramePing, 0, 0), "12345678"...))
	add(append(appendFrameHeader(nil, 4, http2.FrameWindowUpdate, 0, 0), 0, 1, 0, 0))
	add(append(appendFrameHeader(nil, 5, http2.FramePriority, 0, 9), 0, 0, 0, 1, 16))
	return seeds
}

// FuzzServeConn: whatever frames a client sends after its preface and
// SETTINGS, in reads of whatever size, the server does not panic, ends
// the connection when the client's bytes end, and writes only well-formed
// frames (a GOAWAY at most once, and last but for what follows it).
func FuzzServeConn(f *testing.F) {
	seeds := fuzzFrames()
	for i, s := range seeds {
		f.Add(s, uint8(0))
		f.Add(bytes.Join(seeds[:i+1], nil), uint8(7))
	}
	body := []byte(`{"id":42}`)
	blk := EncodeHeaderBlock(200, [][2]string{{"Content-Type", "application/json"}}, len(body))
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		if r.Path == "/orders" {
			_ = w.WriteResponse(201, [][2]string{{"Location", "/orders/1"}}, nil)
			return
		}
		_ = w.WriteBlock(blk, body)
	})
	f.Fuzz(func(t *testing.T, frames []byte, step uint8) { fuzzServe(t, h, frames, step) })
}

// FuzzServeHTTP is FuzzServeConn with every request answered by a
// net/http Handler through ServeHTTP, bodies streamed: one that reads the
// body as it writes it back, flushing, and ends with a trailer.
func FuzzServeHTTP(f *testing.F) {
	seeds := fuzzFrames()
	for i, s := range seeds {
		f.Add(s, uint8(0))
		f.Add(bytes.Join(seeds[:i+1], nil), uint8(7))
	}
	h := bridge{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-N")
		buf := make([]byte, 100)
		n := 0
		for {
			k, err := r.Body.Read(buf)
			n += k
			_, _ = w.Write(buf[:k])
			w.(http.Flusher).Flush()
			if err != nil {
				break
			}
		}
		w.Header().Set("X-N", strconv.Itoa(n))
	})}
	f.Fuzz(func(t *testing.T, frames []byte, step uint8) { fuzzServe(t, h, frames, step) })
}

// fuzzServe serves the client preface, an empty SETTINGS and frames, in
// reads of step+1 bytes, with h; it fails the test when ServeConn does not
// end, or writes a frame that does not parse or a second GOAWAY.
func fuzzServe(t *testing.T, h Handler, frames []byte, step uint8) {
	in := append([]byte(preface), 0, 0, 0, byte(http2.FrameSettings), 0, 0, 0, 0, 0)
	c := &scriptConn{in: append(in, frames...), step: int(step) + 1}
	done := make(chan error, 1)
	go func() { done <- ServeConn(context.Background(), c, h, Options{ReadTimeout: time.Second}) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("ServeConn still serving 10 s after the client's bytes ended")
	}
	fr := http2.NewFramer(nil, bytes.NewReader(c.out.Bytes()))
	fr.SetMaxReadFrameSize(1 << 24)
	goaways := 0
	for {
		fm, err := fr.ReadFrame()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) && c.out.Len() >= 1<<20 {
			break
		}
		if err != nil {
			t.Fatalf("the server wrote a frame that does not parse: %v", err)
		}
		if _, ok := fm.(*http2.GoAwayFrame); ok {
			goaways++
		}
	}
	if goaways > 1 {
		t.Errorf("%d GOAWAY frames, want at most 1", goaways)
	}
}

// TestFuzzSeedsAnswered: the seeds, sent together a few bytes at a time,
// get their answers (so that the fuzzer starts from a conversation that
// works): streams 1, 3 and 5 answered, 7 reset by the client, the PING
// acknowledged.
func TestFuzzSeedsAnswered(t *testing.T) {
	in := append([]byte(preface), 0, 0, 0, byte(http2.FrameSettings), 0, 0, 0, 0, 0)
	c := &scriptConn{in: append(in, bytes.Join(fuzzFrames(), nil)...), step: 7}
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		_ = w.WriteResponse(200, nil, []byte(r.Method+" "+r.Path))
	})
	if err := ServeConn(context.Background(), c, h, Options{}); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(nil, bytes.NewReader(c.out.Bytes()))
	bodies := map[uint32]string{}
	pinged := false
	for {
		fm, err := fr.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch fm := fm.(type) {
		case *http2.DataFrame:
			bodies[fm.StreamID] += string(fm.Data())
		case *http2.PingFrame:
			pinged = fm.IsAck() && string(fm.Data[:]) == "12345678"
		case *http2.GoAwayFrame:
			t.Errorf("GOAWAY %v", fm.ErrCode)
		}
	}
	want := map[uint32]string{1: "GET /users/42", 3: "POST /orders", 5: "GET /users/42"}
	for id, b := range want {
		if bodies[id] != b {
			t.Errorf("stream %d: %q, want %q", id, bodies[id], b)
		}
	}
	if _, ok := bodies[7]; ok || !pinged {
		t.Errorf("stream 7 answered (%v) or PING not acknowledged (%v)", ok, pinged)
	}
}
