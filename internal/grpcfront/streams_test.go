package grpcfront_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/journal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// journaled waits for the journal entry of a call to path that the stub
// answered with code (the journal records a call just after it ends).
func journaled(t *testing.T, s *server, path, stubID string, code codes.Code) journal.Entry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, e := range s.journal.Find(journal.Filter{}) {
			if e.Path == path && e.Stub == stubID && grpcCode(e) == int(code) {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no journal entry for %s answered by %q", path, stubID)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestClientStreamAnsweredAfterMessages(t *testing.T) {
	t.Parallel()
	s := start(t, `
- id: early
  request:
    path: /shop.v1.Users/ImportUsers
    body: {jsonPath: [{path: "$[0].name", equals: Ada}]}
  response:
    body: {imported: 2, names: [early]}
    grpc: {afterMessages: 2}
- id: at-end
  request: {path: /shop.v1.Users/ImportUsers}
  priority: 9
  response:
    body: {names: [end]}
`, opts{journal: 100})
	user := func(name string) proto.Message { return s.msg(t, "shop.v1.User", `{"name": "`+name+`"}`) }
	cases := []struct {
		name  string
		send  []string
		close bool   // half-close after sending
		want  string // the answer's names
		body  string // journaled, for the early stub
	}{
		// Answered after the 2nd message: the client has not closed.
		{"answered after two messages", []string{"Ada", "Alan"}, false, "early", `[{"name":"Ada"},{"name":"Alan"}]`},
		// A stream that ends sooner is answered at its end.
		{"stream ends sooner", []string{"Ada"}, true, "early", ""},
		// The first message does not match: read to the end.
		{"no early match", []string{"Grace", "Alan", "Ada"}, true, "end", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ctx(t)
			cs := streamOf(t, s, c, importUsers, true, false)
			for _, n := range tc.send {
				if err := cs.SendMsg(user(n)); err != nil {
					t.Fatal(err)
				}
			}
			if tc.close {
				if err := cs.CloseSend(); err != nil {
					t.Fatal(err)
				}
			}
			// Without a half-close, only an early answer arrives before
			// the test's deadline.
			out := s.out(t, "shop.v1.ImportSummary")
			if err := cs.RecvMsg(out); err != nil {
				t.Fatalf("answer: %v", err)
			}
			if got := jsonOf(t, out); !strings.Contains(got, `"names":["`+tc.want+`"]`) {
				t.Errorf("answer %s, want names [%s]", got, tc.want)
			}
			// The call is over: messages sent now are not read.
			if err := cs.RecvMsg(s.out(t, "shop.v1.ImportSummary")); !errors.Is(err, io.EOF) {
				t.Errorf("after the answer: %v, want io.EOF", err)
			}
		})
	}
	e := journaled(t, s, importUsers, "early", codes.OK)
	if string(e.Body) != `[{"name":"Ada"},{"name":"Alan"}]` && string(e.Body) != `[{"name":"Ada"}]` {
		t.Errorf("journal body %s", e.Body)
	}
}

func TestClientStreamAnsweredAfterMessagesWithStatus(t *testing.T) {
	t.Parallel()
	s := start(t, `
- request: {path: /shop.v1.Users/ImportUsers}
  response:
    grpc: {afterMessages: 1, status: RESOURCE_EXHAUSTED, message: one is enough}
`)
	cs := streamOf(t, s, ctx(t), importUsers, true, false)
	if err := cs.SendMsg(s.msg(t, "shop.v1.User", `{"id": 1}`)); err != nil {
		t.Fatal(err)
	}
	err := cs.RecvMsg(s.out(t, "shop.v1.ImportSummary"))
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || st.Message() != "one is enough" {
		t.Errorf("got %v", err)
	}
}

func TestBidiPush(t *testing.T) {
	t.Parallel()
	s := start(t, `
- id: ticker
  request: {path: /shop.v1.Users/Chat, headers: {x-mode: ticker}}
  response:
    headers: {x-push: "yes"}
    grpc:
      push: true
      interval: 1ms
      repeat: 2
      stream: [{body: {text: a}}, {body: {text: b}}, {body: {text: c}}]
      status: ABORTED
      message: ticker done
- id: slow
  request: {path: /shop.v1.Users/Chat, headers: {x-mode: slow}}
  response:
    grpc:
      push: true
      interval: 1h
      stream: [{body: {text: first}}, {body: {text: never}}]
- id: reply
  request: {path: /shop.v1.Users/Chat}
  priority: 9
  response: {body: {text: reply}}
`, opts{journal: 100})
	with := func(mode string) context.Context {
		return metadata.AppendToOutgoingContext(ctx(t), "x-mode", mode)
	}
	recvAll := func(cs grpc.ClientStream) ([]string, error) {
		var got []string
		for {
			m := s.out(t, "shop.v1.ChatMessage")
			if err := cs.RecvMsg(m); err != nil {
				return got, err
			}
			got = append(got, m.Get(m.Descriptor().Fields().ByName("text")).String())
		}
	}

	t.Run("pushed without a message", func(t *testing.T) {
		cs := streamOf(t, s, with("ticker"), chat, true, true)
		got, err := recvAll(cs)
		if strings.Join(got, "") != "abcabc" {
			t.Errorf("messages %q, want a b c twice", got)
		}
		if st := status.Convert(err); st.Code() != codes.Aborted || st.Message() != "ticker done" {
			t.Errorf("end %v", err)
		}
		if h, _ := cs.Header(); len(h["x-push"]) != 1 {
			t.Errorf("headers %v", h)
		}
	})
	t.Run("half-close does not stop the push", func(t *testing.T) {
		cs := streamOf(t, s, with("ticker"), chat, true, true)
		if err := cs.SendMsg(s.msg(t, "shop.v1.ChatMessage", `{"text": "hi"}`)); err != nil {
			t.Fatal(err)
		}
		if err := cs.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if got, _ := recvAll(cs); len(got) != 6 {
			t.Errorf("messages %q, want 6", got)
		}
	})
	t.Run("client cancels", func(t *testing.T) {
		c, cancel := context.WithCancel(with("slow"))
		cs := streamOf(t, s, c, chat, true, true)
		m := s.out(t, "shop.v1.ChatMessage")
		if err := cs.RecvMsg(m); err != nil || jsonOf(t, m) != `{"text":"first"}` {
			t.Fatalf("first message %s, %v", jsonOf(t, m), err)
		}
		cancel()
		if err := cs.RecvMsg(m); status.Code(err) != codes.Canceled {
			t.Errorf("after cancel: %v", err)
		}
		// The handler ends too (goleak checks it at the end).
	})
	t.Run("incoming messages are read and journaled", func(t *testing.T) {
		// A message that is not a ChatMessage ends the push: decoy read
		// what came before it.
		cs, err := s.conn.NewStream(with("slow"), &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, chat, grpc.ForceCodecV2(rawCodec{}))
		if err != nil {
			t.Fatal(err)
		}
		hello, err := proto.Marshal(s.msg(t, "shop.v1.ChatMessage", `{"text": "hello"}`))
		if err != nil {
			t.Fatal(err)
		}
		bad := []byte{0x0a, 0x05, 'a'}
		for _, b := range [][]byte{hello, bad} {
			if err := cs.SendMsg(&b); err != nil {
				t.Fatal(err)
			}
		}
		var out []byte
		for err == nil {
			err = cs.RecvMsg(&out)
		}
		if st := status.Convert(err); st.Code() != codes.Internal || !strings.Contains(st.Message(), "error unmarshalling request") {
			t.Errorf("end %v", err)
		}
		e := journaled(t, s, chat, "slow", codes.Internal)
		if string(e.Body) != `[{"text":"hello"}]` || grpcCode(e) != int(codes.Internal) {
			t.Errorf("journal: body %s status %d", e.Body, e.Status)
		}
	})
	t.Run("other stubs answer as before", func(t *testing.T) {
		cs := streamOf(t, s, with("chat"), chat, true, true)
		if err := cs.SendMsg(s.msg(t, "shop.v1.ChatMessage", `{"text": "hi"}`)); err != nil {
			t.Fatal(err)
		}
		m := s.out(t, "shop.v1.ChatMessage")
		if err := cs.RecvMsg(m); err != nil || jsonOf(t, m) != `{"text":"reply"}` {
			t.Errorf("reply %s, %v", jsonOf(t, m), err)
		}
		_ = cs.CloseSend()
		if _, err := recvAll(cs); !errors.Is(err, io.EOF) {
			t.Errorf("end %v", err)
		}
	})
}

func TestServerStreamRepeat(t *testing.T) {
	t.Parallel()
	s := start(t, `
- request: {path: /shop.v1.Users/ListUsers}
  response:
    grpc:
      repeat: 3
      stream: [{body: {id: 1}}, {body: {id: 2}}]
`)
	cs := streamOf(t, s, ctx(t), listUsers, false, true)
	_ = cs.SendMsg(s.msg(t, "shop.v1.ListUsersRequest", `{}`))
	_ = cs.CloseSend()
	var ids []string
	var err error
	for {
		m := s.out(t, "shop.v1.User")
		if err = cs.RecvMsg(m); err != nil {
			break
		}
		ids = append(ids, jsonOf(t, m))
	}
	if len(ids) != 6 || ids[4] != `{"id":"1"}` || !errors.Is(err, io.EOF) {
		t.Errorf("got %v, %v", ids, err)
	}
}
