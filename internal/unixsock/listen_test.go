package unixsock

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestListen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen("unix", path); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("a second Listen while the first serves: %v, want EADDRINUSE", err)
	}
	// A server gone without removing its file leaves a stale socket.
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the stale socket should still be there: %v", err)
	}
	ln, err = Listen("unix", path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	ln.Close()
}
