package wake

import (
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

var w struct {
	once sync.Once
	ok   bool
	fd   int
	file *os.File
	// base converts time.Since(epoch) to the CLOCK_MONOTONIC instant the
	// timerfd counts in (the runtime's clock is the same one).
	base  int64
	epoch time.Time

	mu    sync.Mutex
	heap  deadlines
	dead  bool  // the timerfd failed: After does nothing more
	armed int64 // the instant the timerfd is set for, 0 when unset
	last  int64 // the last instant pushed, so a burst on one grid point pushes once
	wakes uint64
}

// now is the current CLOCK_MONOTONIC instant, read through the runtime's
// clock (vDSO) rather than a system call.
func now() int64 { return w.base + int64(time.Since(w.epoch)) }

func start() {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return
	}
	w.epoch = time.Now()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		_ = unix.Close(fd)
		return
	}
	// The kernel's clock was read between epoch and now: take the middle
	// (taking now put base behind by the whole gap, which can be long on
	// a busy CPU).
	w.base = ts.Nano() - int64(time.Since(w.epoch))/2
	w.fd = fd
	// A non-blocking descriptor given to os.NewFile is served by the
	// runtime's poller: that is what lets the timerfd wake it.
	w.file = os.NewFile(uintptr(fd), "wake-timerfd")
	w.ok = true
	go loop()
}

// After asks that the process be awake when a runtime timer armed now for
// d comes due. Call it right after arming the timer. It allocates nothing
// (once the heap has grown) and makes a system call only when the new
// instant is earlier than the one the timerfd is set for.
func After(d time.Duration) {
	if d <= 0 {
		return
	}
	w.once.Do(start)
	if !w.ok {
		return
	}
	at := onGrid(now() + int64(d))
	w.mu.Lock()
	if !w.dead && at != w.last {
		w.last = at
		w.heap.push(at)
		if w.armed == 0 || at < w.armed {
			arm(at)
		}
	}
	w.mu.Unlock()
}

// arm sets the timerfd for the instant at; w.mu is held.
func arm(at int64) {
	w.armed = at
	its := unix.ItimerSpec{Value: unix.NsecToTimespec(at)}
	if err := unix.TimerfdSettime(w.fd, unix.TFD_TIMER_ABSTIME, &its, nil); err != nil {
		w.armed = 0
	}
}

// loop waits for the timerfd to fire, forgets the instants that have
// passed and sets it for the next one. Runtime timers due by then have
// run or run next: waking the poller was the whole job.
func loop() {
	var b [8]byte
	for {
		if _, err := w.file.Read(b[:]); err != nil {
			// EAGAIN is absorbed by the poller; anything else means the
			// descriptor is unusable: stop waking, timers still fire.
			w.mu.Lock()
			w.dead = true
			w.mu.Unlock()
			return
		}
		// The kernel's clock, which the timerfd fired by: now() can be
		// behind it by up to half the gap base was measured across, and
		// an instant it said was not due yet would be armed again,
		// already passed, for wake-ups that find nothing to do until
		// now() caught up (CI once counted 33 wake-ups for 20 instants).
		t := now()
		var ts unix.Timespec
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) == nil {
			t = ts.Nano()
		}
		w.mu.Lock()
		w.wakes++
		for len(w.heap) > 0 && w.heap[0] <= t {
			w.heap.pop()
		}
		w.armed = 0
		if len(w.heap) > 0 {
			arm(w.heap[0])
		}
		w.mu.Unlock()
	}
}

// pending is the number of instants waiting, for tests.
func pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.heap)
}

// wakes is the number of times the timerfd has fired, for tests.
func wakes() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.wakes
}

// supported reports whether After can wake the poller, for tests.
func supported() bool {
	w.once.Do(start)
	return w.ok
}
