package behave

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

// MaxDelay is the longest delay a latency spec may name or a Sampler may
// return (a log-normal tail, a large body with perKB): one hour.
const MaxDelay = time.Hour

// z99 is the 99th percentile of the standard normal distribution.
const z99 = 2.3263478740408408

type distKind uint8

const (
	distFixed distKind = iota
	distUniform
	distNormal
	distLogNormal
	distPercentiles
)

// point is one point of a percentile table: the quantile q (0..1) and the
// latency in nanoseconds there.
type point struct{ q, ns float64 }

// Sampler is a compiled latency spec. It is immutable and safe for
// concurrent use; a nil *Sampler always returns 0. Sampling never
// allocates.
type Sampler struct {
	kind distKind
	// a, b are the distribution's parameters, in nanoseconds: fixed a;
	// uniform min a, width b; normal mean a, stddev b; log-normal mu a and
	// sigma b of ln(ns).
	a, b    float64
	max     float64 // samples above it count as max
	pts     []point // percentiles, from q=0 to q=1
	perKB   float64 // nanoseconds per KiB of body
	profile string  // the profile it was resolved from, if any
}

// CompileLatency validates l and builds its Sampler, resolving a profile
// reference against profiles. Errors name fields relative to the latency
// spec ("normal.stddev", "percentiles.p99"); all are reported.
func CompileLatency(l stub.Latency, profiles stub.Profiles) (*Sampler, []stub.FieldError) {
	return compileLatency(l, profiles, nil)
}

// CheckProfiles compiles every profile, so that one no stub uses is still
// validated, and reports errors with the profile's name first
// ("slow-3g.normal.stddev"). Names are checked in sorted order.
func CheckProfiles(p stub.Profiles) []stub.FieldError {
	names := make([]string, 0, len(p))
	for name := range p {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []stub.FieldError
	for _, name := range names {
		if strings.TrimSpace(name) == "" {
			errs = append(errs, stub.FieldError{Field: strconv.Quote(name), Msg: "a profile needs a name"})
			continue
		}
		_, fe := compileLatency(p[name], p, []string{name})
		for _, e := range fe {
			errs = append(errs, stub.FieldError{Field: stub.Join(name, e.Field), Msg: e.Msg})
		}
	}
	return errs
}

func compileLatency(l Latency, profiles Profiles, stack []string) (*Sampler, []stub.FieldError) {
	var errs []stub.FieldError
	fail := func(field, msg string) { errs = append(errs, stub.FieldError{Field: field, Msg: msg}) }
	dur := func(field string, d stub.Duration) float64 {
		switch {
		case d < 0:
			fail(field, fmt.Sprintf("cannot be negative (%v)", d.D()))
		case d.D() > MaxDelay:
			fail(field, fmt.Sprintf("%v is above the %v limit", d.D(), MaxDelay))
		}
		return float64(d)
	}

	forms := 0
	for _, set := range []bool{l.Fixed != nil, l.Uniform != nil, l.Normal != nil, l.LogNormal != nil, l.Percentiles != nil, l.Profile != ""} {
		if set {
			forms++
		}
	}
	if forms > 1 {
		fail("", "give only one of fixed, uniform, normal, lognormal, percentiles, profile")
		return nil, errs
	}
	s := &Sampler{max: float64(MaxDelay), perKB: dur("perKB", l.PerKB)}
	switch {
	case l.Fixed != nil:
		s.kind, s.a = distFixed, dur("fixed", *l.Fixed)
	case l.Uniform != nil:
		lo, hi := dur("uniform.min", l.Uniform.Min), dur("uniform.max", l.Uniform.Max)
		if lo > hi {
			fail("uniform.min", fmt.Sprintf("min (%v) is above max (%v)", l.Uniform.Min.D(), l.Uniform.Max.D()))
		}
		s.kind, s.a, s.b = distUniform, lo, hi-lo
	case l.Normal != nil:
		n := l.Normal
		s.kind, s.a, s.b = distNormal, dur("normal.mean", n.Mean), dur("normal.stddev", n.Stddev)
		if n.Stddev == 0 {
			// Without a spread it would be a fixed latency in disguise.
			fail("normal.stddev", "is required with mean, and above 0 (a latency that does not vary is fixed: latency: "+n.Mean.D().String()+")")
		}
		if n.Max != 0 {
			s.max = dur("normal.max", n.Max)
			if n.Max < n.Mean {
				fail("normal.max", fmt.Sprintf("max (%v) is below mean (%v)", n.Max.D(), n.Mean.D()))
			}
		}
	case l.LogNormal != nil:
		errs = append(errs, s.compileLogNormal(l.LogNormal, dur)...)
	case l.Percentiles != nil:
		errs = append(errs, s.compilePercentiles(l.Percentiles, dur)...)
	case l.Profile != "":
		p, fe := resolveProfile(l.Profile, profiles, stack)
		if len(fe) > 0 {
			return nil, append(errs, fe...)
		}
		cp := *p
		cp.profile = l.Profile
		if l.PerKB != 0 {
			cp.perKB = s.perKB
		}
		s = &cp
	default:
		if l.PerKB == 0 {
			fail("", "empty latency: "+stub.LatencyForms)
		}
		s.kind = distFixed
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

func resolveProfile(name string, profiles Profiles, stack []string) (*Sampler, []stub.FieldError) {
	if i := slices.Index(stack, name); i >= 0 {
		cycle := append(slices.Clone(stack[i:]), name)
		return nil, []stub.FieldError{{Field: "profile", Msg: "profile cycle: " + strings.Join(cycle, " -> ")}}
	}
	spec, ok := profiles[name]
	if !ok {
		known := make([]string, 0, len(profiles))
		for k := range profiles {
			known = append(known, k)
		}
		sort.Strings(known)
		msg := fmt.Sprintf("unknown profile %q (no profiles are defined)", name)
		if len(known) > 0 {
			msg = fmt.Sprintf("unknown profile %q (profiles: %s)", name, strings.Join(known, ", "))
		}
		return nil, []stub.FieldError{{Field: "profile", Msg: msg}}
	}
	p, fe := compileLatency(spec, profiles, append(slices.Clone(stack), name))
	if len(fe) > 0 {
		e := fe[0]
		if e.Field == "profile" && strings.HasPrefix(e.Msg, "profile cycle: ") {
			return nil, []stub.FieldError{e}
		}
		return nil, []stub.FieldError{{Field: "profile", Msg: fmt.Sprintf("profile %q is invalid: %s", name, e.Error())}}
	}
	return p, nil
}

func (s *Sampler) compileLogNormal(ln *LogNormal, dur func(string, stub.Duration) float64) []stub.FieldError {
	var errs []stub.FieldError
	fail := func(field, msg string) { errs = append(errs, stub.FieldError{Field: field, Msg: msg}) }
	byPct := ln.Median != 0 || ln.P99 != 0
	byParam := ln.Mu != nil || ln.Sigma != nil
	s.kind = distLogNormal
	switch {
	case byPct && byParam:
		fail("lognormal", "give median and p99, or mu and sigma, not both")
	case byPct:
		med, p99 := dur("lognormal.median", ln.Median), dur("lognormal.p99", ln.P99)
		switch {
		case ln.Median <= 0:
			fail("lognormal.median", "must be above 0 (with p99)")
		case ln.P99 == 0:
			fail("lognormal.p99", "is required with median")
		case ln.Median > ln.P99:
			fail("lognormal.median", fmt.Sprintf("median (%v) is above p99 (%v)", ln.Median.D(), ln.P99.D()))
		default:
			s.a = math.Log(med)
			s.b = (math.Log(p99) - s.a) / z99
		}
	case byParam:
		if ln.Mu == nil || ln.Sigma == nil {
			fail("lognormal", "give both mu and sigma (of ln(ms))")
			break
		}
		mu, sigma := *ln.Mu, *ln.Sigma
		if math.IsNaN(mu) || math.IsInf(mu, 0) {
			fail("lognormal.mu", "must be a finite number")
		} else if math.Exp(mu)*float64(time.Millisecond) > float64(MaxDelay) {
			fail("lognormal.mu", fmt.Sprintf("a median of e^%g ms is above the %v limit", mu, MaxDelay))
		}
		if math.IsNaN(sigma) || math.IsInf(sigma, 0) {
			fail("lognormal.sigma", "must be a finite number")
		} else if sigma < 0 {
			fail("lognormal.sigma", fmt.Sprintf("cannot be negative (%g)", sigma))
		}
		s.a = mu + math.Log(float64(time.Millisecond)) // ln(ms) to ln(ns)
		s.b = sigma
	default:
		fail("lognormal", "give median and p99, or mu and sigma (of ln(ms))")
	}
	if ln.Max != 0 {
		s.max = dur("lognormal.max", ln.Max)
		if ln.Median != 0 && ln.Max < ln.Median {
			fail("lognormal.max", fmt.Sprintf("max (%v) is below median (%v)", ln.Max.D(), ln.Median.D()))
		}
	}
	return errs
}

func (s *Sampler) compilePercentiles(pc Percentiles, dur func(string, stub.Duration) float64) []stub.FieldError {
	var errs []stub.FieldError
	fail := func(field, msg string) { errs = append(errs, stub.FieldError{Field: field, Msg: msg}) }
	type entry struct {
		key string
		q   float64
		d   stub.Duration
	}
	var pts []entry
	var minD, maxD *stub.Duration
	keys := make([]string, 0, len(pc))
	for k := range pc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d := pc[k]
		field := "percentiles." + k
		dur(field, d)
		switch k {
		case "min":
			minD = &d
			continue
		case "max":
			maxD = &d
			continue
		}
		q, err := parsePercentileKey(k)
		if err != nil {
			fail(field, err.Error())
			continue
		}
		pts = append(pts, entry{k, q, d})
	}
	if len(errs) > 0 {
		return errs
	}
	if len(pts) == 0 {
		fail("percentiles", "give at least one percentile, such as p50: 40ms")
		return errs
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].q < pts[j].q })
	for i := 1; i < len(pts); i++ {
		prev, cur := pts[i-1], pts[i]
		if cur.q == prev.q {
			fail("percentiles."+cur.key, fmt.Sprintf("%s is the same percentile as %s", cur.key, prev.key))
		} else if cur.d < prev.d {
			fail("percentiles."+cur.key, fmt.Sprintf("%s (%v) is below %s (%v): percentiles must not decrease", cur.key, cur.d.D(), prev.key, prev.d.D()))
		}
	}
	first, last := pts[0], pts[len(pts)-1]
	lo := 0.0
	if minD != nil {
		lo = float64(*minD)
		if *minD > first.d {
			fail("percentiles.min", fmt.Sprintf("min (%v) is above %s (%v)", minD.D(), first.key, first.d.D()))
		}
	}
	if maxD != nil && *maxD < last.d {
		fail("percentiles.max", fmt.Sprintf("max (%v) is below %s (%v)", maxD.D(), last.key, last.d.D()))
	}
	if len(errs) > 0 {
		return errs
	}
	s.kind = distPercentiles
	s.pts = make([]point, 0, len(pts)+2)
	s.pts = append(s.pts, point{0, lo})
	for _, p := range pts {
		s.pts = append(s.pts, point{p.q, float64(p.d)})
	}
	top := 0.0
	if maxD != nil {
		top = float64(*maxD)
	} else {
		// Extend the last segment's slope to the 100th percentile.
		a, b := s.pts[len(s.pts)-2], s.pts[len(s.pts)-1]
		top = b.ns + (b.ns-a.ns)/(b.q-a.q)*(1-b.q)
		top = min(top, float64(MaxDelay))
	}
	s.pts = append(s.pts, point{1, top})
	return nil
}

// parsePercentileKey reads "p50" or "p99.9" as a quantile (0.5, 0.999).
func parsePercentileKey(k string) (float64, error) {
	const want = "want p<N> with 0 < N < 100 (p50, p99.9), min or max"
	if len(k) < 2 || k[0] != 'p' {
		return 0, fmt.Errorf("unknown key %q: %s", k, want)
	}
	num, dots := k[1:], 0
	for i := 0; i < len(num); i++ {
		switch c := num[i]; {
		case c == '.':
			dots++
		case c < '0' || c > '9':
			return 0, fmt.Errorf("unknown key %q: %s", k, want)
		}
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || dots > 1 || num[0] == '.' || num[len(num)-1] == '.' {
		return 0, fmt.Errorf("unknown key %q: %s", k, want)
	}
	switch {
	case n == 0:
		return 0, fmt.Errorf("%s: write min for the 0th percentile", k)
	case n == 100:
		return 0, fmt.Errorf("%s: write max for the 100th percentile", k)
	case n > 100:
		return 0, fmt.Errorf("%s: a percentile is below 100 (for the 99.9th write p99.9)", k)
	}
	return n / 100, nil
}

// Sample returns the delay for call number call of stub stubID under the
// global seed, for a body of bodyBytes bytes: a draw from the distribution
// plus PerKB per KiB. The same arguments always give the same delay. It
// hashes stubID; SampleKey takes a precomputed key.
func (s *Sampler) Sample(seed uint64, stubID string, call uint64, bodyBytes int) time.Duration {
	if s == nil {
		return 0
	}
	if s.kind == distFixed {
		return s.finish(s.a, bodyBytes)
	}
	return s.SampleKey(NewKey(seed, stubID), call, bodyBytes)
}

// SampleKey is Sample with the key of (seed, stub) computed once.
func (s *Sampler) SampleKey(k Key, call uint64, bodyBytes int) time.Duration {
	if s == nil {
		return 0
	}
	if s.kind == distFixed {
		return s.finish(s.a, bodyBytes)
	}
	r := rngFor(k, streamLatency, call)
	return s.finish(s.quantile(r.float()), bodyBytes)
}

// Quantile returns the distribution's q-th quantile (0 <= q <= 1),
// without PerKB: the delay that a fraction q of samples stay at or below.
func (s *Sampler) Quantile(q float64) time.Duration {
	if s == nil {
		return 0
	}
	q = min(max(q, 0), 1)
	return time.Duration(s.quantile(q))
}

// Fixed reports the delay when it never varies (a fixed latency without
// PerKB), so a front door can skip sampling.
func (s *Sampler) Fixed() (time.Duration, bool) {
	if s == nil {
		return 0, true
	}
	if s.kind == distFixed && s.perKB == 0 {
		return time.Duration(s.a), true
	}
	return 0, false
}

// Profile names the profile the sampler was resolved from, or "".
func (s *Sampler) Profile() string {
	if s == nil {
		return ""
	}
	return s.profile
}

// quantile is the inverse CDF at u, in nanoseconds, clamped to [0, max].
func (s *Sampler) quantile(u float64) float64 {
	var x float64
	switch s.kind {
	case distFixed:
		x = s.a
	case distUniform:
		x = s.a + s.b*u
	case distNormal:
		x = s.a + spread(s.b, u)
	case distLogNormal:
		x = math.Exp(s.a + spread(s.b, u))
	case distPercentiles:
		p := s.pts
		i := 1
		for i < len(p)-1 && u >= p[i].q {
			i++
		}
		lo, hi := p[i-1], p[i]
		x = lo.ns + (hi.ns-lo.ns)*(u-lo.q)/(hi.q-lo.q)
	}
	if !(x > 0) { // also NaN
		return 0
	}
	return min(x, s.max)
}

// spread is sd times the standard normal distribution's inverse CDF at u:
// 0 when sd is 0, even at u = 0 or 1 where the inverse CDF is infinite.
func spread(sd, u float64) float64 {
	if sd == 0 {
		return 0
	}
	return sd * math.Sqrt2 * math.Erfinv(2*u-1)
}

func (s *Sampler) finish(x float64, bodyBytes int) time.Duration {
	if bodyBytes > 0 && s.perKB > 0 {
		x += s.perKB * float64(bodyBytes) / 1024
	}
	return time.Duration(min(x, float64(MaxDelay)))
}

// String describes the sampler for logs and the admin API.
func (s *Sampler) String() string {
	if s == nil {
		return "none"
	}
	d := func(ns float64) string { return time.Duration(ns).Round(time.Microsecond).String() }
	var b strings.Builder
	switch s.kind {
	case distFixed:
		b.WriteString("fixed " + d(s.a))
	case distUniform:
		b.WriteString("uniform " + d(s.a) + ".." + d(s.a+s.b))
	case distNormal:
		b.WriteString("normal(mean " + d(s.a) + ", stddev " + d(s.b) + ")")
	case distLogNormal:
		b.WriteString("lognormal(median " + d(math.Exp(s.a)) + ", p99 " + d(math.Exp(s.a+z99*s.b)) + ")")
	case distPercentiles:
		b.WriteString("percentiles(")
		for i, p := range s.pts {
			if i > 0 {
				b.WriteString(", ")
			}
			switch i {
			case 0:
				b.WriteString("min")
			case len(s.pts) - 1:
				b.WriteString("max")
			default:
				b.WriteString("p" + strconv.FormatFloat(p.q*100, 'g', 6, 64))
			}
			b.WriteString(" " + d(p.ns))
		}
		b.WriteString(")")
	}
	if s.perKB > 0 {
		b.WriteString(" + " + d(s.perKB) + "/KiB")
	}
	if s.profile != "" {
		b.WriteString(" [profile " + s.profile + "]")
	}
	return b.String()
}
