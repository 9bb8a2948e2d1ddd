package bench

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// checkLeaks fails t if, when t ends, this process has more goroutines or
// open file descriptors than when checkLeaks was called.
func checkLeaks(t *testing.T) {
	t.Helper()
	g0, fd0 := runtime.NumGoroutine(), openFDs(t)
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for {
			g, fd := runtime.NumGoroutine(), openFDs(t)
			if g <= g0 && fd <= fd0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("leak: got %d goroutines and %d open files, want at most %d and %d", g, fd, g0, fd0)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("open files: %v", err)
	}
	return len(ents)
}
