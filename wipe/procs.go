package wipe

import (
	"runtime"
	"sync"
)

// A writer blocked in pwrite keeps its P (the Go scheduler's right to run Go code)
// until the runtime's monitor takes it back, tens of microseconds or more later. With
// as many Ps as cores, the writers of a random pass hold them all most of the time,
// and the keystream generators, readied by a finished write, wait for one: on 2 cores
// a tmpfs-backed random pass at queue depth 8 ran at 3.7 GB/s with 2 Ps and 4.4 GB/s
// with 10, and 16 such passes at 5.3 and 6.1 GB/s. So while random passes run, the
// process has a P for each of their writers beyond its cores, up to spareProcsPerCore
// per core; the generators stay as many as the cores (keyPool).

// spareProcsPerCore bounds the Ps added per core: 16 targets at queue depth 8 on 2
// cores ran as fast with 8 spare Ps as with 128.
const spareProcsPerCore = 4

// procs is the process's reservation of spare Ps, under mu.
var procs struct {
	mu       sync.Mutex
	base     int  // GOMAXPROCS when the first reservation was made
	set      int  // the GOMAXPROCS the reservations last set
	reserved int  // writers of the random passes running
	yielded  bool // something else set GOMAXPROCS meanwhile: it is left alone
}

// cores is the number of Ps the process has without reservations: the size of the
// keystream pool.
func cores() int {
	procs.mu.Lock()
	defer procs.mu.Unlock()
	if procs.reserved > 0 {
		return procs.base
	}
	return runtime.GOMAXPROCS(0)
}

// reserveProcs adds a P for each of writers (within the bound) until release is
// called; the last release gives the process its former GOMAXPROCS back. A GOMAXPROCS
// set by anything else while reservations are held is left as it was set.
func reserveProcs(writers int) (release func()) {
	if writers < 1 {
		return func() {}
	}
	procs.mu.Lock()
	defer procs.mu.Unlock()
	if procs.reserved == 0 {
		procs.base, procs.yielded = runtime.GOMAXPROCS(0), false
	} else if runtime.GOMAXPROCS(0) != procs.set {
		procs.yielded = true
	}
	procs.reserved += writers
	setProcs()
	var once sync.Once
	return func() {
		once.Do(func() {
			procs.mu.Lock()
			defer procs.mu.Unlock()
			if runtime.GOMAXPROCS(0) != procs.set {
				procs.yielded = true
			}
			procs.reserved -= writers
			setProcs()
		})
	}
}

// setProcs makes GOMAXPROCS what the reservations ask for. Under procs.mu.
func setProcs() {
	if procs.yielded {
		return
	}
	procs.set = procs.base + min(procs.reserved, spareProcsPerCore*procs.base)
	runtime.GOMAXPROCS(procs.set)
}
