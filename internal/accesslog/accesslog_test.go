package accesslog

import (
	"io"
	"log/slog"
	"testing"
)

func TestParseSampling(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]float64{"off": 0, "": 0, "0": 0, "all": 1, "ALL": 1, "1": 1, "0.01": 0.01, " 0.5 ": 0.5} {
		if got, err := ParseSampling(in); err != nil || got != want {
			t.Errorf("ParseSampling(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"some", "-0.1", "1.5", "NaN", "on"} {
		if _, err := ParseSampling(in); err == nil {
			t.Errorf("ParseSampling(%q) accepted", in)
		}
	}
}

func TestSampling(t *testing.T) {
	t.Parallel()
	info := slog.New(slog.NewTextHandler(io.Discard, nil))
	debug := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if l := New(info, 0); l != nil {
		t.Fatal("info level with no sampling: want a nil Logger (nothing to do per request)")
	}
	if _, ok := (*Logger)(nil).Sampled(); ok {
		t.Fatal("a nil Logger logs")
	}
	for _, c := range []struct {
		log         *slog.Logger
		frac        float64
		info, debug int
	}{
		{info, 0.01, 10, 0},
		{info, 0.3, 333, 0}, // one in round(1/0.3) = 3
		{info, 1, 1000, 0},
		{debug, 0, 0, 1000},
		{debug, 0.1, 100, 900},
	} {
		l := New(c.log, c.frac)
		var info, debug int
		for range 1000 {
			lv, ok := l.Sampled()
			switch {
			case !ok:
			case lv == slog.LevelInfo:
				info++
			case lv == slog.LevelDebug:
				debug++
			}
		}
		if info != c.info || debug != c.debug {
			t.Errorf("fraction %v: %d at info and %d at debug of 1000, want %d and %d", c.frac, info, debug, c.info, c.debug)
		}
	}
}
