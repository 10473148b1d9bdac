package grpcfront

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/protoload"
	"github.com/decoy-dev/decoy/internal/stub"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	// Registers google.rpc.BadRequest and the other standard error
	// details, so that stubs can send them by name.
	_ "google.golang.org/genproto/googleapis/rpc/errdetails"
)

// plan is one of a stub's responses compiled for gRPC: messages encoded,
// metadata and status built. Nothing in it is computed per call.
type plan struct {
	stubID   string
	method   protoreflect.MethodDescriptor // nil: the stub answers more than one method
	msgs     []planned                     // the reply; empty with generate or echo
	generate bool                          // no message given: a generated one
	echo     bool
	header   metadata.MD
	trailer  metadata.MD
	status   *status.Status // nil: OK
	delay    time.Duration
	interval time.Duration
	after    int  // a client stream is answered once this many messages arrived
	push     bool // a bidirectional stream is answered when it opens
	repeat   int  // times msgs are sent (at least 1)
	// err is set when the stub cannot answer gRPC calls (one added at run
	// time through the admin API, which does not know the .proto files).
	err error
}

type planned struct {
	f     *frame
	delay time.Duration
}

// defaultPlan answers calls no stub matches: a generated message.
var defaultPlan = &plan{generate: true}

// Check compiles the gRPC stubs among srcs against set (which may be nil
// when no .proto files were given) and returns their problems, indexed
// like the engine's so that config.Loaded.Locate gives them file:line.
func Check(set *protoload.Set, srcs []engine.Source) engine.Errors {
	var errs engine.Errors
	for i, src := range srcs {
		_, _, fe := compileStub(set, src.Stub)
		fe = append(fe, checkMatcherNames(set, src.Stub)...)
		for _, e := range fe {
			errs = append(errs, engine.Error{Index: i, Origin: src.Origin, FieldError: e})
		}
	}
	return errs
}

// IsGRPC reports whether the stub answers gRPC calls of set: its path names
// a method, or its response has a grpc section.
func IsGRPC(set *protoload.Set, s stub.Stub) bool {
	ok, _, _ := compileStub(set, s)
	return ok
}

// grpcPath is the shape of a gRPC method path: /package.Service/Method.
var grpcPath = regexp.MustCompile(`^/([A-Za-z_][A-Za-z0-9_.]*)/([A-Za-z_][A-Za-z0-9_]*)$`)

// compileStub compiles the responses of a stub that answers gRPC calls.
// It reports whether the stub is one; plans are in the order of the
// engine's responses.
func compileStub(set *protoload.Set, s stub.Stub) (bool, []*plan, []stub.FieldError) {
	if s.HTTPOnly {
		return false, nil, nil
	}
	resps := s.Responses
	prefix := "responses"
	if s.Response != nil {
		resps = []stub.Response{*s.Response}
		prefix = ""
	}
	hasGRPC := false
	for _, r := range resps {
		if r.GRPC != nil {
			hasGRPC = true
		}
	}
	md, isGRPC, fe := classify(set, s.Request, hasGRPC)
	if !isGRPC || len(fe) > 0 {
		return isGRPC, nil, fe
	}
	var types resolver
	if set != nil {
		types = set.Types()
	}
	var errs []stub.FieldError
	plans := make([]*plan, len(resps))
	for i, r := range resps {
		field := "response"
		if prefix != "" {
			field = fmt.Sprintf("%s[%d]", prefix, i)
		}
		p, fe := compileResponse(r, md, types, field)
		p.stubID = s.ID
		plans[i] = p
		errs = append(errs, fe...)
		// The engine picks a stub's response only once the stub matched,
		// so when to answer is the stub's, not one response's.
		if i > 0 && len(fe) == 0 && (p.after != plans[0].after || p.push != plans[0].push) {
			errs = append(errs, stub.FieldError{Field: field + ".grpc", Msg: "afterMessages and push apply to the whole stub: give every response the same ones"})
		}
	}
	return true, plans, errs
}

// classify tells whether a stub is about gRPC, and for which method.
func classify(set *protoload.Set, req stub.Request, hasGRPC bool) (protoreflect.MethodDescriptor, bool, []stub.FieldError) {
	exact := req.Path != "" && req.Path != "*" && !strings.Contains(req.Path, "{")
	if set == nil {
		if hasGRPC {
			return nil, true, []stub.FieldError{{Field: "response.grpc", Msg: "no .proto files were given: pass the .proto files (or a folder holding them) with the stub files"}}
		}
		return nil, false, nil
	}
	if exact {
		if md := set.Method(req.Path); md != nil {
			return md, true, nil
		}
		if m := grpcPath.FindStringSubmatch(req.Path); m != nil {
			svc := protoreflect.FullName(m[1])
			for _, sd := range set.Services() {
				if sd.FullName() == svc {
					return nil, true, []stub.FieldError{{Field: "request.path", Msg: fmt.Sprintf("service %s has no method %s (its methods: %s)", svc, m[2], methodNames(sd))}}
				}
			}
			if hasGRPC || knownPackage(set, svc) {
				return nil, true, []stub.FieldError{{Field: "request.path", Msg: fmt.Sprintf("unknown gRPC service %s (the .proto files define: %s)", svc, serviceNames(set))}}
			}
		}
		if hasGRPC {
			return nil, true, []stub.FieldError{{Field: "request.path", Msg: fmt.Sprintf("%q is not a gRPC method: write /package.Service/Method (the .proto files define: %s)", req.Path, serviceNames(set))}}
		}
		return nil, false, nil
	}
	return nil, hasGRPC, nil
}

// knownPackage reports whether svc sits in a package the set defines, so a
// path naming it is a misspelt service rather than an HTTP path.
func knownPackage(set *protoload.Set, svc protoreflect.FullName) bool {
	pkg := svc.Parent()
	if pkg == "" {
		return false
	}
	for _, sd := range set.Services() {
		if sd.ParentFile().Package() == pkg {
			return true
		}
	}
	return false
}

func methodNames(sd protoreflect.ServiceDescriptor) string {
	ms := sd.Methods()
	l := make([]string, ms.Len())
	for i := range l {
		l[i] = string(ms.Get(i).Name())
	}
	return strings.Join(l, ", ")
}

func serviceNames(set *protoload.Set) string {
	var l []string
	for _, sd := range set.Services() {
		l = append(l, string(sd.FullName()))
	}
	if len(l) == 0 {
		return "no services"
	}
	return strings.Join(l, ", ")
}

// compileResponse compiles one response for method md (nil when the stub
// answers several methods: it may then send no message of its own).
func compileResponse(r stub.Response, md protoreflect.MethodDescriptor, types resolver, field string) (*plan, []stub.FieldError) {
	var errs []stub.FieldError
	fail := func(f, format string, args ...any) {
		errs = append(errs, stub.FieldError{Field: stub.Join(field, f), Msg: fmt.Sprintf(format, args...)})
	}
	g := r.GRPC
	if g == nil {
		g = &stub.GRPCResponse{}
	}
	p := &plan{method: md, interval: g.Interval.D(), echo: g.Echo,
		after: g.AfterMessages, push: g.Push, repeat: max(g.Repeat, 1)}
	if r.Delay != nil {
		p.delay = r.Delay.D()
	}
	if r.Status != 0 {
		fail("status", "an HTTP status; a gRPC call ends with grpc.status (a name such as NOT_FOUND, or a number)")
	}
	if r.BodyFile != "" || r.Generate != nil {
		fail("body", "a gRPC message is given as body (JSON or YAML) or bodyBase64 (protobuf bytes)")
	}
	hasBody := !r.Body.IsZero() || r.BodyBase64 != ""
	if hasBody && len(g.Stream) > 0 {
		fail("grpc.stream", "give body (one message) or grpc.stream (several), not both")
	}
	if g.Echo && (hasBody || len(g.Stream) > 0) {
		fail("grpc.echo", "echo answers with the request itself: drop body and grpc.stream")
	}
	failed := g.Status != 0
	if !failed && (g.Message != "" || len(g.Details) > 0) {
		fail("grpc.status", "a status message or details need a status other than OK")
	}
	streaming := md != nil && md.IsStreamingServer()
	if failed && hasBody {
		fail("body", "a call that fails sends no message; messages before the error go in grpc.stream (server streaming)")
	}
	if len(g.Stream) > 0 && md != nil && !streaming {
		fail("grpc.stream", "%s is not server-streaming: it answers one message, in body", md.FullName())
	}
	switch {
	case g.AfterMessages < 0:
		fail("grpc.afterMessages", "cannot be negative")
	case g.AfterMessages > 0 && md == nil:
		fail("grpc.afterMessages", "needs request.path naming one client-streaming method (/package.Service/Method)")
	case g.AfterMessages > 0 && (!md.IsStreamingClient() || md.IsStreamingServer()):
		fail("grpc.afterMessages", "%s is not client-streaming: afterMessages answers a client stream before its end", md.FullName())
	}
	switch {
	case !g.Push:
	case md == nil:
		fail("grpc.push", "needs request.path naming one bidirectional-streaming method (/package.Service/Method)")
	case !md.IsStreamingClient() || !md.IsStreamingServer():
		fail("grpc.push", "%s is not bidirectional-streaming: push sends grpc.stream on a bidirectional stream without waiting for a message", md.FullName())
	case g.Echo:
		fail("grpc.push", "push sends grpc.stream when the call opens, before any message to echo: drop echo")
	}
	if g.Echo && md != nil && md.Input().FullName() != md.Output().FullName() {
		// The request's bytes go back as they are: read as the output
		// type they fail to decode, or decode to a wrong message.
		fail("grpc.echo", "%s takes a %s and returns a %s: echo sends the request back, so the method must return its input type", md.FullName(), md.Input().FullName(), md.Output().FullName())
	}
	switch {
	case g.Repeat < 0 || g.Repeat > stub.MaxGRPCRepeat:
		fail("grpc.repeat", "%d is not between 1 and %d", g.Repeat, stub.MaxGRPCRepeat)
	case g.Repeat > 1 && len(g.Stream) == 0:
		fail("grpc.repeat", "repeat sends grpc.stream again: give grpc.stream")
	}
	needMethod := func(f string) bool {
		if md == nil {
			fail(f, "a message needs the method's type: give request.path naming one method (/package.Service/Method)")
			return false
		}
		return true
	}
	encode := func(raw []byte, f string) *frame {
		m, fe := jsonToMessage(raw, md.Output(), types, stub.Join(field, f))
		if len(fe) > 0 {
			errs = append(errs, fe...)
			return nil
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			fail(f, "cannot encode %s: %v", md.Output().FullName(), err)
			return nil
		}
		return staticFrame(b)
	}
	switch {
	case !r.Body.IsZero():
		if needMethod("body") {
			if f := encode(r.Body.JSON(), "body"); f != nil {
				p.msgs = []planned{{f: f}}
			}
		}
	case r.BodyBase64 != "":
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.BodyBase64))
		if err != nil {
			fail("bodyBase64", "not valid base64: %v", err)
		} else if needMethod("bodyBase64") {
			if err := checkWire(b, md.Output(), 0); err != nil {
				fail("bodyBase64", "not a valid %s: %v", md.Output().FullName(), err)
			}
			p.msgs = []planned{{f: staticFrame(b)}}
		}
	case len(g.Stream) > 0:
		for i, m := range g.Stream {
			f := fmt.Sprintf("grpc.stream[%d]", i)
			if m.Body.IsZero() {
				fail(f+".body", "missing: each streamed message needs a body ({} for an empty one)")
				continue
			}
			if !needMethod(f + ".body") {
				break
			}
			if fr := encode(m.Body.JSON(), f+".body"); fr != nil {
				p.msgs = append(p.msgs, planned{f: fr, delay: m.Delay.D()})
			}
		}
	case !g.Echo && !failed:
		p.generate = true
	}
	var fe []stub.FieldError
	p.header, fe = compileMD(r.Headers, stub.Join(field, "headers"))
	errs = append(errs, fe...)
	p.trailer, fe = compileMD(g.Trailers, stub.Join(field, "grpc.trailers"))
	errs = append(errs, fe...)
	if failed {
		sp := &spb.Status{Code: int32(g.Status), Message: g.Message}
		for i, d := range g.Details {
			a := new(anypb.Any)
			f := fmt.Sprintf("grpc.details[%d]", i)
			if types == nil {
				fail(f, "details need the .proto files")
				continue
			}
			if err := (protojson.UnmarshalOptions{Resolver: types}).Unmarshal(d.JSON(), a); err != nil {
				fail(f, "not a valid detail: %s (write a message as JSON with \"@type\": \"type.googleapis.com/google.rpc.BadRequest\", or another type decoy knows)", cleanProtoErr(err))
				continue
			}
			sp.Details = append(sp.Details, a)
		}
		p.status = status.FromProto(sp)
	}
	return p, errs
}

// compileMD turns stub headers or trailers into gRPC metadata. Names are
// lower-cased; -bin values are base64 in the stub.
func compileMD(h map[string]stub.HeaderValues, field string) (metadata.MD, []stub.FieldError) {
	if len(h) == 0 {
		return nil, nil
	}
	var errs []stub.FieldError
	md := metadata.MD{}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := stub.Join(field, k)
		name := strings.ToLower(k)
		switch {
		case !validMDName(name):
			errs = append(errs, stub.FieldError{Field: f, Msg: "a metadata name holds only a-z, 0-9, -, _ and ."})
			continue
		case strings.HasPrefix(name, "grpc-") || name == "content-type" || name == "te" || name == ":status":
			errs = append(errs, stub.FieldError{Field: f, Msg: name + " is set by gRPC itself"})
			continue
		}
		for _, v := range h[k] {
			if strings.HasSuffix(name, "-bin") {
				b, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					b, err = base64.RawStdEncoding.DecodeString(v)
				}
				if err != nil {
					errs = append(errs, stub.FieldError{Field: f, Msg: "a -bin value is written in base64"})
					continue
				}
				v = string(b)
			} else if strings.ContainsAny(v, "\r\n\x00") {
				errs = append(errs, stub.FieldError{Field: f, Msg: "a metadata value cannot hold CR, LF or NUL"})
				continue
			}
			md[name] = append(md[name], v)
		}
	}
	return md, errs
}

func validMDName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// runtimeError is what a call gets from a stub that failed to compile.
func runtimeError(p *plan) error {
	return status.Errorf(codes.Internal, "decoy: stub %s cannot answer gRPC calls: %v", p.stubID, p.err)
}
