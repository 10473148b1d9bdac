package behave

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/wake"
	"github.com/goccy/go-yaml"
	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction(wake.Goroutine)) }

// decodeYAML decodes as the config loader does: unknown fields refused.
func decodeYAML(src string, v any) error {
	return yaml.UnmarshalWithOptions([]byte(src), v, yaml.DisallowUnknownField())
}

// fakeClock is a Clock whose Sleep advances its time at once.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps int
}

var _ Clock = (*fakeClock)(nil)

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	c.sleeps++
	return nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
