package grpcfront_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"net/http"
	"testing"

	"github.com/decoy-dev/decoy/internal/journal"
)

// TestGzipRequests: messages compressed with gzip (grpc-encoding: gzip,
// the compressor every gRPC implementation ships) are read, matched and
// journaled like plain ones. The test speaks HTTP/2 itself: a grpc-go
// client in this process would register gzip for the server too.
func TestGzipRequests(t *testing.T) {
	t.Parallel()
	s := start(t, `
- id: by-id
  request:
    path: /shop.v1.Users/GetUser
    body: {jsonPath: [{path: $.id, equals: 42}]}
  response: {body: {id: 42, name: Ada}}
- id: import
  request:
    path: /shop.v1.Users/ImportUsers
    body: {jsonPath: [{path: "$[1].name", equals: Bob}]}
  response: {body: {imported: 2}}
`, opts{journal: 10})
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	gz := func(msg []byte) []byte {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		_, _ = w.Write(msg)
		_ = w.Close()
		b := make([]byte, 5, 5+z.Len())
		b[0] = 1 // compressed
		binary.BigEndian.PutUint32(b[1:], uint32(z.Len()))
		return append(b, z.Bytes()...)
	}
	for _, tc := range []struct {
		path, stub, body string
		frames           [][]byte
	}{
		{getUser, "by-id", `{"id":42}`, [][]byte{{0x08, 0x2a}}},
		{importUsers, "import", `[{"name":"Al"},{"name":"Bob"}]`, [][]byte{{0x12, 0x02, 'A', 'l'}, {0x12, 0x03, 'B', 'o', 'b'}}},
	} {
		var body []byte
		for _, f := range tc.frames {
			body = append(body, gz(f)...)
		}
		req, err := http.NewRequestWithContext(ctx(t), "POST", "http://"+s.addr+tc.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("TE", "trailers")
		req.Header.Set("Grpc-Encoding", "gzip")
		req.Header.Set("Grpc-Accept-Encoding", "identity")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		code := resp.Trailer.Get("Grpc-Status") + resp.Header.Get("Grpc-Status")
		if code != "0" {
			t.Errorf("%s: grpc-status %q (%s), want 0", tc.path, code, resp.Trailer.Get("Grpc-Message")+resp.Header.Get("Grpc-Message"))
		}
		es := s.journal.Find(journal.Filter{})
		if len(es) == 0 || es[0].Path != tc.path || es[0].Stub != tc.stub || es[0].Body != tc.body || grpcCode(es[0]) != 0 {
			t.Errorf("%s: the journal's newest entry is %+v, want the call answered by %s with body %s", tc.path, es, tc.stub, tc.body)
		}
	}
}
