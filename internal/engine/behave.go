package engine

import (
	"fmt"
	"strings"

	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/stub"
)

// Options are what compiling stubs needs beyond the stubs themselves: the
// global seed every random behaviour derives from, the named latency
// profiles, and the latency of stubs that name none.
type Options struct {
	// Seed is the global seed (0 is a seed like any other).
	Seed uint64
	// Profiles are the named latency profiles stubs may refer to.
	Profiles stub.Profiles
	// Latency, when not nil, applies to every response that has neither
	// latency nor delay of its own.
	Latency *stub.Latency
	// BodyRewrite, when not nil, gives the body matcher a stub is compiled
	// with in place of the one it was written with (the stub itself, as
	// listed, keeps what was written). The gRPC front door uses it to
	// accept proto field names where requests are matched as JSON.
	BodyRewrite func(s stub.Stub, m stub.BodyMatcher) stub.BodyMatcher
	// CORS, when not nil, answers browsers' cross-origin requests (see
	// CORS).
	CORS *CORS
	// Door, when not nil, tells which requests a stub answers (see Door);
	// without it every stub answers every request.
	Door func(s stub.Stub) Door
}

// Door is which requests a stub answers: those of every front door, HTTP
// requests only, or gRPC calls only (Request.GRPC). With .proto files
// served, a gRPC stub (at a method's path, or with a grpc section) answers
// gRPC calls only, every other stub HTTP requests only.
type Door uint8

// The doors.
const (
	DoorAny Door = iota
	DoorHTTP
	DoorGRPC
)

// WithDoor sets Options.Door.
func WithDoor(f func(s stub.Stub) Door) Option { return func(o *Options) { o.Door = f } }

// Option sets one of the Options.
type Option func(*Options)

// WithSeed sets the global seed.
func WithSeed(seed uint64) Option { return func(o *Options) { o.Seed = seed } }

// WithProfiles sets the named latency profiles.
func WithProfiles(p stub.Profiles) Option { return func(o *Options) { o.Profiles = p } }

// WithLatency sets the global latency (nil: none).
func WithLatency(l *stub.Latency) Option { return func(o *Options) { o.Latency = l } }

// WithBodyRewrite sets Options.BodyRewrite.
func WithBodyRewrite(f func(s stub.Stub, m stub.BodyMatcher) stub.BodyMatcher) Option {
	return func(o *Options) { o.BodyRewrite = f }
}

func options(opts []Option) *Options {
	o := &Options{Seed: 1}
	for _, f := range opts {
		f(o)
	}
	return o
}

// compiled is the part of Options a compile uses: the global latency
// compiled once.
type compiled struct {
	seed    uint64
	opts    *Options
	latency *behave.Sampler
	cors    *corsPolicy // nil: CORS off
	// preflights counts the preflights decoy answers, across the
	// snapshots built with these options.
	preflights *Stats
}

// compileOptions checks the options themselves: the profiles and the
// global latency.
func compileOptions(o *Options) (*compiled, Errors) {
	c := &compiled{seed: o.Seed, opts: o, cors: newCORSPolicy(o.CORS)}
	if c.cors != nil {
		c.preflights = newStats(1)
		c.preflights.status = []int{204}
	}
	var errs Errors
	for _, e := range behave.CheckProfiles(o.Profiles) {
		errs = append(errs, Error{Index: -1, Origin: "settings", FieldError: stub.FieldError{Field: stub.Join("profiles", e.Field), Msg: e.Msg}})
	}
	if o.Latency != nil {
		s, fe := behave.CompileLatency(*o.Latency, o.Profiles)
		for _, e := range fe {
			errs = append(errs, Error{Index: -1, Origin: "settings", FieldError: stub.FieldError{Field: stub.Join("latency", e.Field), Msg: e.Msg}})
		}
		c.latency = s
	}
	return c, errs
}

// Behaviour is what a response does beyond sending its bytes at once:
// wait, fail, pace its body, or make its body as it goes. A response
// without any has a nil Behaviour, so the static path pays one nil check.
type Behaviour struct {
	// Latency is waited before the first byte, or over the body when
	// Spread is set; nil waits nothing.
	Latency *behave.Sampler
	Spread  bool
	// Faults are the response's faults; nil never faults.
	Faults *behave.FaultSet
	// Pacer paces the body (throttle, dribble or a stream of chunks); nil
	// sends it at once. When Pacer.Streams, the body goes with no
	// Content-Length, each chunk flushed as it goes.
	Pacer *behave.Pacer
	// Generated is a generated body too large to hold in memory, made as
	// it is sent; Response.Body is then empty.
	Generated *Generator
}

// LatencyOnly reports whether the behaviour is at most a latency before
// the whole body (nil is): no fault, pacing, spread latency or generated
// body.
func (b *Behaviour) LatencyOnly() bool {
	return b == nil || b.Faults == nil && b.Pacer == nil && b.Generated == nil && !b.Spread
}

// Random reports whether the behaviour draws on the seed, so the stub must
// number its calls.
func (b *Behaviour) Random() bool {
	if b == nil {
		return false
	}
	_, fixed := b.Latency.Fixed()
	return !fixed || b.Faults != nil
}

// compileBehaviour builds r's behaviour (nil when it has none).
func compileBehaviour(r stub.Response, c *compiled, field string) (*Behaviour, []stub.FieldError) {
	var errs []stub.FieldError
	add := func(prefix string, fe []stub.FieldError) {
		for _, e := range fe {
			errs = append(errs, stub.FieldError{Field: stub.Join(field, prefix, e.Field), Msg: e.Msg})
		}
	}
	b := &Behaviour{}
	var profiles stub.Profiles
	if c != nil {
		profiles = c.opts.Profiles
	}
	switch {
	case r.Latency != nil && r.Delay != nil:
		add("latency", []stub.FieldError{{Msg: "give delay or latency, not both (delay: 250ms is latency: 250ms)"}})
	case r.Latency != nil:
		s, fe := behave.CompileLatency(*r.Latency, profiles)
		add("latency", fe)
		b.Latency = s
	case r.Delay != nil:
		f := *r.Delay
		s, fe := behave.CompileLatency(stub.Latency{Fixed: &f}, nil)
		add("delay", fe)
		b.Latency = s
	case c != nil:
		b.Latency = c.latency
	}
	if d, ok := b.Latency.Fixed(); ok && d == 0 {
		b.Latency = nil
	}
	switch strings.ToLower(r.LatencyMode) {
	case "", "ttfb":
	case "spread":
		b.Spread = true
	default:
		add("latencyMode", []stub.FieldError{{Msg: fmt.Sprintf("%q: want ttfb (before the first byte) or spread (over the body)", r.LatencyMode)}})
	}
	fs, fe := behave.CompileFaults(r.Faults)
	add("faults", fe)
	b.Faults = fs
	p, fe := behave.CompilePacer(r.Throttle, r.Dribble)
	add("", fe)
	b.Pacer = p
	if b.Spread && b.Pacer != nil {
		add("latencyMode", []stub.FieldError{{Msg: "spread paces the body itself: drop throttle or dribble, or use ttfb"}})
	}
	if b.Latency == nil && b.Faults == nil && b.Pacer == nil {
		return nil, errs
	}
	return b, errs
}
