// Package racetest starts goroutines together, for the concurrent cases of
// the store conformance suites (emulator/*/storetest): released at once
// rather than as each is created, they contend for the store instead of
// running one after another.
package racetest

import "sync"

// Writers is how many goroutines a concurrent case of the suites races:
// enough contention for an unsynchronized read-modify-write to lose
// updates, few enough to finish in milliseconds.
const Writers = 50

// Run calls fn(0) … fn(n-1), each in its own goroutine, releases them
// together and waits for all of them.
func Run(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}
