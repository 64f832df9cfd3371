package veil

import (
	"sync"
	"sync/atomic"
	"time"
)

// The limiter reads the time on every watched query; time.Now costs tens of
// nanoseconds on virtual machines, more than the rest of the lookup (reading
// the monotonic clock directly added 48 to 54 ns per query to veil + limit
// in a paired VeilAdded measurement, docs/performance.md). While a limiting
// veil runs, a goroutine keeps a millisecond clock in an atomic instead,
// updated every clockTick. It is monotonic: wall-clock steps do not move it.
var (
	clockStart   = time.Now()
	clockMillis  atomic.Int64
	clockRunning atomic.Bool
	clockMu      sync.Mutex
	clockUsers   int
	clockStop    chan struct{}
)

// clockTick is how often the clock goroutine wakes. 10 ms is far finer than
// any limit (a denial's worth of budget drains in 50 ms at the default rate,
// 1 ms at 1,000 per second) and costs a hundred wake-ups a second, which a
// busy single-core server notices less than a thousand.
const clockTick = 10 * time.Millisecond

// monoMillis reads the monotonic clock directly. It is kept out of line so
// that coarseMillis, on every watched query, inlines.
//
//go:noinline
func monoMillis() int64 { return time.Since(clockStart).Milliseconds() }

// coarseMillis returns the time in milliseconds since start-up, from the
// ticking clock when it runs.
func coarseMillis() int64 {
	if clockRunning.Load() {
		return clockMillis.Load()
	}
	return monoMillis()
}

// startClock starts the ticking clock for one more user.
func startClock() {
	clockMu.Lock()
	defer clockMu.Unlock()
	clockUsers++
	if clockUsers > 1 {
		return
	}
	clockMillis.Store(monoMillis())
	clockRunning.Store(true)
	stop := make(chan struct{})
	clockStop = stop
	go func() {
		t := time.NewTicker(clockTick)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				clockMillis.Store(monoMillis())
			case <-stop:
				return
			}
		}
	}()
}

// stopClock releases one user; the last one stops the goroutine.
func stopClock() {
	clockMu.Lock()
	defer clockMu.Unlock()
	if clockUsers == 0 {
		return
	}
	clockUsers--
	if clockUsers == 0 {
		clockRunning.Store(false)
		close(clockStop)
	}
}
