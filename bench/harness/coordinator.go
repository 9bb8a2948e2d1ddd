package harness

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/ipn-project/ipn/coordinator"
)

// benchCoordinator is the coordinator the parent runs for the runs through the public API (IPNAPI, the process pairs, the network paths).
var benchCoordinator struct {
	once   sync.Once
	socket string
	srv    *coordinator.Server
	err    error
}

// StopCoordinator ends the coordinator started for IPNAPI runs, if any, and
// removes its directory.
func StopCoordinator() {
	c := &benchCoordinator
	if c.srv != nil {
		c.srv.Close()
		os.RemoveAll(filepath.Dir(c.socket))
	}
}

func CoordinatorSocket() (string, error) {
	c := &benchCoordinator
	c.once.Do(func() {
		dir, err := os.MkdirTemp("", "ipn-bench-")
		if err != nil {
			c.err = err
			return
		}
		c.socket = filepath.Join(dir, "ipnd.sock")
		c.srv = coordinator.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), "")
		c.err = c.srv.Listen(c.socket, 0o600)
	})
	return c.socket, c.err
}
