package h2serve

import "testing"

type fakeResponse struct {
	status int
	body   []byte
}

func encodeFake(r *fakeResponse) []byte { return EncodeHeaderBlock(r.status, nil, len(r.body)) }

func TestBlockCache(t *testing.T) {
	var c BlockCache[fakeResponse]
	c.Max = 2
	a, b, d := &fakeResponse{200, []byte("x")}, &fakeResponse{404, nil}, &fakeResponse{201, nil}
	calls := 0
	enc := func(r *fakeResponse) []byte { calls++; return encodeFake(r) }
	for i := 0; i < 3; i++ {
		if blockStatus(c.Get(a, enc)) != 200 || blockStatus(c.Get(b, enc)) != 404 {
			t.Fatal("wrong block")
		}
	}
	if calls != 2 {
		t.Errorf("%d encodings, want 2", calls)
	}
	c.Get(d, enc) // past Max: starts over
	c.Get(a, enc)
	if calls != 4 {
		t.Errorf("%d encodings after starting over, want 4", calls)
	}
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(1000, func() { c.Get(a, encodeFake) }); n != 0 {
		t.Errorf("Get allocates %.1f times", n)
	}
}
