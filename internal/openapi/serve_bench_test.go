package openapi_test

import (
	"testing"
)

// BenchmarkServedAnswer is what a front door does for a request to an
// operation of the petstore: match a stub, run its check, pick the
// answer (negotiated by Accept). No body generation: the operation's
// bodies are examples.
func BenchmarkServedAnswer(b *testing.B) {
	for _, mode := range []string{"off", "enforce"} {
		snap := snapshot(b, "../../examples/openapi/petstore.yaml", mode)
		cases := []struct{ name, headers string }{
			{"no-accept", ""},
			{"any", "Accept: */*"},
			{"json", "Accept: application/json"},
			{"text", "Accept: text/plain"},
			{"q-values", "Accept: application/json;q=0.5, text/plain;q=0.9, */*;q=0.1"},
		}
		for _, c := range cases {
			b.Run(mode+"/"+c.name, func(b *testing.B) {
				req := newRequest("GET", "/v1/pets/7", c.headers, nil)
				r := new(*req)
				b.ReportAllocs()
				for b.Loop() {
					// A request afresh each time, as a front door builds
					// it (the engine notes in it what it looked up).
					*r = *req
					st := snap.Match(r)
					if st == nil {
						b.Fatal("no stub")
					}
					resp := st.Responses()[0]
					vary := st.Vary()
					if chk := st.Check(); chk != nil {
						if v := chk.Check(r); v != nil && v.Response != nil {
							resp, vary = v.Response, nil
						}
					}
					if vary != nil {
						resp = vary.Vary(r, resp)
					}
					if resp.Status != 200 {
						b.Fatalf("status %d", resp.Status)
					}
				}
			})
		}
	}
}
