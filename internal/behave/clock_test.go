package behave

import (
	"context"
	"errors"
	"testing"
	"time"
)

// These tests hold whatever the machine's speed: Sleep never returns
// before its duration, and returns once its context ends. Accuracy is
// measured by BenchmarkSleepAccuracy, not asserted.

func TestSleep(t *testing.T) {
	t.Parallel()
	bg := context.Background()
	cancelled, cancel := context.WithCancel(bg)
	cancel()
	expired, cancel2 := context.WithDeadline(bg, time.Unix(0, 0))
	defer cancel2()
	tests := []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want error
	}{
		{"zero", cancelled, 0, nil},
		{"negative", bg, -time.Hour, nil},
		{"short", bg, time.Millisecond, nil},
		{"cancelled before", cancelled, time.Hour, context.Canceled},
		{"deadline passed", expired, time.Hour, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			if err := Sleep(tt.ctx, tt.d); !errors.Is(err, tt.want) {
				t.Errorf("Sleep = %v, want %v", err, tt.want)
			}
			if tt.want == nil && time.Since(start) < tt.d {
				t.Errorf("Sleep(%v) returned after %v", tt.d, time.Since(start))
			}
		})
	}
}

func TestSleepCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Sleep(ctx, time.Hour) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep = %v, want context.Canceled", err)
	}
	// The pooled timer a cancelled Sleep put back must not fire early for
	// the next one.
	for range 20 {
		start := time.Now()
		if err := Sleep(context.Background(), 2*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < 2*time.Millisecond {
			t.Fatalf("Sleep(2ms) returned after %v", took)
		}
	}
}

func TestSystemClock(t *testing.T) {
	t.Parallel()
	var c Clock = SystemClock{}
	start := c.Now()
	if err := c.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if c.Now().Sub(start) < time.Millisecond {
		t.Error("SystemClock.Sleep returned early")
	}
}
