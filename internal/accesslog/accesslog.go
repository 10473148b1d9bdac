// Package accesslog writes one structured line per request: every request
// at debug level when the logger has debug enabled, and a deterministic
// sample of them at info level when the access-log setting asks for it.
//
// A front door holds a *Logger that is nil when neither applies, so the
// request path pays one nil check and nothing else at the default info
// level with the access log off.
package accesslog

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Logger decides which requests are logged, and logs them.
type Logger struct {
	log   *slog.Logger
	debug bool   // every request at debug level
	every uint64 // every Nth request at info level; 0: none
	n     atomic.Uint64
}

// ParseSampling reads the access-log setting: "off" (or "0") logs no
// request at info, "all" (or "1") every request, and a fraction such as
// 0.01 one request in round(1/fraction), deterministically. It returns the
// fraction.
func ParseSampling(v string) (float64, error) {
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case "", "off":
		return 0, nil
	case "all":
		return 1, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0 && f <= 1) {
		return 0, fmt.Errorf("%q: want off, all, or a sampling fraction from 0 to 1 such as 0.01", v)
	}
	return f, nil
}

// New returns the request logger of log, or nil when it would log
// nothing: log has debug disabled and sample (the share of requests logged
// at info, 0 to 1) is 0.
func New(log *slog.Logger, sample float64) *Logger {
	if log == nil {
		return nil
	}
	l := &Logger{log: log, debug: log.Enabled(context.Background(), slog.LevelDebug)}
	if sample > 0 {
		l.every = uint64(max(1, math.Round(1/min(sample, 1))))
	}
	if !l.debug && l.every == 0 {
		return nil
	}
	return l
}

// Every is how often a request is logged at info: every Nth (0: never).
func (l *Logger) Every() uint64 {
	if l == nil {
		return 0
	}
	return l.every
}

// Request is what a line says about one request.
type Request struct {
	Method, Path string
	Stub         string // "" when no stub matched
	Status       int
	Duration     time.Duration
	Proto        string
	Remote       string
}

// Sampled counts one request and reports whether it is logged: every
// Nth at info, or, failing that, every one at debug. A nil Logger logs
// nothing. Front doors call it first and build the Request only when it
// returns a level.
func (l *Logger) Sampled() (slog.Level, bool) {
	if l == nil {
		return 0, false
	}
	if l.every > 0 && l.n.Add(1)%l.every == 0 {
		return slog.LevelInfo, true
	}
	if l.debug {
		return slog.LevelDebug, true
	}
	return 0, false
}

// Log writes the line of r at level.
func (l *Logger) Log(level slog.Level, r *Request) {
	stub := r.Stub
	if stub == "" {
		stub = "-"
	}
	l.log.LogAttrs(context.Background(), level, "request",
		slog.String("method", r.Method),
		slog.String("path", r.Path),
		slog.String("stub", stub),
		slog.Int("status", r.Status),
		slog.Duration("duration", r.Duration),
		slog.String("proto", r.Proto),
		slog.String("remote", r.Remote),
	)
}
