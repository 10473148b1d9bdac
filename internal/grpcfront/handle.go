package grpcfront

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/decoy-dev/decoy/internal/accesslog"
	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/h2serve"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/wake"
	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Proto is the protocol name gRPC calls carry in engine requests and the
// journal.
const Proto = "gRPC"

var methodPOST = []byte("POST")

// generatedStream is how many messages a server-streaming call no stub
// answers gets.
const generatedStream = 3

// call is the per-call scratch space, pooled.
type call struct {
	in      frame
	body    []byte // request as JSON: one message, or an array of them
	fields  mdFields
	req     engine.Request
	rec     journal.Record
	hdr     []byte
	seed    uint64
	bytes   int64 // request bytes
	out     int64 // response bytes
	msgs    int   // request messages
	stubID  string
	stats   *engine.Stats       // of the stub that answered, or of unmatched calls
	index   int                 // of the response in the stub's responses
	waited  time.Duration       // in delays, and waiting for a client stream's messages
	delay   time.Duration       // the latency chosen for the call
	fault   *behave.FaultAction // the fault chosen for the call, if any
	faulted behave.FaultKind    // the fault applied, for the journal
	bad     error               // a malformed requested delay
	key     behave.Key          // of the stub, and the call's number, for garbage
	n       uint64
	json    bool               // the messages are JSON (application/grpc+json)
	cert    *engine.ClientCert // the client's certificate over TLS, nil for none
	remote  net.Addr           // the client's address, nil when unknown
}

var callPool = sync.Pool{New: func() any { return new(call) }}

// mdFields gives matchers the call's metadata as headers.
type mdFields struct {
	ctx context.Context
	md  metadata.MD
	h2  *h2Stream // the call's stream on decoy's HTTP/2 loop, if it is one
}

func (f *mdFields) load() {
	switch {
	case f.md != nil:
	case f.h2 != nil:
		f.md = f.h2.metadata()
	default:
		f.md, _ = metadata.FromIncomingContext(f.ctx)
		if f.md == nil {
			f.md = metadata.MD{}
		}
	}
}

func (f *mdFields) Header(name string) (string, bool) {
	key := strings.ToLower(name)
	if key == "host" {
		key = ":authority"
	}
	if f.md == nil && f.h2 != nil {
		return f.h2.lookup(key)
	}
	f.load()
	v := f.md[key]
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

func (f *mdFields) Query(string) (string, bool)  { return "", false }
func (f *mdFields) Cookie(string) (string, bool) { return "", false }

// handle serves every call to a method the grpc.Server itself does not
// know: all of the loaded services.
func (s *Server) handle(_ any, ss grpc.ServerStream) error {
	start := time.Now()
	path, _ := grpc.MethodFromServerStream(ss)
	c := callPool.Get().(*call)
	c.fields.ctx = ss.Context()
	if hs, ok := ss.(*h2Stream); ok {
		c.fields.h2 = hs
		c.remote = hs.remote()
	} else if pr, ok := peer.FromContext(c.fields.ctx); ok {
		c.remote = pr.Addr
	}
	if s.o.ClientCerts {
		// Through the TLS port, or on the gRPC port's own TLS.
		if c.cert = engine.ClientCertFrom(c.fields.ctx); c.cert == nil {
			c.cert = portCert(c.fields.ctx)
		}
	}
	st := s.current()
	var err error
	md := s.o.Protos.Method(path)
	kind, sub := contentSubtype(c.fields.ctx)
	c.json = kind == subtypeJSON
	switch {
	case md == nil:
		err = s.unknown(path)
	case kind == subtypeOther:
		err = errSubtype(sub, path, true)
	case !md.IsStreamingClient():
		err = s.unary(ss, c, st, md, path)
	case !md.IsStreamingServer():
		err = s.clientStream(ss, c, st, md, path)
	default:
		err = s.bidi(ss, c, st, md, path)
	}
	elapsed := time.Since(start)
	if c.stats == nil {
		c.stats = s.o.Engine.Unmatched()
	}
	// Counted in decoy_requests_total under the HTTP status the journal
	// records: 200, also for the generated answers of unmatched calls.
	c.stats.RecordStatus(c.index, http.StatusOK, int(c.bytes), int(c.out), elapsed-c.waited)
	code := endCode(ss.Context(), status.Code(err))
	s.rpcs.add(path, code)
	s.record(c, path, start, elapsed, code)
	if lv, ok := s.o.AccessLog.Sampled(); ok {
		var remote string
		if c.remote != nil {
			remote = c.remote.String()
		}
		s.o.AccessLog.Log(lv, &accesslog.Request{
			Method: "POST", Path: path, Stub: c.stubID, Status: int(code),
			Duration: elapsed, Proto: Proto, Remote: remote,
		})
	}
	*c = call{in: frame{b: keep(c.in.b)}, body: keep(c.body), hdr: keep(c.hdr)}
	callPool.Put(c)
	return err
}

// keep returns b emptied for reuse, or nil when it grew too large to keep
// in the pool.
func keep(b []byte) []byte {
	if cap(b) > 64<<10 {
		return nil
	}
	return b[:0]
}

// unknown answers a method the .proto files do not define.
func (s *Server) unknown(path string) error {
	svc, method, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	for _, sd := range s.o.Protos.Services() {
		if string(sd.FullName()) == svc {
			return status.Errorf(codes.Unimplemented, "unknown method %s for service %s (its methods: %s)", method, svc, methodNames(sd))
		}
	}
	return status.Errorf(codes.Unimplemented, "unknown service %s (decoy serves: %s)", svc, s.known)
}

// decode checks a request message and, when a matcher or the journal needs
// it, appends it to c.body as JSON.
func (s *Server) decode(c *call, st *state, md protoreflect.MethodDescriptor, b []byte) error {
	if c.json {
		if err := s.jsonIn(c, md.Input()); err != nil {
			return err
		}
		b = c.in.b
	}
	c.msgs++
	c.bytes += int64(len(b))
	if !st.needBody && s.o.Journal.Cap() == 0 {
		if err := checkWire(b, md.Input(), 0); err != nil {
			return status.Errorf(codes.Internal, "grpc: error unmarshalling request: %v", err)
		}
		return nil
	}
	m := dynamicpb.NewMessage(md.Input())
	if err := unmarshal(b, m, s.types); err != nil {
		return status.Errorf(codes.Internal, "grpc: error unmarshalling request: %v", err)
	}
	out, err := appendJSON(c.body, m, s.types)
	if err != nil {
		return status.Errorf(codes.Internal, "grpc: cannot write the request as JSON: %v", err)
	}
	c.body = out
	return nil
}

// unmarshal decodes b into m. protobuf-go's decoder for dynamic messages
// (v1.36.12) panics on a map entry that repeats its key with another wire
// type, which its generated-code decoder skips: that is an error here,
// never a crash of the server.
func unmarshal(b []byte, m proto.Message, types resolver) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot parse the message: %v", r)
		}
	}()
	return proto.UnmarshalOptions{Resolver: types}.Unmarshal(b, m)
}

// match finds the plan for the request in c.
func (s *Server) match(c *call, st *state, path string) *plan {
	return s.pick(c, st, s.find(c, st, path, c.body))
}

// find returns the stub matching the call with body, or nil.
func (s *Server) find(c *call, st *state, path string, body []byte) *engine.Stub {
	c.req = engine.Request{Proto: Proto, GRPC: true, Method: "POST", Path: path, Body: body, Fields: &c.fields, ClientCert: c.cert}
	return st.snap.Match(&c.req)
}

// planOf is the plan of a matched stub's first response: what the stub
// does with afterMessages and push, which all its responses share.
func planOf(st *state, es *engine.Stub) *plan {
	if es == nil || len(es.Responses()) == 0 {
		return nil
	}
	return st.plans[es.Responses()[0]]
}

// pick chooses the response of es (nil: no stub matched) and the call's
// behaviours. A generated answer waits like a stub without a latency of
// its own: the global latency, or the delay the client asks for.
func (s *Server) pick(c *call, st *state, es *engine.Stub) *plan {
	c.delay, c.fault, c.bad = 0, nil, nil
	c.stubID, c.stats, c.index = "", nil, 0
	p := defaultPlan
	if es != nil {
		i, r, n := es.Pick()
		// A nil plan is a stub with no gRPC answer, which matches gRPC
		// calls only without Doors (a store built without the .proto
		// files' options): the call gets a generated answer.
		if sp := st.plans[r]; sp != nil {
			p = sp
			c.stubID, c.stats, c.index = es.ID, es.Stats(), i
			if b := r.Behave; b != nil {
				c.delay = b.Latency.SampleKey(es.Key(), n, 0)
				c.fault, _ = b.Faults.DecideKey(es.Key(), n)
				if c.fault != nil {
					c.key, c.n = es.Key(), n
				}
			}
		}
	}
	if p == defaultPlan {
		c.stats = s.o.Engine.Unmatched() // counts the injected delay
		if l, key := st.snap.Latency(); l != nil {
			c.delay = l.SampleKey(key, s.generatedCalls.Add(1)-1, 0)
		}
	}
	if s.o.DelayHeader {
		if v, ok := c.fields.Header("x-decoy-delay"); ok {
			d, _, err := behave.ParseRequestedDelay(v, s.o.MaxRequestedDelay)
			c.delay, c.bad = d, err
		}
	}
	return p
}

func (s *Server) unary(ss grpc.ServerStream, c *call, st *state, md protoreflect.MethodDescriptor, path string) error {
	if err := ss.RecvMsg(&c.in); err != nil {
		if errors.Is(err, io.EOF) {
			return status.Error(codes.Internal, "the client sent no request message")
		}
		return err
	}
	if err := s.decode(c, st, md, c.in.b); err != nil {
		return err
	}
	if err := s.onlyMessage(ss, c); err != nil {
		return err
	}
	p := s.match(c, st, path)
	if p.generate {
		c.seed = seedOf(path, c.in.b)
	}
	if err := s.reply(ss.Context(), ss, c, md, p, true); err != nil {
		return err
	}
	return s.finish(ss, p)
}

// onlyMessage checks that the client sent no second message on a call
// that takes one (unary, server-streaming): grpc-go reads on to the
// stream's end before it calls a generated handler, and answers INTERNAL
// when a message comes instead. c.in keeps the first message unless
// another comes.
func (s *Server) onlyMessage(ss grpc.ServerStream, c *call) error {
	err := ss.RecvMsg(&c.in)
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return err
	}
	return errTooMany
}

var errTooMany = status.Error(codes.Internal, "cardinality violation: received multiple request messages for non-client-streaming RPC")

func (s *Server) clientStream(ss grpc.ServerStream, c *call, st *state, md protoreflect.MethodDescriptor, path string) error {
	h := newSeed(path)
	c.body = append(c.body, '[')
	for {
		if err := s.recv(ss, c); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
		if c.msgs > 0 && len(c.body) > 1 {
			c.body = append(c.body, ',')
		}
		if err := s.decode(c, st, md, c.in.b); err != nil {
			return err
		}
		h.add(c.in.b)
		if c.bytes > int64(s.o.MaxRecvMsgSize) {
			return status.Errorf(codes.ResourceExhausted, "the client stream's messages exceed %d bytes together", s.o.MaxRecvMsgSize)
		}
		if st.early[path] {
			// A stub may answer now: match the messages so far, and
			// answer (ending the call) when it asks for this many.
			c.body = append(c.body, ']')
			if p := planOf(st, s.find(c, st, path, streamBody(c))); p != nil && p.after == c.msgs {
				return s.answerStream(ss, c, st, md, path, h)
			}
			c.body = c.body[:len(c.body)-1]
		}
	}
	c.body = append(c.body, ']')
	return s.answerStream(ss, c, st, md, path, h)
}

// streamBody is the JSON array of a client stream's messages in c.body,
// or nothing when they were checked but not decoded.
func streamBody(c *call) []byte {
	if len(c.body) == 2 && c.msgs > 0 {
		return nil
	}
	return c.body
}

// answerStream answers a client stream whose messages (so far) are in
// c.body, closed.
func (s *Server) answerStream(ss grpc.ServerStream, c *call, st *state, md protoreflect.MethodDescriptor, path string, h seedHash) error {
	if streamBody(c) == nil {
		c.body = c.body[:0] // checked, not decoded: nothing to match or journal
	}
	c.seed = h.sum()
	p := s.match(c, st, path)
	if err := s.reply(ss.Context(), ss, c, md, p, true); err != nil {
		return err
	}
	return s.finish(ss, p)
}

func (s *Server) bidi(ss grpc.ServerStream, c *call, st *state, md protoreflect.MethodDescriptor, path string) error {
	if st.push[path] {
		// A push stub answers when the call opens: it is matched on the
		// path and metadata, with no message.
		if es := s.find(c, st, path, nil); planOf(st, es) != nil && planOf(st, es).push {
			return s.push(ss, c, st, md, path, s.pick(c, st, es))
		}
	}
	var all []byte // every message, for the journal
	var last *plan
	for {
		if err := s.recv(ss, c); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
		c.body = c.body[:0]
		if err := s.decode(c, st, md, c.in.b); err != nil {
			return err
		}
		if s.o.Journal.Cap() > 0 && len(all) < journal.MaxHeaders*4 {
			if len(all) == 0 {
				all = append(all, '[')
			} else {
				all = append(all, ',')
			}
			all = append(all, c.body...)
		}
		p := s.match(c, st, path)
		c.seed = seedOf(path, c.in.b)
		if err := s.reply(ss.Context(), ss, c, md, p, last == nil); err != nil {
			return err
		}
		last = p
		if p.status != nil {
			break
		}
	}
	if len(all) > 0 {
		all = append(all, ']')
	}
	c.body = all
	if last == nil {
		return nil
	}
	return s.finish(ss, last)
}

// reply sends a plan's messages (for a bidirectional stream: the reply to
// one incoming message); first says whether headers may still be set.
// Its waits end when ctx does.
func (s *Server) reply(ctx context.Context, ss grpc.ServerStream, c *call, md protoreflect.MethodDescriptor, p *plan, first bool) error {
	if p.err != nil {
		return runtimeError(p)
	}
	if first && len(p.header) > 0 {
		if err := ss.SetHeader(p.header); err != nil {
			return err
		}
	}
	if first {
		if c.bad != nil {
			return status.Error(codes.InvalidArgument, c.bad.Error())
		}
		if c.fault != nil {
			c.faulted = c.fault.Kind
		}
		c.stats.RecordInjected(c.delay, c.faulted)
		if err := s.wait(ctx, c, c.delay); err != nil {
			return err
		}
		if c.fault != nil {
			return s.fault(ctx, c, c.fault)
		}
	} else if p.delay > 0 {
		c.stats.RecordInjected(p.delay, 0)
		if err := s.wait(ctx, c, p.delay); err != nil {
			return err
		}
	}
	switch {
	case p.echo:
		// grpc-go writes the message after SendMsg returns: send a copy,
		// not the buffer the next message will be read into.
		return s.send(ss, c, md, &frame{b: append([]byte(nil), c.in.b...)}, false)
	case p.generate:
		n := 1
		if md.IsStreamingServer() && (!md.IsStreamingClient() || p.push) {
			n = generatedStream
		}
		for i := 0; i < n; i++ {
			b := generatedAnswer(md, s.o.Protos, c.seed+uint64(i), c.in.b)
			if err := s.send(ss, c, md, &frame{b: b}, i+1 < n); err != nil {
				return err
			}
		}
		return nil
	}
	for r := 0; r < p.repeat; r++ {
		for i := range p.msgs {
			d := p.msgs[i].delay
			if d == 0 && (i > 0 || r > 0) {
				d = p.interval
			}
			if d > 0 {
				if err := s.wait(ctx, c, d); err != nil {
					return err
				}
			}
			if err := s.send(ss, c, md, p.msgs[i].f, p.nextAtOnce(r, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// nextAtOnce tells whether another message follows the i-th of round r
// of p's stream with no wait between.
func (p *plan) nextAtOnce(r, i int) bool {
	switch {
	case i+1 < len(p.msgs):
		d := p.msgs[i+1].delay
		return d == 0 && p.interval == 0
	case r+1 < p.repeat:
		d := p.msgs[0].delay
		return d == 0 && p.interval == 0
	}
	return false
}

// send sends f; more says that another message follows at once.
func (s *Server) send(ss grpc.ServerStream, c *call, md protoreflect.MethodDescriptor, f *frame, more bool) error {
	if c.json {
		var err error
		if f, err = s.jsonOut(f, md.Output()); err != nil {
			return err
		}
	}
	// Counted once the transport took it: a message the call was
	// cancelled before is not sent.
	var err error
	if hs, ok := ss.(*h2Stream); ok {
		err = hs.sendMsg(f, more)
	} else {
		err = ss.SendMsg(f)
	}
	if err != nil {
		return err
	}
	c.out += int64(len(f.b))
	return nil
}

// finish sets the trailers and returns the call's status.
func (s *Server) finish(ss grpc.ServerStream, p *plan) error {
	if len(p.trailer) > 0 {
		ss.SetTrailer(p.trailer)
	}
	if p.status != nil {
		return p.status.Err()
	}
	return nil
}

// recv reads the next message of a client stream; the time it waits for
// the client is not decoy's.
func (s *Server) recv(ss grpc.ServerStream, c *call) error {
	t := time.Now()
	err := ss.RecvMsg(&c.in)
	c.waited += time.Since(t)
	return err
}

// wait sleeps d, unless the call ends first (its deadline passes, the
// client cancels, the server stops).
func (s *Server) wait(ctx context.Context, c *call, d time.Duration) error {
	start := time.Now()
	defer func() { c.waited += time.Since(start) }()
	if d <= 0 {
		return nil
	}
	t := wake.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		t.Fired()
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	case <-s.done:
		return status.Error(codes.Unavailable, "decoy is shutting down")
	}
}

// fault fails the call as f says: an error fault with its status, a hang
// by waiting until the client gives up (or f.After passes). The faults
// that break a connection or a stream act on the call's HTTP/2 connection
// when it is one decoy accepted itself (the cleartext port): see
// faultConn. On the HTTP and HTTPS ports, served by decoy's HTTP/2 loop
// through ServeHTTP, the h2 faults act on the call's stream and
// connection there; the others end the call with UNAVAILABLE, what a
// client sees when its connection breaks.
func (s *Server) fault(ctx context.Context, c *call, f *behave.FaultAction) error {
	h2 := f.H2.RSTStream || f.H2.GOAWAY
	switch {
	case h2:
	case f.Kind == behave.FaultError:
		if err := s.wait(ctx, c, f.After); err != nil {
			return err
		}
		return status.Errorf(codes.Code(f.GRPCStatus), "decoy injected this error (fault kind error, stub %q)", c.stubID)
	case f.Kind == behave.FaultHang:
		d := f.After
		if d <= 0 {
			d = behave.MaxDelay
		}
		if err := s.wait(ctx, c, d); err != nil {
			return err
		}
		return status.Error(codes.Unavailable, "decoy injected a hang that ended")
	}
	if err := s.wait(ctx, c, f.After); err != nil {
		return err
	}
	if w := streamWriter(ctx); w != nil && h2 && !isWeb(ctx) {
		// A native call on decoy's own HTTP/2 loop (the HTTP and HTTPS
		// ports).
		if f.H2.RSTStream {
			w.ResetCode(http2.ErrCode(f.H2.Code))
			return status.Errorf(rstCode(f.H2.Code), "decoy reset the stream (RST_STREAM %d)", f.H2.Code)
		}
		w.GoAway(http2.ErrCode(f.H2.Code))
		return status.Error(codes.Unavailable, "decoy sent GOAWAY")
	}
	fc := s.conns.of(ctx)
	if t, ok := grpc.ServerTransportStreamFromContext(ctx).(h2Transport); ok {
		fc, _ = t.hs.r.Conn().(*faultConn) // on the gRPC port
	}
	if fc == nil {
		return status.Errorf(codes.Unavailable, "decoy injected a %s fault", f.Kind)
	}
	if h2 {
		id := streamID(ctx)
		switch {
		case id == 0:
			return status.Errorf(codes.Unavailable, "decoy injected a %s fault", f.Kind)
		case f.H2.RSTStream:
			fc.inject(rstStreamFrame(id, f.H2.Code), nil)
			// What the client reports (grpc-go's mapping); the journal
			// and the metrics say the same.
			return status.Errorf(rstCode(f.H2.Code), "decoy reset the stream (RST_STREAM %d)", f.H2.Code)
		default:
			// The previous stream is the last processed: the client
			// may retry this call on another connection.
			last := uint32(0)
			if id > 2 {
				last = id - 2
			}
			fc.inject(goAwayFrame(last, f.H2.Code), fc.closeLater)
			return status.Error(codes.Unavailable, "decoy sent GOAWAY")
		}
	}
	switch f.Kind {
	case behave.FaultReset:
		fc.reset()
	case behave.FaultGarbage:
		b := make([]byte, f.Bytes)
		behave.Garbage(c.key, c.n, b)
		fc.inject(b, fc.closeWrite)
	case behave.FaultMalformed:
		// A DATA frame on stream 0: a connection error for the client.
		fc.inject(appendFrame(nil, frameData, 0, []byte("decoy")), fc.closeWrite)
	default: // empty, close-mid-body: a clean close
		fc.inject(nil, fc.closeWrite)
	}
	return status.Errorf(codes.Unavailable, "decoy injected a %s fault", f.Kind)
}

// streamWriter is the ResponseWriter of the stream of ctx's call on
// decoy's own HTTP/2 loop, nil for a call elsewhere.
func streamWriter(ctx context.Context) *h2serve.ResponseWriter {
	if t, ok := grpc.ServerTransportStreamFromContext(ctx).(h2Transport); ok {
		return t.hs.w
	}
	return h2serve.WriterOf(ctx)
}

// isWeb reports whether ctx is a gRPC-Web call's.
func isWeb(ctx context.Context) bool {
	_, web := grpc.ServerTransportStreamFromContext(ctx).(webTransport)
	return web
}

// deadlineSlack is how close to its deadline (grpc-timeout) a call that
// the client cancelled must be for decoy to record it as
// DEADLINE_EXCEEDED; see endCode.
const deadlineSlack = 50 * time.Millisecond

// endCode is the status a call is recorded with (journal, metrics,
// access log). A client whose deadline passes resets the stream
// (RST_STREAM CANCEL), and that usually reaches decoy just before decoy's
// own timer for the same grpc-timeout fires (both run from about the same
// instant), so a stream the client gave up on for its deadline would be
// recorded as CANCELLED where the client reports DEADLINE_EXCEEDED. A
// cancel that comes within deadlineSlack of the deadline is taken for the
// deadline. Only called-off calls pay for the check.
func endCode(ctx context.Context, code codes.Code) codes.Code {
	if code != codes.Canceled {
		return code
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < deadlineSlack {
		return codes.DeadlineExceeded
	}
	return code
}

// rstCode is the status grpc-go clients give a call whose stream the
// server reset with an HTTP/2 error code.
func rstCode(h2 uint32) codes.Code {
	switch h2 {
	case 0x3, 0xb: // FLOW_CONTROL_ERROR, ENHANCE_YOUR_CALM
		return codes.ResourceExhausted
	case 0x7: // REFUSED_STREAM
		return codes.Unavailable
	case 0x8: // CANCEL
		return codes.Canceled
	case 0xc: // INADEQUATE_SECURITY
		return codes.PermissionDenied
	}
	return codes.Internal
}

// record adds the call to the journal.
func (s *Server) record(c *call, path string, start time.Time, elapsed time.Duration, code codes.Code) {
	j := s.o.Journal
	if j.Cap() == 0 {
		return
	}
	c.fields.load()
	keys := make([]string, 0, len(c.fields.md))
	for k := range c.fields.md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	c.hdr = c.hdr[:0]
	for _, k := range keys {
		bin := strings.HasSuffix(k, "-bin")
		for _, v := range c.fields.md[k] {
			c.hdr = append(c.hdr, k...)
			c.hdr = append(c.hdr, ": "...)
			if bin {
				// Binary metadata in base64, as it is sent and as
				// stubs write it.
				c.hdr = base64.StdEncoding.AppendEncode(c.hdr, []byte(v))
			} else {
				c.hdr = append(c.hdr, v...)
			}
			c.hdr = append(c.hdr, "\r\n"...)
		}
	}
	var remote netip.AddrPort
	if a, ok := c.remote.(*net.TCPAddr); ok {
		remote = a.AddrPort()
	}
	c.rec = journal.Record{
		Start:    start,
		FirstIn:  start, // grpc-go calls the handler as the request HEADERS arrive
		Duration: elapsed,
		Proto:    Proto,
		Method:   methodPOST,
		URI:      []byte(path),
		Headers:  c.hdr,
		Body:     c.body,
		Remote:   remote,
		Stub:     c.stubID,
		Fault:    faultName(c.faulted),
		// The HTTP status grpc-go answers every call with; the call's
		// outcome is its gRPC status.
		Status:     http.StatusOK,
		GRPC:       true,
		GRPCStatus: int(code),
		BytesIn:    c.bytes,
		BytesOut:   c.out,
	}
	c.rec.ClientCert = c.cert
	j.Add(&c.rec)
}

// faultName is the journal's name of a fault kind: "" for none.
func faultName(k behave.FaultKind) string {
	if k == 0 {
		return ""
	}
	return k.String()
}

// seedHash folds the messages of a client stream into a seed.
type seedHash struct{ h uint64 }

func newSeed(method string) seedHash { return seedHash{seedOf(method, nil)} }

func (h *seedHash) add(b []byte) {
	for _, c := range b {
		h.h ^= uint64(c)
		h.h *= 1099511628211
	}
}

func (h *seedHash) sum() uint64 { return h.h }
