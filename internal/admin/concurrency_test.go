package admin_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
)

// TestConcurrentChanges changes stubs through the API while other
// goroutines match requests against the engine, and checks that every
// match is a consistent stub: the one the request was meant for (or the
// fallback), whose response names that same id.
func TestConcurrentChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	// A fallback below every test stub: "/c/..." always matches something.
	e.json("POST", "/stubs", `{"id":"fallback","priority":9,"request":{"pathPrefix":"/c/"},"response":{"body":"id=fallback v=0"}}`).want(t, 201)

	const (
		writers     = 4
		matchers    = 4
		idsEach     = 8
		roundsEach  = 25
		bodyPattern = "id=%s v=%d"
	)
	id := func(w, i int) string { return fmt.Sprintf("w%d-%d", w, i) }
	stubJSON := func(id string, v int) string {
		body, _ := json.Marshal(fmt.Sprintf(bodyPattern, id, v))
		// Each stub answers only requests for its own id: by path and by
		// header. A sequence makes Next advance shared counters too.
		return fmt.Sprintf(`{"id":%q,"request":{"method":"GET","path":"/c/%s","headers":{"X-Id":%q}},"responses":[{"body":%s},{"body":%s}],"sequence":"repeat"}`,
			id, id, id, body, body)
	}

	var done atomic.Bool
	var hits, fallbacks atomic.Int64
	var writersWG, othersWG sync.WaitGroup

	for w := range writers {
		writersWG.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			live := map[string]bool{}
			for round := range roundsEach {
				i := rng.IntN(idsEach)
				sid := id(w, i)
				path := "/stubs/" + sid
				var r reply
				switch {
				case !live[sid]:
					r = e.json("POST", "/stubs", stubJSON(sid, round))
					if r.status != 201 {
						t.Errorf("POST %s: %d %s", sid, r.status, r.body)
						return
					}
					live[sid] = true
				case rng.IntN(2) == 0:
					r = e.json("PUT", path, stubJSON(sid, round))
					if r.status != 200 {
						t.Errorf("PUT %s: %d %s", sid, r.status, r.body)
						return
					}
				default:
					r = e.do("DELETE", path, "", nil)
					if r.status != 204 {
						t.Errorf("DELETE %s: %d %s", sid, r.status, r.body)
						return
					}
					delete(live, sid)
				}
			}
		})
	}

	for m := range matchers {
		othersWG.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(m), 2))
			for !done.Load() {
				sid := id(rng.IntN(writers), rng.IntN(idsEach))
				s := e.store.Engine().Match(&engine.Request{
					Proto: "HTTP/1.1", Method: "GET", Path: "/c/" + sid,
					Fields: fields{"X-Id": sid},
				})
				if s == nil {
					t.Errorf("no stub for /c/%s, not even the fallback", sid)
					return
				}
				if s.ID != sid && s.ID != "fallback" {
					t.Errorf("/c/%s matched stub %s", sid, s.ID)
					return
				}
				if s.Spec.ID != s.ID {
					t.Errorf("stub %s holds the spec of %s", s.ID, s.Spec.ID)
				}
				body := string(s.Next().Body)
				if !strings.HasPrefix(body, "id="+s.ID+" ") {
					t.Errorf("stub %s answers %q", s.ID, body)
					return
				}
				if s.ID == sid {
					hits.Add(1)
				} else {
					fallbacks.Add(1)
				}
			}
		})
	}

	// The API's view stays consistent too: every listed stub's response
	// names its own id.
	othersWG.Go(func() {
		for !done.Load() {
			var l stubList
			r := e.do("GET", "/stubs", "", nil)
			if r.status != 200 {
				t.Errorf("GET /stubs: %d", r.status)
				return
			}
			if err := json.Unmarshal(r.body, &l); err != nil {
				t.Errorf("GET /stubs: %v", err)
				return
			}
			for _, s := range l.Stubs {
				if strings.HasPrefix(s.ID, "w") && !strings.Contains(string(s.Responses), `"id=`+s.ID+` v=`) {
					t.Errorf("listed stub %s has responses %s", s.ID, s.Responses)
				}
			}
		}
	})

	writersWG.Wait()
	done.Store(true)
	othersWG.Wait()
	if hits.Load() == 0 {
		t.Errorf("no match ever found a test stub (%d fallbacks)", fallbacks.Load())
	}
	t.Logf("%d matches of test stubs, %d of the fallback", hits.Load(), fallbacks.Load())
}
