package grpcfront_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// webFrames splits a gRPC-Web response body into its messages and its
// trailers block.
func webFrames(t *testing.T, b []byte) (msgs [][]byte, trailer string) {
	t.Helper()
	for len(b) > 0 {
		if len(b) < 5 {
			t.Fatalf("a truncated block prefix: % x", b)
		}
		n := int(binary.BigEndian.Uint32(b[1:5]))
		if len(b) < 5+n {
			t.Fatalf("a truncated block of %d bytes", n)
		}
		if b[0]&0x80 != 0 {
			if len(b) != 5+n {
				t.Fatalf("%d bytes after the trailers", len(b)-5-n)
			}
			return msgs, string(b[5 : 5+n])
		}
		msgs = append(msgs, b[5:5+n])
		b = b[5+n:]
	}
	t.Fatal("no trailers block")
	return nil, ""
}

func webBody(msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = append(b, 0)
		b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
		b = append(b, m...)
	}
	return b
}

// webPost posts body to path on hs with the headers given as name, value
// pairs, and returns the answer and its body.
func webPost(t *testing.T, hs *httptest.Server, path string, body []byte, header ...string) (*http.Response, []byte) {
	t.Helper()
	r, err := http.NewRequest("POST", hs.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	resp, err := hs.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestGRPCWeb(t *testing.T) {
	t.Parallel()
	s := start(t, unaryStubs)
	hs := httptest.NewServer(s.front)
	t.Cleanup(hs.Close)
	enc := func(t *testing.T, name, js string) []byte {
		b, err := proto.Marshal(s.msg(t, name, js))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name     string
		method   string
		ct       string
		body     []byte
		code     int
		msgs     int
		contains []string // in the trailers, or the first message as JSON
		header   string   // a response header expected
	}{
		{"unary", getUser, "application/grpc-web+proto", webBody(enc(t, "shop.v1.GetUserRequest", `{"id": 42}`)), 200, 1,
			[]string{"grpc-status:0\r\n", "x-cost:3\r\n", `"name":"Ada Lovelace"`}, "X-Served-By"},
		{"text", getUser, "application/grpc-web-text", []byte(base64.StdEncoding.EncodeToString(webBody(enc(t, "shop.v1.GetUserRequest", `{"id": 42}`)))), 200, 1,
			[]string{"grpc-status:0\r\n", `"name":"Ada Lovelace"`}, "X-Served-By"},
		{"status with details", getUser, "application/grpc-web", webBody(enc(t, "shop.v1.GetUserRequest", `{"id": 404}`)), 200, 0,
			[]string{"grpc-status:3\r\n", "grpc-message:id 404 is not a valid user id\r\n", "grpc-status-details-bin:", "x-reason:test\r\n"}, ""},
		{"server streaming", listUsers, "application/grpc-web+proto", webBody(enc(t, "shop.v1.ListUsersRequest", `{}`)), 200, 3,
			[]string{"grpc-status:0\r\n"}, ""},
		{"two messages to a unary method", getUser, "application/grpc-web+proto", webBody(enc(t, "shop.v1.GetUserRequest", `{"id": 42}`), enc(t, "shop.v1.GetUserRequest", `{"id": 42}`)), 200, 0,
			[]string{"grpc-status:13\r\n", "cardinality violation"}, ""},
		{"two messages to a server stream", listUsers, "application/grpc-web+proto", webBody(nil, nil), 200, 0,
			[]string{"grpc-status:13\r\n", "cardinality violation"}, ""},
		{"malformed message", getUser, "application/grpc-web+proto", webBody([]byte{0x0a, 0x05, 'a'}), 200, 0,
			[]string{"grpc-status:13\r\n", "error unmarshalling request"}, ""},
		{"truncated frame", getUser, "application/grpc-web+proto", []byte{0, 0, 0, 0, 9, 1}, 200, 0,
			[]string{"grpc-status:13\r\n"}, ""},
		{"unknown method", "/shop.v1.Users/Nope", "application/grpc-web+proto", webBody(nil), 200, 0,
			[]string{"grpc-status:12\r\n"}, ""},
		{"JSON messages", getUser, "application/grpc-web+json", nil, 415, 0, nil, ""},
		{"mixed-case content type", getUser, "Application/GRPC-Web+Proto", webBody(enc(t, "shop.v1.GetUserRequest", `{"id": 42}`)), 200, 1,
			[]string{"grpc-status:0\r\n", `"name":"Ada Lovelace"`}, ""},
		{"message over the limit", getUser, "application/grpc-web+proto", []byte{0, 0x7f, 0xff, 0xff, 0xff, 0x0a}, 200, 0,
			[]string{"grpc-status:8\r\n", "grpc-message:grpc: received message larger than max"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, b := webPost(t, hs, tc.method, tc.body, "Content-Type", tc.ct, "X-Tenant", "acme", "X-Grpc-Web", "1")
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.code, b)
			}
			if tc.code != 200 {
				return
			}
			// Answered in lower case, whatever the request's case.
			if got := resp.Header.Get("Content-Type"); got != strings.ToLower(tc.ct) {
				t.Errorf("Content-Type %q, want %q", got, tc.ct)
			}
			if tc.header != "" && resp.Header.Get(tc.header) == "" {
				t.Errorf("no %s header in %v", tc.header, resp.Header)
			}
			if strings.HasPrefix(tc.ct, "application/grpc-web-text") {
				// Padded base64 chunks, one per block, as a gRPC-Web
				// client reads them: 4 characters at a time.
				var out []byte
				for i := 0; i+4 <= len(b); i += 4 {
					g, err := base64.StdEncoding.DecodeString(string(b[i : i+4]))
					if err != nil {
						t.Fatalf("the -text answer is not base64: %v", err)
					}
					out = append(out, g...)
				}
				if len(b)%4 != 0 {
					t.Fatalf("the -text answer has %d characters", len(b))
				}
				b = out
			}
			msgs, trailer := webFrames(t, b)
			if len(msgs) != tc.msgs {
				t.Errorf("%d messages, want %d", len(msgs), tc.msgs)
			}
			all := trailer
			if len(msgs) > 0 {
				m := s.out(t, "shop.v1.User")
				if err := proto.Unmarshal(msgs[0], m); err != nil {
					t.Fatal(err)
				}
				all += jsonOf(t, m)
			}
			for _, w := range tc.contains {
				if !strings.Contains(all, w) {
					t.Errorf("no %q in %q", w, all)
				}
			}
		})
	}
}

// A gRPC-Web call's grpc-timeout is its deadline: the longest one the
// protocol allows (99999999H, past time.Duration's range) leaves the call
// time to be answered, as on a native call, one already past ends it with
// DEADLINE_EXCEEDED, and a malformed one with INTERNAL.
func TestGRPCWebTimeout(t *testing.T) {
	t.Parallel()
	s := start(t, unaryStubs)
	hs := httptest.NewServer(s.front)
	t.Cleanup(hs.Close)
	req, err := proto.Marshal(s.msg(t, "shop.v1.GetUserRequest", `{"id": 42}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		timeout string
		status  string
		msgs    int
	}{
		{"", "grpc-status:0\r\n", 1},
		{"10S", "grpc-status:0\r\n", 1},
		{"99999999H", "grpc-status:0\r\n", 1},
		{"2562048H", "grpc-status:0\r\n", 1},
		{"0n", "grpc-status:4\r\n", 0},
		// Malformed: INTERNAL, as grpc-go answers a native call.
		{"9300000000000m", "grpc-status:13\r\ngrpc-message:malformed grpc-timeout", 0},
		{"not a timeout", "grpc-status:13\r\ngrpc-message:malformed grpc-timeout", 0},
		{"10x", "grpc-status:13\r\ngrpc-message:malformed grpc-timeout", 0},
	} {
		t.Run(tc.timeout, func(t *testing.T) {
			t.Parallel()
			h := []string{"Content-Type", "application/grpc-web+proto", "X-Tenant", "acme"}
			if tc.timeout != "" {
				h = append(h, "Grpc-Timeout", tc.timeout)
			}
			_, b := webPost(t, hs, getUser, webBody(req), h...)
			msgs, trailer := webFrames(t, b)
			if len(msgs) != tc.msgs || !strings.HasPrefix(trailer, tc.status) {
				t.Errorf("%d messages, trailers %q; want %d, %q", len(msgs), trailer, tc.msgs, tc.status)
			}
		})
	}
}
