// Package unixsock listens on a unix socket file the way a daemon should:
// refusing a path another server still answers on, taking over one left by
// a server that is gone.
package unixsock

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// Listen listens on network ("unix", "unixpacket") at path. If a server
// answers there, it fails with EADDRINUSE; a socket file nobody answers on
// is stale, and is replaced.
func Listen(network, path string) (*net.UnixListener, error) {
	if c, err := net.Dial(network, path); err == nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w: another server answers there", path, syscall.EADDRINUSE)
	}
	os.Remove(path) // a stale socket of a server that is gone
	ln, err := net.ListenUnix(network, &net.UnixAddr{Name: path, Net: network})
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}
