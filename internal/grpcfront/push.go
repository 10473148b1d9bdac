package grpcfront

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/decoy-dev/decoy/internal/journal"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// push answers a bidirectional stream with a push stub: p's messages go
// out as soon as the call opens, at the plan's interval, while a second
// goroutine reads (and journals) what the client sends. A client that
// half-closes does not stop the push; one that cancels does. When the
// messages are sent the call ends with p's status, whatever the client is
// still sending.
func (s *Server) push(ss grpc.ServerStream, c *call, st *state, md protoreflect.MethodDescriptor, path string, p *plan) error {
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	r := new(pushReader)
	journaled := s.o.Journal.Cap() > 0
	go r.run(s, ss, st, md, cancel, journaled)
	c.seed = seedOf(path, nil)
	err := s.reply(ctx, ss, c, md, p, true)
	r.mu.Lock()
	c.msgs, c.bytes = r.rc.msgs, r.rc.bytes
	c.body = append(c.body[:0], r.all...)
	if len(c.body) > 0 {
		c.body = append(c.body, ']')
	}
	rerr := r.err
	r.mu.Unlock()
	if rerr != nil {
		// The client sent something that is not a message of the input
		// type: that, rather than the push it interrupted, ends the call.
		return rerr
	}
	if err != nil {
		return err
	}
	return s.finish(ss, p)
}

// pushReader reads the client's side of a pushed stream. Its fields are
// guarded by mu: the handler reads them when the call ends, while the
// reader may still be blocked in RecvMsg (it returns once grpc-go ends the
// stream).
type pushReader struct {
	mu  sync.Mutex
	rc  call   // msgs, bytes and the JSON of the last message
	all []byte // the messages as a JSON array, without its closing ]
	err error  // a malformed message
}

func (r *pushReader) run(s *Server, ss grpc.ServerStream, st *state, md protoreflect.MethodDescriptor, cancel context.CancelFunc, journaled bool) {
	var in frame // not the pooled call's: the handler may return first
	for {
		if err := ss.RecvMsg(&in); err != nil {
			if !errors.Is(err, io.EOF) {
				cancel()
			}
			return
		}
		r.mu.Lock()
		r.rc.body = r.rc.body[:0]
		err := s.decode(&r.rc, st, md, in.b)
		if err == nil && journaled && len(r.all) < journal.MaxHeaders*4 {
			if len(r.all) == 0 {
				r.all = append(r.all, '[')
			} else {
				r.all = append(r.all, ',')
			}
			r.all = append(r.all, r.rc.body...)
		}
		if err != nil {
			r.err = err
		}
		r.mu.Unlock()
		if err != nil {
			cancel()
			return
		}
	}
}
