package h2serve

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// faultHandler answers:
//
//	/rst?code=N    RST_STREAM with code N
//	/rst-late      RST_STREAM CANCEL from a goroutine, 10 ms later
//	/cut?n=N&k=K   headers announcing N bytes, K bytes of body, RST_STREAM INTERNAL_ERROR
//	/goaway        GOAWAY (NO_ERROR) naming the previous stream
//	/goaway-late   the same from a goroutine, 10 ms later
//	/malformed     a header block with an upper-case field name
//	/slow          the root body 200 ms later
func faultHandler() Handler {
	return HandlerFunc(func(w *ResponseWriter, r *Request) {
		switch r.Path {
		case "/rst":
			code, _ := strconv.Atoi(queryOr(r, "code", "8"))
			w.ResetCode(http2.ErrCode(code))
		case "/rst-late":
			w.Detach()
			go func() {
				time.Sleep(10 * time.Millisecond)
				w.ResetCode(http2.ErrCodeCancel)
			}()
		case "/cut":
			n, _ := strconv.Atoi(queryOr(r, "n", "1000"))
			k, _ := strconv.Atoi(queryOr(r, "k", "400"))
			_ = w.WriteBlockReset(EncodeHeaderBlock(200, nil, n), bigData[:k], http2.ErrCodeInternal)
		case "/goaway":
			w.GoAway(http2.ErrCodeNo)
		case "/goaway-late":
			w.Detach()
			go func() {
				time.Sleep(10 * time.Millisecond)
				w.GoAway(http2.ErrCodeEnhanceYourCalm)
			}()
		case "/malformed":
			_ = w.WriteMalformed()
		case "/slow":
			w.WriteBlockAfter(200*time.Millisecond, rootBlock, testBody)
		default:
			_ = w.WriteBlock(rootBlock, testBody)
		}
	})
}

func TestResetCode(t *testing.T) {
	t.Parallel()
	s := startServer(t, faultHandler(), Options{})
	rc := dialRaw(t, s.addr)
	for i, tt := range []struct {
		path string
		want http2.ErrCode
	}{
		{"/rst?code=8", http2.ErrCodeCancel},
		{"/rst?code=11", http2.ErrCodeEnhanceYourCalm},
		{"/rst?code=0", http2.ErrCodeNo},
		{"/rst-late", http2.ErrCodeCancel},
	} {
		id := uint32(2*i + 1)
		rc.get(id, tt.path)
		status, body, rst := rc.response(id, false)
		if rst == nil || *rst != tt.want || status != "" || len(body) != 0 {
			t.Errorf("%s: status %q, %d bytes, reset %v; want a reset with %v", tt.path, status, len(body), rst, tt.want)
		}
	}
	// The connection still serves.
	rc.get(99, "/")
	if status, body, rst := rc.response(99, false); status != "200" || !bytes.Equal(body, testBody) || rst != nil {
		t.Errorf("after the resets: %q %d bytes %v", status, len(body), rst)
	}
}

func TestWriteBlockReset(t *testing.T) {
	t.Parallel()
	s := startServer(t, faultHandler(), Options{})
	rc := dialRaw(t, s.addr)
	for i, tt := range []struct {
		path string
		k    int
	}{
		{"/cut?n=1000&k=400", 400},
		{"/cut?n=10&k=0", 0},
		// Beyond the initial window: the pump sends the rest, then resets.
		{"/cut?n=400000&k=300000", 300000},
	} {
		id := uint32(2*i + 1)
		rc.get(id, tt.path)
		status, body, rst := rc.response(id, true)
		if status != "200" || !bytes.Equal(body, bigData[:tt.k]) || rst == nil || *rst != http2.ErrCodeInternal {
			t.Errorf("%s: status %q, %d bytes, reset %v; want 200, %d bytes, INTERNAL_ERROR", tt.path, status, len(body), rst, tt.k)
		}
	}
}

// TestGoAwayFault: the stream before the faulted one finishes, the
// faulted one is refused, later ones are ignored, then the connection
// closes.
func TestGoAwayFault(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		path string
		code http2.ErrCode
	}{{"/goaway", http2.ErrCodeNo}, {"/goaway-late", http2.ErrCodeEnhanceYourCalm}} {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, faultHandler(), Options{})
			rc := dialRaw(t, s.addr)
			rc.get(1, "/slow")
			rc.get(3, tt.path)
			if tt.path == "/goaway" {
				rc.get(5, "/") // opened before the client hears of the GOAWAY
			}
			var (
				goaway  *http2.GoAwayFrame
				refused bool
				body    []byte
				ended   bool
			)
			for {
				f, err := rc.tryNext(5 * time.Second)
				if err != nil {
					if errors.Is(err, io.EOF) || isReset(err) {
						break
					}
					t.Fatalf("reading: %v", err)
				}
				switch f := f.(type) {
				case *http2.GoAwayFrame:
					goaway = f
				case *http2.RSTStreamFrame:
					if f.StreamID == 3 && f.ErrCode == http2.ErrCodeRefusedStream {
						refused = true
					} else {
						t.Errorf("RST_STREAM %d %v", f.StreamID, f.ErrCode)
					}
				case *http2.HeadersFrame:
					if f.StreamID != 1 {
						t.Errorf("HEADERS on stream %d", f.StreamID)
					}
				case *http2.DataFrame:
					if f.StreamID != 1 {
						t.Errorf("DATA on stream %d", f.StreamID)
					}
					body = append(body, f.Data()...)
					ended = f.StreamEnded()
				}
			}
			if goaway == nil || goaway.LastStreamID != 1 || goaway.ErrCode != tt.code {
				t.Fatalf("GOAWAY %+v, want last stream 1, %v", goaway, tt.code)
			}
			if !refused {
				t.Error("the faulted stream was not refused")
			}
			if !ended || !bytes.Equal(body, testBody) {
				t.Errorf("stream 1 below the GOAWAY: ended %v, %d bytes", ended, len(body))
			}
		})
	}
}

func TestMalformedResponse(t *testing.T) {
	t.Parallel()
	s := startServer(t, faultHandler(), Options{})
	c := goClient(0)
	_, err := c.Get("http://" + s.addr + "/malformed")
	var se http2.StreamError
	if !errors.As(err, &se) || se.Code != http2.ErrCodeProtocol {
		t.Fatalf("got %v, want a stream error PROTOCOL_ERROR", err)
	}
	resp, err := c.Get("http://" + s.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(b, testBody) {
		t.Errorf("after a malformed response: %d, %d bytes", resp.StatusCode, len(b))
	}
}

// streamHandler answers /chunks?n=N&size=S with N DATA writes of S bytes
// of bigData, from a goroutine, and reports WriteData's last error on
// errs.
func streamHandler(errs chan<- error) Handler {
	return HandlerFunc(func(w *ResponseWriter, r *Request) {
		n, _ := strconv.Atoi(queryOr(r, "n", "4"))
		size, _ := strconv.Atoi(queryOr(r, "size", "1000"))
		w.Detach()
		go func() {
			err := w.WriteHead(EncodeHeaderBlock(200, [][2]string{{"content-type", "text/event-stream"}}, -1))
			for i := 0; i < n && err == nil; i++ {
				err = w.WriteData(bigData[i*size:(i+1)*size], false)
			}
			if err == nil {
				err = w.WriteData(nil, true)
			}
			if errs != nil {
				errs <- err
			}
		}()
	})
}

func TestWriteData(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		n, size int
		window  int // the client's stream and connection window, 0: default
	}{
		{"small chunks", 5, 100, 0},
		{"chunks above the window", 4, 100_000, 0},
		{"tiny window", 3, 5000, 1000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			errs := make(chan error, 1)
			s := startServer(t, streamHandler(errs), Options{})
			c := goClient(tt.window)
			resp, err := c.Get("http://" + s.addr + "/chunks?n=" + strconv.Itoa(tt.n) + "&size=" + strconv.Itoa(tt.size))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.ContentLength != -1 || !bytes.Equal(b, bigData[:tt.n*tt.size]) {
				t.Fatalf("%d bytes, Content-Length %d, %v", len(b), resp.ContentLength, err)
			}
			if err := <-errs; err != nil {
				t.Errorf("WriteData: %v", err)
			}
		})
	}
}

// TestWriteDataReset: a client that resets the stream unblocks WriteData
// with ErrStreamClosed.
func TestWriteDataReset(t *testing.T) {
	t.Parallel()
	errs := make(chan error, 1)
	s := startServer(t, streamHandler(errs), Options{})
	rc := dialRaw(t, s.addr)
	// 1 MB against the default 64 KiB window: WriteData waits for a
	// WINDOW_UPDATE that never comes.
	rc.get(1, "/chunks?n=1&size=1000000")
	for got := 0; got < 65535; {
		if d, ok := rc.next().(*http2.DataFrame); ok {
			got += len(d.Data())
		}
	}
	_ = rc.fr.WriteRSTStream(1, http2.ErrCodeCancel)
	select {
	case err := <-errs:
		if !errors.Is(err, ErrStreamClosed) {
			t.Errorf("WriteData: %v, want ErrStreamClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WriteData still blocked after the client reset the stream")
	}
}
