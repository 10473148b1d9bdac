package grpcfront_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/grpcfront"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// servesAgain fails the test unless an ordinary call succeeds, on a new
// connection if the fault broke the old one.
func servesAgain(t *testing.T, s *server) {
	t.Helper()
	if err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 1}`), s.out(t, "shop.v1.User"), grpc.WaitForReady(true)); err != nil {
		t.Fatalf("the server no longer serves: %v", err)
	}
}

// TestConnectionAndStreamFaults: the faults that break a connection or a
// stream do so on the wire, as a grpc-go client sees them.
func TestConnectionAndStreamFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		fault string
		code  codes.Code
		msg   string // in the client's error
		conns int    // connections accepted after the call and servesAgain
	}{
		{"reset", `reset`, codes.Unavailable, "connection reset", 2},
		{"empty", `empty`, codes.Unavailable, "", 2},
		{"garbage", `{kind: garbage, bytes: 32}`, codes.Unavailable, "", 2},
		{"malformed", `malformed`, codes.Unavailable, "", 2},
		{"rstStream CANCEL", `{kind: reset, h2: {rstStream: CANCEL}}`, codes.Canceled, "RST_STREAM", 1},
		{"rstStream INTERNAL_ERROR", `{kind: reset, h2: {rstStream: INTERNAL_ERROR}}`, codes.Internal, "RST_STREAM", 1},
		{"rstStream ENHANCE_YOUR_CALM", `{kind: reset, h2: {rstStream: ENHANCE_YOUR_CALM}}`, codes.ResourceExhausted, "RST_STREAM", 1},
		// Not processed: grpc-go retries once by itself (on a new
		// connection after GOAWAY), and the retry is refused too.
		{"rstStream REFUSED_STREAM", `{kind: reset, h2: {rstStream: REFUSED_STREAM}}`, codes.Unavailable, "REFUSED_STREAM", 1},
		{"goaway", `{kind: reset, h2: {goaway: true}}`, codes.Unavailable, "draining", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, `
- request: {path: /shop.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 9}]}}
  response: {faults: [`+tc.fault+`]}
`)
			err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 9}`), s.out(t, "shop.v1.User"))
			conns := tc.conns
			// A client that writes while the reset arrives takes the
			// reset on its write, and its reader then sees a plain EOF:
			// under load that happens now and then. A reset is shown by
			// "connection reset" on one of a few calls (a clean close
			// never says it); each call takes a new connection.
			for try := 1; tc.name == "reset" && try < 5 && status.Code(err) == tc.code && !strings.Contains(status.Convert(err).Message(), tc.msg); try++ {
				servesAgain(t, s)
				err = s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 9}`), s.out(t, "shop.v1.User"))
				conns++
			}
			if st := status.Convert(err); st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
				t.Errorf("got %v, want %v with %q", err, tc.code, tc.msg)
			}
			servesAgain(t, s)
			if n := grpcfront.Accepted(s.front); n != conns {
				t.Errorf("%d connections accepted, want %d", n, conns)
			}
		})
	}
}

// TestGoAwayAndRefusedStreamAreRetried: GOAWAY naming an earlier stream,
// and REFUSED_STREAM, tell the client the call was not processed; grpc-go
// retries it by itself, on a new connection after a GOAWAY.
func TestGoAwayAndRefusedStreamAreRetried(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		fault string
		conns int
	}{
		{"goaway", `{kind: reset, h2: {goaway: true}}`, 2},
		{"refused stream", `{kind: reset, h2: {rstStream: REFUSED_STREAM}}`, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, `
- id: flaky
  request: {path: /shop.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 9}]}}
  responses:
    - {faults: [`+tc.fault+`]}
    - {body: {id: 9, name: retried}}
`)
			servesAgain(t, s) // a call before: the faulted one is not the connection's first stream
			out := s.out(t, "shop.v1.User")
			if err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 9}`), out); err != nil {
				t.Fatalf("call: %v", err)
			}
			if got := jsonOf(t, out); got != `{"id":"9","name":"retried"}` {
				t.Errorf("answer %s", got)
			}
			servesAgain(t, s)
			if n := grpcfront.Accepted(s.front); n != tc.conns {
				t.Errorf("%d connections accepted, want %d", n, tc.conns)
			}
			// The faulted call's handler counts its response after it has
			// sent the frame, and the client may have had the retry's
			// answer by then: wait (bounded) for the count.
			st := s.store.Engine().Snapshot().Get("flaky").Stats()
			v := st.Read()
			for deadline := time.Now().Add(10 * time.Second); v.Responses[0] == 0 && time.Now().Before(deadline); v = st.Read() {
				time.Sleep(time.Millisecond)
			}
			if v.Responses[0] != 1 || v.Responses[1] != 1 {
				t.Errorf("responses %v: want the faulted one, then the retry", v.Responses)
			}
		})
	}
}

// TestGoAwayLetsEarlierCallsFinish: the calls opened before the faulted
// one on its connection go on after the GOAWAY.
func TestGoAwayLetsEarlierCallsFinish(t *testing.T) {
	t.Parallel()
	s := start(t, `
- request: {path: /shop.v1.Users/ListUsers}
  response:
    grpc:
      stream: [{body: {id: 1}}, {body: {id: 2}, delay: 500ms}]
- request: {path: /shop.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 9}]}}
  responses:
    - {faults: [{kind: reset, h2: {goaway: true}}]}
    - {body: {id: 9}}
`)
	cs := streamOf(t, s, ctx(t), listUsers, false, true)
	_ = cs.SendMsg(s.msg(t, "shop.v1.ListUsersRequest", `{}`))
	_ = cs.CloseSend()
	if err := cs.RecvMsg(s.out(t, "shop.v1.User")); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 9}`), s.out(t, "shop.v1.User")); err != nil {
		t.Fatalf("faulted call, retried: %v", err)
	}
	m := s.out(t, "shop.v1.User")
	if err := cs.RecvMsg(m); err != nil || jsonOf(t, m) != `{"id":"2"}` {
		t.Errorf("the earlier stream after GOAWAY: %s, %v", jsonOf(t, m), err)
	}
	if err := cs.RecvMsg(m); !errors.Is(err, io.EOF) {
		t.Errorf("end of the earlier stream: %v", err)
	}
}
