package h2serve

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// uploadHandler streams the bodies of requests to /upload (and /gate,
// whose reading waits for gate to close) and answers "len crc" of what
// ReadBody gave; other requests get their buffered body's "len crc".
type uploadHandler struct{ gate chan struct{} }

func (h uploadHandler) StreamBody(r *Request) bool { return r.Path == "/upload" || r.Path == "/gate" }

func (h uploadHandler) ServeH2(w *ResponseWriter, r *Request) {
	if !r.Streamed {
		_ = w.WriteResponse(200, nil, fmt.Appendf(nil, "%d %08x", len(r.Body), crc32.ChecksumIEEE(r.Body)))
		return
	}
	w.Detach()
	gated := r.Path == "/gate"
	go func() {
		if gated {
			<-h.gate
		}
		crc := crc32.NewIEEE()
		n, err := io.CopyBuffer(crc, readerFunc(w.ReadBody), make([]byte, 3000))
		if err != nil {
			w.Reset()
			return
		}
		_ = w.WriteResponse(200, nil, fmt.Appendf(nil, "%d %08x", n, crc.Sum32()))
	}()
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestStreamedBody(t *testing.T) {
	t.Parallel()
	s := startServer(t, uploadHandler{}, Options{MaxBodyBytes: 1 << 20})
	c := goClient(0)
	for _, tt := range []struct {
		path string
		n    int
	}{
		{"/upload", 5 << 20}, // above MaxBodyBytes and the windows
		{"/upload", 1},
		{"/upload", 0},
		{"/buffered", 1000},
	} {
		body := bigData[:tt.n]
		resp, err := c.Post("http://"+s.addr+tt.path, "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("%d %08x", tt.n, crc32.ChecksumIEEE(body)); resp.StatusCode != 200 || string(b) != want {
			t.Errorf("%s with %d bytes: %d %q, want %q", tt.path, tt.n, resp.StatusCode, b, want)
		}
	}
}

// TestStreamedBodyCredit: the client gets a stream's window back only as
// the handler reads.
func TestStreamedBodyCredit(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	s := startServer(t, uploadHandler{gate: gate}, Options{StreamWindow: 65535})
	rc := dialRaw(t, s.addr)
	rc.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/gate", ":authority", "test")
	for off := 0; off < 65535; off += 16384 {
		if err := rc.fr.WriteData(1, false, bigData[off:min(off+16384, 65535)]); err != nil {
			t.Fatal(err)
		}
	}
	for {
		f, err := rc.tryNext(300 * time.Millisecond)
		if err != nil {
			break // nothing more: no credit while nobody reads
		}
		if wu, ok := f.(*http2.WindowUpdateFrame); ok && wu.StreamID == 1 {
			t.Fatal("WINDOW_UPDATE for the stream before the handler read anything")
		}
	}
	close(gate)
	for {
		f := rc.next()
		if wu, ok := f.(*http2.WindowUpdateFrame); ok && wu.StreamID == 1 {
			break
		}
	}
	if err := rc.fr.WriteData(1, true, bigData[65535:70000]); err != nil {
		t.Fatal(err)
	}
	status, body, rst := rc.response(1, false)
	if want := fmt.Sprintf("%d %08x", 70000, crc32.ChecksumIEEE(bigData[:70000])); status != "200" || string(body) != want || rst != nil {
		t.Errorf("%s %q %v, want 200 %q", status, body, rst, want)
	}
}

// TestStreamedBodyReset: ReadBody ends with ErrStreamClosed when the
// client resets the stream.
func TestStreamedBodyReset(t *testing.T) {
	t.Parallel()
	errs := make(chan error, 1)
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.Detach()
		go func() {
			_, err := io.Copy(io.Discard, readerFunc(w.ReadBody))
			errs <- err
		}()
	})
	s := startServer(t, streamAll{h}, Options{})
	rc := dialRaw(t, s.addr)
	rc.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/", ":authority", "test")
	_ = rc.fr.WriteData(1, false, bigData[:1000])
	_ = rc.fr.WriteRSTStream(1, http2.ErrCodeCancel)
	select {
	case err := <-errs:
		if !errors.Is(err, ErrStreamClosed) {
			t.Errorf("ReadBody: %v, want ErrStreamClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadBody still blocked after the reset")
	}
}

// streamAll streams every request body.
type streamAll struct{ Handler }

func (streamAll) StreamBody(*Request) bool { return true }

var _ BodyStreamer = streamAll{}

// TestStreamedBodyBuffer: a streamed body's buffer holds what is unread,
// not everything since the handler last read it all, and gives the bytes
// back in order.
func TestStreamedBodyBuffer(t *testing.T) {
	var st stream
	var sent, got []byte
	p := make([]byte, 13000)
	next := func(n int) {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte((len(sent) + i) % 251)
		}
		sent = append(sent, data...)
		st.keep(data)
	}
	read := func(n int) {
		k := st.take(p[:n])
		got = append(got, p[:k]...)
	}
	next(1) // one byte always unread: the buffer never empties
	for range 1000 {
		next(10000)
		read(7000)
		next(10000)
		read(13000)
	}
	if unread := len(st.in) - st.inOff; unread != 1 {
		t.Fatalf("%d bytes unread, want 1", unread)
	}
	if c := cap(st.in); c > 64<<10 {
		t.Errorf("buffer capacity %d after 20 MB passed through it with at most 20 KB unread", c)
	}
	if !bytes.Equal(got, sent[:len(got)]) {
		t.Error("the bytes read differ from those sent")
	}
}
