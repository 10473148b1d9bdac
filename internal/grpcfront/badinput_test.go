package grpcfront_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
)

// rawCodec lets a test send bytes that are not a valid message.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// stillServes fails the test unless an ordinary call succeeds.
func stillServes(t *testing.T, s *server) {
	t.Helper()
	if err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 1}`), s.out(t, "shop.v1.User")); err != nil {
		t.Fatalf("the server no longer serves: %v", err)
	}
}

func TestMalformedMessage(t *testing.T) {
	t.Parallel()
	for _, journal := range []int{0, 10} { // checked only, and decoded
		s := start(t, "", opts{journal: journal})
		for _, bad := range [][]byte{
			{0xff, 0xff, 0xff}, // a truncated tag
			{0x0a, 0x05, 'a'},  // a length past the end
			{0x08},             // a tag without its value
		} {
			var out []byte
			err := s.conn.Invoke(ctx(t), getUser, &bad, &out, grpc.ForceCodecV2(rawCodec{}))
			if st := status.Convert(err); st.Code() != codes.Internal || !strings.Contains(st.Message(), "error unmarshalling request") {
				t.Errorf("journal %d, % x: %v", journal, bad, err)
			}
		}
		for _, bad := range [][]byte{
			{0x5a, 0x02, 0x0a, 0x80}, // manager (a User) holding a truncated field
			{0x12, 0x01, 0x80},       // name that is not UTF-8
		} {
			cs, err := s.conn.NewStream(ctx(t), &grpc.StreamDesc{ClientStreams: true}, importUsers, grpc.ForceCodecV2(rawCodec{}))
			if err != nil {
				t.Fatal(err)
			}
			_ = cs.SendMsg(&bad)
			_ = cs.CloseSend()
			var out []byte
			err = cs.RecvMsg(&out)
			if st := status.Convert(err); st.Code() != codes.Internal || !strings.Contains(st.Message(), "error unmarshalling request") {
				t.Errorf("journal %d, % x: %v", journal, bad, err)
			}
		}
		stillServes(t, s)
	}
}

func TestOversizedMessage(t *testing.T) {
	t.Parallel()
	s := start(t, "", opts{maxRecv: 1024})
	big := s.msg(t, "shop.v1.User", `{"name": "`+strings.Repeat("x", 2000)+`"}`)
	cs := streamOf(t, s, ctx(t), importUsers, true, false)
	_ = cs.SendMsg(big)
	_ = cs.CloseSend()
	err := cs.RecvMsg(s.out(t, "shop.v1.ImportSummary"))
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted {
		t.Errorf("oversized message: %v", err)
	}
	// Many small messages that together exceed the limit.
	cs = streamOf(t, s, ctx(t), importUsers, true, false)
	for i := 0; i < 20; i++ {
		_ = cs.SendMsg(s.msg(t, "shop.v1.User", `{"name": "`+strings.Repeat("y", 100)+`"}`))
	}
	_ = cs.CloseSend()
	err = cs.RecvMsg(s.out(t, "shop.v1.ImportSummary"))
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted {
		t.Errorf("oversized stream: %v", err)
	}
	stillServes(t, s)
}

// TestMalformedFrames speaks HTTP/2 directly to send gRPC frames no
// grpc-go client would.
func TestMalformedFrames(t *testing.T) {
	t.Parallel()
	s := start(t, "")
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	frame := func(flag byte, declared int, payload []byte) []byte {
		b := make([]byte, 5, 5+len(payload))
		b[0] = flag
		binary.BigEndian.PutUint32(b[1:], uint32(declared))
		return append(b, payload...)
	}
	for _, tc := range []struct {
		name string
		body []byte
		want codes.Code
	}{
		{"length past the end of the stream", frame(0, 100, []byte{0x08, 0x01}), codes.Internal},
		{"compressed flag without an encoding", frame(1, 2, []byte{0x08, 0x01}), codes.Internal},
		{"half a frame header", []byte{0, 0, 0}, codes.Internal},
		{"no message at all", nil, codes.Internal},
		{"declared length over the limit", frame(0, 64<<20, []byte{0x08}), codes.ResourceExhausted},
	} {
		req, err := http.NewRequestWithContext(ctx(t), "POST", "http://"+s.addr+getUser, bytes.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("TE", "trailers")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		code := resp.Trailer.Get("Grpc-Status")
		if code == "" {
			code = resp.Header.Get("Grpc-Status") // a trailers-only answer
		}
		if code != strconv.Itoa(int(tc.want)) {
			t.Errorf("%s: grpc-status %q (%s), want %d", tc.name, code, resp.Trailer.Get("Grpc-Message")+resp.Header.Get("Grpc-Message"), tc.want)
		}
	}
	stillServes(t, s)
}

// TestSecondRequestMessage: a unary or server-streaming call that sends a
// second message gets INTERNAL "cardinality violation", as from grpc-go's
// own handlers (decoy's health service too), and no answer.
func TestSecondRequestMessage(t *testing.T) {
	t.Parallel()
	s := start(t, unaryStubs, opts{journal: 10})
	for _, method := range []string{getUser, listUsers, healthpb.Health_Check_FullMethodName, healthpb.Health_Watch_FullMethodName} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			cs, err := s.conn.NewStream(ctx(t), &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, method, grpc.ForceCodecV2(rawCodec{}))
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				req := []byte{}
				if err := cs.SendMsg(&req); err != nil {
					t.Fatal(err)
				}
			}
			if err := cs.CloseSend(); err != nil {
				t.Fatal(err)
			}
			var out []byte
			err = cs.RecvMsg(&out)
			if st := status.Convert(err); st.Code() != codes.Internal || !strings.Contains(st.Message(), "cardinality violation") {
				t.Fatalf("got %v, want INTERNAL cardinality violation", err)
			}
		})
	}
}
