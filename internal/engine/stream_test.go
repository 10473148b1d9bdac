package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

func TestCompileStream(t *testing.T) {
	t.Parallel()
	ms := stub.Duration(time.Millisecond)
	for _, tt := range []struct {
		name  string
		r     stub.Response
		err   string // the field in error, "" for none
		body  string
		ctype string
	}{
		{name: "events", r: stub.Response{Stream: &stub.Stream{Chunks: []string{"data: 1\n\n", ": ping\n\n"}, Interval: ms}},
			body: "data: 1\n\n: ping\n\n", ctype: "text/event-stream"},
		{name: "events repeated", r: stub.Response{Stream: &stub.Stream{Chunks: []string{"data: 1\n\n", "id: 2\ndata: 2\n\n"}, Repeat: 2}},
			body: "data: 1\n\nid: 2\ndata: 2\n\ndata: 1\n\nid: 2\ndata: 2\n\n", ctype: "text/event-stream"},
		{name: "text chunks", r: stub.Response{Stream: &stub.Stream{Chunks: []string{"a", "b"}}}, body: "ab", ctype: "text/plain; charset=utf-8"},
		{name: "body repeated", r: stub.Response{Body: stub.Text("x\n"), Stream: &stub.Stream{Repeat: 3}}, body: "x\nx\nx\n", ctype: "text/plain; charset=utf-8"},
		{name: "body once", r: stub.Response{Body: stub.Text("x\n"), Stream: &stub.Stream{}}, body: "x\n", ctype: "text/plain; charset=utf-8"},
		{name: "event body", r: stub.Response{Body: stub.Text("data: x\n\n"), Stream: &stub.Stream{Repeat: 2}}, body: "data: x\n\ndata: x\n\n", ctype: "text/event-stream"},
		{name: "content type given", r: stub.Response{Headers: map[string]stub.HeaderValues{"Content-Type": {"application/x-ndjson"}},
			Body: stub.Text("{}\n"), Stream: &stub.Stream{Repeat: 2}}, body: "{}\n{}\n", ctype: "application/x-ndjson"},
		{name: "chunks and body", r: stub.Response{Body: stub.Text("x"), Stream: &stub.Stream{Chunks: []string{"a"}}}, err: "stream.chunks"},
		{name: "nothing to send", r: stub.Response{Stream: &stub.Stream{Repeat: 2}}, err: "stream"},
		{name: "negative repeat", r: stub.Response{Stream: &stub.Stream{Chunks: []string{"a"}, Repeat: -1}}, err: "stream.repeat"},
		{name: "repeat too large", r: stub.Response{Stream: &stub.Stream{Chunks: []string{"a"}, Repeat: MaxStreamChunks + 1}}, err: "stream.repeat"},
		{name: "too many chunks", r: stub.Response{Stream: &stub.Stream{Chunks: []string{"a", "b"}, Repeat: MaxStreamChunks/2 + 1}}, err: "stream"},
		{name: "too large", r: stub.Response{Stream: &stub.Stream{Chunks: []string{strings.Repeat("a", 1<<20)}, Repeat: 9}}, err: "stream"},
		{name: "empty chunk", r: stub.Response{Stream: &stub.Stream{Chunks: []string{"a", ""}}}, err: "stream.chunks[1]"},
		{name: "negative interval", r: stub.Response{Stream: &stub.Stream{Chunks: []string{"a"}, Interval: -ms}}, err: "stream.interval"},
		{name: "with throttle", r: stub.Response{Throttle: 100, Stream: &stub.Stream{Chunks: []string{"a"}}}, err: "stream"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errs := compileResponse(tt.r, "", "", nil)
			if tt.err != "" {
				found := false
				for _, e := range errs {
					found = found || e.Field == tt.err
				}
				if !found {
					t.Fatalf("errors %v, want one on %s", errs, tt.err)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if string(out.Body) != tt.body || out.ContentType != tt.ctype {
				t.Errorf("body %q, type %q; want %q, %q", out.Body, out.ContentType, tt.body, tt.ctype)
			}
			if out.Behave == nil || !out.Behave.Pacer.Streams() {
				t.Error("not paced as a stream")
			}
		})
	}
}

// FuzzCompileStream: any stream spec compiles or reports errors, never
// panics; a compiled one's schedule covers its body exactly, chunk after
// chunk.
func FuzzCompileStream(f *testing.F) {
	f.Add("data: a\n\n|data: b\n\n", 3, "", int64(1000))
	f.Add("", 2, "tick\n", int64(0))
	f.Add("a||b", 0, "", int64(-5))
	f.Add("x", 1000001, "", int64(1))
	f.Fuzz(func(t *testing.T, chunks string, repeat int, body string, interval int64) {
		r := stub.Response{Stream: &stub.Stream{Repeat: repeat, Interval: stub.Duration(interval)}}
		if chunks != "" {
			r.Stream.Chunks = strings.Split(chunks, "|")
		}
		if body != "" {
			r.Body = stub.Text(body)
		}
		out, errs := compileResponse(r, "", "", nil)
		if len(errs) > 0 {
			return
		}
		s := out.Behave.Pacer.Schedule(int64(len(out.Body)))
		var off int64
		for c, ok := s.Next(); ok; c, ok = s.Next() {
			if c.Off != off || c.Len <= 0 {
				t.Fatalf("chunk %+v after %d bytes", c, off)
			}
			off += c.Len
		}
		if off != int64(len(out.Body)) {
			t.Fatalf("the schedule covers %d of %d bytes", off, len(out.Body))
		}
	})
}
