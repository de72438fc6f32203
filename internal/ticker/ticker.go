// Package ticker runs the progress reports of long operations: a function called at
// every interval while the work goes on, and once more, marked final, when it ends.
package ticker

import "time"

// Start calls report(false) every interval until the returned stop function is called;
// stop waits for a report under way, then calls report(true). report is never called
// concurrently with itself.
func Start(interval time.Duration, report func(final bool)) (stop func()) {
	quit, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				report(false)
			}
		}
	}()
	return func() {
		close(quit)
		<-stopped
		report(true)
	}
}
