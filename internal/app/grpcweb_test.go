package app_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/config"
)

// gRPC-Web calls over HTTP/1.1 on the plaintext port, as a browser sends
// them: binary and base64 ("-text") bodies, and the CORS preflight.
func TestGRPCWebOverHTTP1(t *testing.T) {
	t.Parallel()
	a := startGRPC(t, func(s *config.Settings) { s.HTTP, s.HTTPS, s.Admin, s.GRPC = "127.0.0.1:0", "", "", "" })
	url := "http://" + a.HTTPAddr.String() + "/decoy.demo.v1.Users/GetUser"
	c := &http.Client{Timeout: 10 * time.Second}
	frame := []byte{0, 0, 0, 0, 0} // an empty GetUserRequest

	for _, tt := range []struct {
		ctype string
		body  []byte
		text  bool
	}{
		{"application/grpc-web+proto", frame, false},
		{"application/grpc-web", frame, false},
		{"application/grpc-web-text", []byte(base64.StdEncoding.EncodeToString(frame)), true},
	} {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(tt.body))
		req.Header.Set("Content-Type", tt.ctype)
		req.Header.Set("X-Grpc-Web", "1")
		req.Header.Set("Origin", "http://localhost:3000")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ProtoMajor != 1 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.ctype) {
			t.Fatalf("%s: %s %d %q", tt.ctype, resp.Proto, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" || !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "grpc-status") {
			t.Errorf("%s: CORS headers %v", tt.ctype, resp.Header)
		}
		if tt.text {
			// Each block is base64 on its own: decode them one by one.
			var out []byte
			for rest := string(b); rest != ""; {
				n := strings.Index(rest, "=")
				end := len(rest)
				if n >= 0 {
					for end = n; end < len(rest) && rest[end] == '='; end++ {
					}
				}
				d, err := base64.StdEncoding.DecodeString(rest[:end])
				if err != nil {
					t.Fatalf("-text body %q: %v", b, err)
				}
				out = append(out, d...)
				rest = rest[end:]
			}
			b = out
		}
		if len(b) < 5 || b[0] != 0 || !bytes.HasSuffix(b, []byte("grpc-status:0\r\n")) {
			t.Errorf("%s: body %q: want a message, then trailers with grpc-status 0", tt.ctype, b)
		}
	}

	// The browser's preflight.
	req, _ := http.NewRequest("OPTIONS", url, nil)
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-grpc-web,x-user-agent")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		resp.Header.Get("Access-Control-Allow-Headers") != "content-type,x-grpc-web,x-user-agent" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}

	// Other requests still go to the stubs (none here: 404).
	resp, err = c.Post("http://"+a.HTTPAddr.String()+"/decoy.demo.v1.Users/GetUser", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("a JSON POST: %d, want 404 from the stubs", resp.StatusCode)
	}
}

// TestGRPCWebLimitsAndContentTypeCase: on the plaintext port over
// HTTP/1.1, a gRPC-Web body over max-body-bytes (refused by the HTTP server
// before the gRPC front door reads it) and a message whose prefix claims
// more than the limit both end with RESOURCE_EXHAUSTED as a gRPC-Web
// status, not an HTTP 413 or an INTERNAL; and the content type is matched
// whatever its case.
func TestGRPCWebLimitsAndContentTypeCase(t *testing.T) {
	t.Parallel()
	a := startGRPC(t, func(s *config.Settings) {
		s.HTTP, s.HTTPS, s.Admin, s.GRPC = "127.0.0.1:0", "", "", ""
		s.MaxBodyBytes = 1024
	})
	url := "http://" + a.HTTPAddr.String() + "/decoy.demo.v1.Users/GetUser"
	c := &http.Client{Timeout: 10 * time.Second}
	big := append([]byte{0, 0, 0, 0x07, 0xd3, 0x0a, 0xd0, 0x0f}, bytes.Repeat([]byte{'x'}, 2000)...) // a 2003-byte message
	cases := []struct {
		name, ctype string
		body        []byte
		want        string // the trailers' status
		respType    string
	}{
		{"body over max-body-bytes", "application/grpc-web+proto", big, "grpc-status:8\r\n", "application/grpc-web+proto"},
		{"prefix over the limit", "application/grpc-web+proto", []byte{0, 0x7f, 0xff, 0xff, 0xff, 0x0a}, "grpc-status:8\r\n", "application/grpc-web+proto"},
		{"mixed-case content type", "Application/GRPC-Web+Proto", []byte{0, 0, 0, 0, 0}, "grpc-status:0\r\n", "application/grpc-web+proto"},
		{"mixed-case over max-body-bytes", "Application/GRPC-Web", big, "grpc-status:8\r\n", "application/grpc-web"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.ctype)
			req.Header.Set("Origin", "http://localhost:3000")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.respType {
				t.Fatalf("%d %q: %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
				t.Errorf("CORS headers %v", resp.Header)
			}
			i := bytes.LastIndexByte(b, 0x80) // the trailers block
			if i < 0 || !strings.HasPrefix(string(b[i+5:]), tc.want) {
				t.Errorf("body %q: want trailers starting %q", b, tc.want)
			}
		})
	}
}

// TestGRPCWebCORSOrigins: with cors-origin, gRPC-Web calls and their
// preflights get CORS headers for those origins only (the call itself is
// answered: the browser is the one that refuses it), on the loops'
// hand-over to fasthttp and on the body-too-large answer alike.
func TestGRPCWebCORSOrigins(t *testing.T) {
	t.Parallel()
	a := startGRPC(t, func(s *config.Settings) {
		s.HTTP, s.HTTPS, s.Admin, s.GRPC = "127.0.0.1:0", "", "", ""
		s.CORSOrigins = []string{"http://localhost:3000"}
		s.MaxBodyBytes = 64
	})
	url := "http://" + a.HTTPAddr.String() + "/decoy.demo.v1.Users/GetUser"
	c := &http.Client{Timeout: 10 * time.Second}
	for _, tt := range []struct {
		name, method, origin string
		body                 []byte
		allow                string
	}{
		{"call, allowed", "POST", "http://localhost:3000", []byte{0, 0, 0, 0, 0}, "http://localhost:3000"},
		{"call, other origin", "POST", "https://evil.example", []byte{0, 0, 0, 0, 0}, ""},
		{"preflight, allowed", "OPTIONS", "http://localhost:3000", nil, "http://localhost:3000"},
		{"preflight, other origin", "OPTIONS", "https://evil.example", nil, ""},
		{"too large, allowed", "POST", "http://localhost:3000", make([]byte, 200), "http://localhost:3000"},
		{"too large, other origin", "POST", "https://evil.example", make([]byte, 200), ""},
	} {
		req, _ := http.NewRequest(tt.method, url, bytes.NewReader(tt.body))
		req.Header.Set("Origin", tt.origin)
		if tt.method == "OPTIONS" {
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type,x-grpc-web")
		} else {
			req.Header.Set("Content-Type", "application/grpc-web+proto")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if want := map[string]int{"OPTIONS": 204, "POST": 200}[tt.method]; resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, want)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.allow {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", tt.name, got, tt.allow)
		}
	}
}
