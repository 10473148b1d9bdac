package app_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/config"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawGRPC sends one gRPC call to addr as HTTP/2 frames written by hand
// (h2c), so that it can break the protocol's rules: extra header fields,
// and the request body as given, ended (END_STREAM) or not. It returns
// the answer's header fields (every block, in order) and the code of an
// RST_STREAM, if one came.
func rawGRPC(t *testing.T, addr, path string, extra [][2]string, body []byte, end bool) (fields map[string]string, rst http2.ErrCode, reset bool) {
	t.Helper()
	fr := dialH2(t, addr)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	base := [][2]string{
		{":method", "POST"}, {":scheme", "http"}, {":path", path}, {":authority", addr},
		{"content-type", "application/grpc"}, {"te", "trailers"},
	}
	base = slices.DeleteFunc(base, func(f [2]string) bool {
		return slices.ContainsFunc(extra, func(e [2]string) bool { return e[0] == f[0] })
	})
	for _, f := range append(base, extra...) {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: len(body) == 0 && end}); err != nil {
		t.Fatal(err)
	}
	if len(body) > 0 {
		if err := fr.WriteData(1, end, body); err != nil {
			t.Fatal(err)
		}
	}
	fields = map[string]string{}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the answer: %v (so far %v)", err, fields)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID != 1 {
				continue
			}
			for _, hf := range f.Fields {
				fields[hf.Name] = hf.Value
			}
			if f.StreamEnded() {
				return fields, 0, false
			}
		case *http2.DataFrame:
			if f.StreamID == 1 && f.StreamEnded() {
				return fields, 0, false
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == 1 {
				return fields, f.ErrCode, true
			}
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v (so far %v)", f.ErrCode, fields)
		}
	}
}

// dialH2 opens an HTTP/2 connection in cleartext, closed when the test
// ends, and sends the preface and SETTINGS; reads and writes fail after
// 10 s.
func dialH2(t *testing.T, addr string) *http2.Framer {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return fr
}

// grpcPrefix is the length prefix of a message of n bytes with flag.
func grpcPrefix(flag byte, n int) []byte {
	b := []byte{flag, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(n))
	return b
}

// TestGRPCMalformedCallsOnEveryPort: calls that break gRPC's rules end
// with the status grpc-go's own transport gives them (on a gRPC port with
// grpc-engine go), on the gRPC port and on the HTTP port, both on decoy's
// own HTTP/2 loop.
func TestGRPCMalformedCallsOnEveryPort(t *testing.T) {
	t.Parallel()
	ref := startGRPC(t, func(s *config.Settings) {
		s.HTTP, s.HTTPS, s.Admin, s.GRPC, s.MaxBodyBytes, s.GRPCEngine = "", "", "", "127.0.0.1:0", 1<<10, "go"
	})
	a := startGRPC(t, func(s *config.Settings) {
		s.HTTP, s.HTTPS, s.Admin, s.GRPC, s.MaxBodyBytes = "127.0.0.1:0", "", "", "127.0.0.1:0", 1<<10
	})
	const getUser = "/decoy.demo.v1.Users/GetUser"
	msg := []byte{0x08, 0x2a} // {"id": 42}
	ok := append(grpcPrefix(0, len(msg)), msg...)
	for _, tc := range []struct {
		name   string
		extra  [][2]string
		body   []byte
		status string // grpc-status
		http   string // :status, when not 200
	}{
		{"ordinary", nil, ok, "0", ""},
		{"compressed flag without grpc-encoding", nil, append(grpcPrefix(1, len(msg)), msg...), "13", ""},
		{"unknown flag", nil, append(grpcPrefix(2, len(msg)), msg...), "13", ""},
		{"body ends inside the prefix", nil, ok[:3], "13", ""},
		{"body ends inside the message", nil, ok[:6], "13", ""},
		{"message over the limit", nil, grpcPrefix(0, 1<<10+1), "8", ""},
		{"no message", nil, nil, "13", ""},
		{"two messages", nil, append(append([]byte(nil), ok...), ok...), "13", ""},
		{"not protobuf", nil, append(grpcPrefix(0, 2), 0x0a, 0x05), "13", ""},
		{"unknown method", nil, ok, "12", ""},
		{"subtype not served", [][2]string{{"content-type", "application/grpc+thrift"}}, ok, "12", ""},
		{"malformed grpc-timeout", [][2]string{{"grpc-timeout", "soon"}}, ok, "13", "400"},
		{"binary metadata not base64", [][2]string{{"x-key-bin", "!!"}}, ok, "13", "400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, port := range []struct {
				name string
				addr net.Addr
			}{{"grpc-go's", ref.GRPCAddr}, {"grpc", a.GRPCAddr}, {"http", a.HTTPAddr}} {
				path := getUser
				if tc.name == "unknown method" {
					path = "/decoy.demo.v1.Users/Nope"
				}
				extra := tc.extra
				fields, code, reset := rawGRPC(t, port.addr.String(), path, extra, tc.body, true)
				wantHTTP := cmp.Or(tc.http, "200")
				if reset || fields["grpc-status"] != tc.status || fields[":status"] != wantHTTP {
					t.Errorf("%s port: %v (reset %v %v), want :status %s, grpc-status %s", port.name, fields, reset, code, wantHTTP, tc.status)
				}
				if tc.name == "compressed flag without grpc-encoding" && !strings.Contains(fields["grpc-message"], "compressed flag") {
					t.Errorf("%s port: grpc-message %q, want the compressed flag named", port.name, fields["grpc-message"])
				}
			}
		})
	}
}

// FuzzGRPCCallOnHTTPPort sends gRPC calls whose body, grpc-timeout and
// binary metadata are arbitrary to the HTTP port, where decoy's own
// HTTP/2 loop reads them: each call ends with a gRPC status (or, for a
// header HTTP/2 forbids, a reset stream), never a hang or a crash, and
// an ordinary call is answered after it.
func FuzzGRPCCallOnHTTPPort(f *testing.F) {
	a := startGRPC(f, func(s *config.Settings) {
		s.HTTP, s.HTTPS, s.Admin, s.GRPC, s.MaxBodyBytes = "127.0.0.1:0", "", "", "", 1<<10
	})
	msg := append(grpcPrefix(0, 2), 0x08, 0x2a)
	f.Add(msg, "", "", false)
	f.Add(append(grpcPrefix(1, 2), 0x08, 0x2a), "1S", "AQI=", false)
	f.Add(append(append([]byte(nil), msg...), msg...), "99999999H", "!!", true)
	f.Add(grpcPrefix(0, 1<<20), "0n", "", false)
	f.Add(msg[:4], "1m", "", true)
	addr := a.HTTPAddr.String()
	f.Fuzz(func(t *testing.T, body []byte, timeout, bin string, stream bool) {
		var extra [][2]string
		if timeout != "" {
			extra = append(extra, [2]string{"grpc-timeout", timeout})
		}
		if bin != "" {
			extra = append(extra, [2]string{"x-fuzz-bin", bin})
		}
		path := "/decoy.demo.v1.Users/GetUser"
		if stream {
			path = "/decoy.demo.v1.Users/Chat"
		}
		fields, _, reset := rawGRPC(t, addr, path, extra, body, true)
		if !reset {
			code, err := strconv.Atoi(fields["grpc-status"])
			if err != nil || code < 0 || code > 16 {
				t.Fatalf("no gRPC status: %v", fields)
			}
		}
		if fields, _, _ := rawGRPC(t, addr, "/decoy.demo.v1.Users/GetUser", nil, msg, true); fields["grpc-status"] != "0" {
			t.Fatalf("an ordinary call after it: %v", fields)
		}
	})
}

// TestGRPCPortPolicesPings: on the gRPC port, with either engine, a
// client that pings more often than once a second with no call answered
// between is told to stop (GOAWAY ENHANCE_YOUR_CALM "too_many_pings"),
// as by a grpc-go server, after its third PING too soon (acknowledged
// too).
func TestGRPCPortPolicesPings(t *testing.T) {
	t.Parallel()
	for _, engineName := range []string{"decoy", "go"} {
		t.Run(engineName, func(t *testing.T) {
			a := startGRPC(t, func(s *config.Settings) {
				s.HTTP, s.HTTPS, s.Admin, s.GRPC, s.GRPCEngine = "", "", "", "127.0.0.1:0", engineName
			})
			fr := dialH2(t, a.GRPCAddr.String())
			for i := range 4 {
				_ = fr.WritePing(false, [8]byte{byte(i)})
			}
			acks := 0
			for {
				f, err := fr.ReadFrame()
				if err != nil {
					t.Fatalf("after %d PING ACKs: %v, want GOAWAY", acks, err)
				}
				switch f := f.(type) {
				case *http2.PingFrame:
					acks++
				case *http2.GoAwayFrame:
					if f.ErrCode != http2.ErrCodeEnhanceYourCalm || string(f.DebugData()) != "too_many_pings" || acks != 4 {
						t.Errorf("GOAWAY %v %q after %d PING ACKs, want ENHANCE_YOUR_CALM too_many_pings after 4", f.ErrCode, f.DebugData(), acks)
					}
					return
				}
			}
		})
	}
}

// TestGRPCPortShutdownWithSilentClient: a graceful shutdown does not
// wait for a client that connected to the gRPC port and said nothing (its
// preface, or its TLS handshake, has 10 s to come): it ends well within
// a 5 s shutdown timeout.
func TestGRPCPortShutdownWithSilentClient(t *testing.T) {
	t.Parallel()
	a := startGRPC(t, func(s *config.Settings) {
		s.HTTP, s.HTTPS, s.Admin, s.GRPC = "", "", "", "127.0.0.1:0"
	})
	c, err := net.Dial("tcp", a.GRPCAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The connection is accepted once a call on another one is answered.
	fields, _, _ := rawGRPC(t, a.GRPCAddr.String(), "/decoy.demo.v1.Users/GetUser", nil, append(grpcPrefix(0, 2), 0x08, 0x2a), true)
	if fields["grpc-status"] != "0" {
		t.Fatalf("a call: %v", fields)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v, want it done before its timeout", err)
	}
}
