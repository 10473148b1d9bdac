package grpcfront_test

import (
	"context"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/journal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestStreamEndsRecordedWithTheClientsReason: a stream that ends because
// the client's deadline passed is recorded as DEADLINE_EXCEEDED, as the
// client reports it, even though the client's reset (a cancel) usually
// reaches decoy before its own timer fires; a stream the client cancels
// stays CANCELLED. The streams never end by themselves, so the outcome
// does not depend on how long anything takes.
func TestStreamEndsRecordedWithTheClientsReason(t *testing.T) {
	t.Parallel()
	const chat = "/shop.v1.Users/Chat"
	cases := []struct {
		name     string
		path     string
		deadline bool // false: the client cancels after the first message
		want     codes.Code
	}{
		{"server stream deadline", listUsers, true, codes.DeadlineExceeded},
		{"bidi deadline", chat, true, codes.DeadlineExceeded},
		{"server stream cancel", listUsers, false, codes.Canceled},
		{"bidi cancel", chat, false, codes.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, `
- id: forever
  request: {path: /shop.v1.Users/ListUsers}
  response: {grpc: {stream: [{body: {id: 1}}], repeat: 1000000, interval: 10ms}}
- id: push-forever
  request: {path: /shop.v1.Users/Chat}
  response: {grpc: {push: true, stream: [{body: {text: tick}}], repeat: 1000000, interval: 10ms}}
`, opts{journal: 16})
			var c context.Context
			var cancel context.CancelFunc
			if tc.deadline {
				c, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
			} else {
				// A deadline far away: cancelling is not the deadline.
				c, cancel = context.WithTimeout(context.Background(), time.Hour)
			}
			defer cancel()
			bidi := tc.path == chat
			out := "shop.v1.User"
			if bidi {
				out = "shop.v1.ChatMessage"
			}
			cs := streamOf(t, s, c, tc.path, bidi, true)
			if !bidi {
				_ = cs.SendMsg(s.msg(t, "shop.v1.ListUsersRequest", `{}`))
				_ = cs.CloseSend()
			}
			var err error
			for n := 0; ; n++ {
				if err = cs.RecvMsg(s.out(t, out)); err != nil {
					break
				}
				if n == 0 && !tc.deadline {
					cancel()
				}
			}
			if status.Code(err) != tc.want {
				t.Fatalf("client got %v, want %v", err, tc.want)
			}
			// The journal records the call just after it ends.
			var got []journal.Entry
			for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
				if got = s.journal.Find(journal.Filter{}); len(got) > 0 {
					break
				}
			}
			if len(got) != 1 || got[0].Path != tc.path {
				t.Fatalf("journal: %+v", got)
			}
			if codes.Code(grpcCode(got[0])) != tc.want || got[0].Status != 200 {
				t.Errorf("recorded %v (status %d), want %v", codes.Code(grpcCode(got[0])), got[0].Status, tc.want)
			}
		})
	}
}
