package wiremock

import (
	"encoding/base64"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/goccy/go-yaml/ast"
)

// faults maps WireMock's faults to decoy's.
var faults = map[string]string{
	"CONNECTION_RESET_BY_PEER": "reset",
	"EMPTY_RESPONSE":           "empty",
	// "An OK status header, then garbage, then close": the client gets a
	// status line and headers and fails reading the body, as with decoy's
	// close-mid-body (decoy's malformed breaks the head itself).
	"MALFORMED_RESPONSE_CHUNK": "close-mid-body",
	"RANDOM_DATA_THEN_CLOSE":   "garbage",
}

// maxMillis bounds delays (a day): a longer one is a mistake.
const maxMillis = 24 * 60 * 60 * 1000

// response converts a mapping's response.
func (c *conv) response(r obj) *stub.Response {
	resp := &stub.Response{}
	bodies := 0
	size := int64(-1) // the body's length, for chunkedDribbleDelay
	templated := false
	for _, k := range r.keys() {
		v := r.get(k)
		f := r.sub(k)
		if isNull(v) {
			continue
		}
		switch k {
		case "status":
			if s, ok := c.integer(v, f, 100, 999); ok {
				resp.Status = int(s)
			}
		case "statusMessage":
			if _, ok := c.str(v, f); ok {
				c.note(f, "not supported: decoy sends the status code's standard reason phrase")
			}
		case "headers":
			resp.Headers = c.headers(v, f, &templated)
		case "body", "jsonBody", "base64Body", "bodyFileName":
			bodies++
			if bodies > 1 {
				c.fail(v, f, "give one of body, jsonBody, base64Body and bodyFileName")
				continue
			}
			size = c.body(resp, k, v, f, &templated)
		case "fixedDelayMilliseconds":
		case "delayDistribution":
		case "chunkedDribbleDelay":
		case "fault":
			s, ok := c.strictStr(v, f)
			if !ok {
				continue
			}
			kind, ok := faults[s]
			if !ok {
				c.fail(v, f, fmt.Sprintf("unknown fault %q (WireMock's are CONNECTION_RESET_BY_PEER, EMPTY_RESPONSE, MALFORMED_RESPONSE_CHUNK, RANDOM_DATA_THEN_CLOSE)", s))
				continue
			}
			resp.Faults = stub.Faults{{Kind: kind}}
		case "transformers", "transformerParameters":
			templated = true
		case "proxyBaseUrl":
			c.unsupported(f, "proxying is not supported (decoy never calls another server): record the real API's answers (WireMock's recorder writes them as mappings) and give this mapping a status, headers and body in place of proxyBaseUrl")
		case "additionalProxyRequestHeaders", "removeProxyRequestHeaders", "proxyUrlPrefixToRemove", "fromConfiguredStub":
		default:
			c.note(f, "not a response field decoy knows; ignored")
		}
	}
	if templated {
		c.note("response", "response templating is not supported: bodies and headers are served as written, {{...}} included")
	}
	c.delay(resp, r)
	if n := r.get("chunkedDribbleDelay"); !isNull(n) {
		c.dribble(resp, n, r.sub("chunkedDribbleDelay"), size)
	}
	return resp
}

// headers converts response headers: a value, or a list of values.
func (c *conv) headers(n ast.Node, f string, templated *bool) map[string]stub.HeaderValues {
	o, ok := c.object(n, f)
	if !ok {
		return nil
	}
	out := map[string]stub.HeaderValues{}
	for _, name := range o.keys() {
		v := o.get(name)
		hf := o.sub(name)
		var vals stub.HeaderValues
		if items, isList := stub.Unwrap(v).(*ast.SequenceNode); isList {
			for i, it := range items.Values {
				if s, ok := c.str(it, fmt.Sprintf("%s[%d]", hf, i)); ok {
					vals = append(vals, s)
				}
			}
		} else if s, ok := c.str(v, hf); ok {
			vals = stub.HeaderValues{s}
		}
		switch strings.ToLower(name) {
		case "content-length", "transfer-encoding", "connection":
			c.detail(hf, "not sent: decoy sets it itself")
			continue
		}
		for _, s := range vals {
			if strings.Contains(s, "{{") {
				*templated = true
			}
		}
		out[name] = vals
	}
	return out
}

// body converts body, jsonBody, base64Body or bodyFileName and returns the
// body's length (-1 when unknown).
func (c *conv) body(resp *stub.Response, key string, v ast.Node, f string, templated *bool) int64 {
	switch key {
	case "body":
		s, ok := c.str(v, f)
		if !ok {
			return -1
		}
		if strings.Contains(s, "{{") {
			*templated = true
		}
		resp.Body = stub.Text(s)
		return int64(len(s))
	case "jsonBody":
		text, ok := c.jsonText(v, f)
		if !ok {
			return -1
		}
		val, err := stub.JSONValue(text)
		if err != nil {
			c.fail(v, f, err.Error())
			return -1
		}
		if strings.Contains(string(text), "{{") {
			*templated = true
		}
		resp.Body = val
		if _, isStr := val.String(); isStr {
			// A JSON string is sent as its text by decoy; WireMock sends
			// it as JSON (quoted).
			resp.Body = stub.Text(string(val.JSON()))
		}
		return int64(len(val.JSON()))
	case "base64Body":
		s, ok := c.strictStr(v, f)
		if !ok {
			return -1
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			c.fail(v, f, "not base64: "+err.Error())
			return -1
		}
		resp.BodyBase64 = s
		return int64(len(raw))
	case "bodyFileName":
		s, ok := c.strictStr(v, f)
		if !ok {
			return -1
		}
		if strings.Contains(s, "{{") {
			c.unsupported(f, "a templated file name (response templating is not supported)")
			return -1
		}
		path := filepath.Join(c.filesDir, filepath.FromSlash(s))
		info, err := os.Stat(path)
		switch {
		case err != nil:
			msg := err.Error()
			if os.IsNotExist(err) {
				msg = "no such file"
			}
			c.fail(v, f, fmt.Sprintf("cannot read %s: %s", path, msg))
			return -1
		case info.IsDir():
			c.fail(v, f, path+" is a folder")
			return -1
		}
		resp.BodyFile = path
		return info.Size()
	}
	return -1
}

// delay converts fixedDelayMilliseconds and delayDistribution, which
// WireMock adds together.
func (c *conv) delay(resp *stub.Response, r obj) {
	fixed := -1.0
	if n := r.get("fixedDelayMilliseconds"); !isNull(n) {
		if ms, ok := c.integer(n, r.sub("fixedDelayMilliseconds"), 0, maxMillis); ok {
			fixed = float64(ms)
		}
	}
	var lat *stub.Latency
	if n := r.get("delayDistribution"); !isNull(n) {
		lat = c.distribution(n, r.sub("delayDistribution"), max(fixed, 0))
	}
	switch {
	case lat != nil:
		resp.Latency = lat
	case fixed >= 0:
		d := stub.Duration(time.Duration(fixed * float64(time.Millisecond)))
		resp.Delay = &d
	}
}

func ms(f float64) stub.Duration { return stub.Duration(time.Duration(f * float64(time.Millisecond))) }

// distribution converts delayDistribution, plus a fixed delay in ms.
func (c *conv) distribution(n ast.Node, f string, plus float64) *stub.Latency {
	o, ok := c.object(n, f)
	if !ok {
		return nil
	}
	typ, ok := c.strictStr(o.get("type"), o.sub("type"))
	if !ok {
		return nil
	}
	num := func(k string) (float64, bool) {
		v, ok := c.number(o.get(k), o.sub(k))
		if ok && v > maxMillis {
			c.fail(o.get(k), o.sub(k), "longer than a day")
			return 0, false
		}
		return v, ok
	}
	switch strings.ToLower(typ) {
	case "fixed":
		v, ok := num("milliseconds")
		if !ok {
			return nil
		}
		d := ms(v + plus)
		return &stub.Latency{Fixed: &d}
	case "uniform":
		lo, ok1 := num("lower")
		hi, ok2 := num("upper")
		if !ok1 || !ok2 {
			return nil
		}
		if hi < lo {
			c.fail(o.get("upper"), o.sub("upper"), "must be at least lower")
			return nil
		}
		return &stub.Latency{Uniform: &stub.Uniform{Min: ms(lo + plus), Max: ms(hi + plus)}}
	case "lognormal":
		median, ok1 := num("median")
		sigma, ok2 := c.number(o.get("sigma"), o.sub("sigma"))
		if !ok1 || !ok2 {
			return nil
		}
		if median <= 0 {
			c.fail(o.get("median"), o.sub("median"), "must be above 0")
			return nil
		}
		var maxV float64
		if mn := o.get("maxValue"); !isNull(mn) {
			if maxV, ok = num("maxValue"); !ok {
				return nil
			}
		}
		if plus == 0 {
			mu := math.Log(median)
			l := &stub.LogNormal{Mu: &mu, Sigma: &sigma}
			if maxV > 0 {
				l.Max = ms(maxV)
			}
			return &stub.Latency{LogNormal: l}
		}
		// A fixed delay on top of a log-normal one: decoy's log-normal
		// has no offset, so the sum is given by its percentiles.
		return &stub.Latency{Percentiles: lognormalPercentiles(median, sigma, plus, maxV)}
	default:
		c.note(f, fmt.Sprintf("delay distribution %q is not supported; not applied", typ))
		return nil
	}
}

// z-scores of the standard normal distribution at the percentiles that
// lognormalPercentiles gives.
var zScores = []struct {
	p string
	z float64
}{
	{"p1", -2.326348}, {"p5", -1.644854}, {"p10", -1.281552}, {"p25", -0.674490},
	{"p50", 0}, {"p75", 0.674490}, {"p90", 1.281552}, {"p95", 1.644854},
	{"p99", 2.326348}, {"p99.9", 3.090232},
}

// lognormalPercentiles describes plus + LogNormal(ln median, sigma) by its
// percentiles (decoy interpolates between them).
func lognormalPercentiles(median, sigma, plus, maxV float64) stub.Percentiles {
	out := stub.Percentiles{"min": ms(plus)}
	for _, z := range zScores {
		v := median * math.Exp(sigma*z.z)
		if maxV > 0 {
			v = min(v, maxV)
		}
		out[z.p] = ms(plus + v)
	}
	if maxV > 0 {
		out["max"] = ms(plus + maxV)
	}
	return out
}

// dribble converts chunkedDribbleDelay: the body in numberOfChunks chunks
// spread over totalDuration, one every totalDuration/numberOfChunks.
func (c *conv) dribble(resp *stub.Response, n ast.Node, f string, size int64) {
	o, ok := c.object(n, f)
	if !ok {
		return
	}
	chunks, ok1 := c.integer(o.get("numberOfChunks"), o.sub("numberOfChunks"), 1, 1<<30)
	total, ok2 := c.integer(o.get("totalDuration"), o.sub("totalDuration"), 0, maxMillis)
	if !ok1 || !ok2 {
		return
	}
	if size <= 0 {
		c.note(f, "the response has no body to dribble; not applied")
		return
	}
	chunk := (size + chunks - 1) / chunks
	resp.Dribble = &stub.Dribble{
		Chunk: stub.Size(chunk),
		Every: stub.Duration(time.Duration(total) * time.Millisecond / time.Duration(chunks)),
	}
}
