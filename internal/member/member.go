// Package member starts member processes of a network that their parent
// made itself, without a coordinator (the ring's multi-process tests, the
// benchmarks): it hands a child the network's data plane (plane.Plane's
// descriptors) over a socket pair with SCM_RIGHTS, with a header of the
// caller's own, and the child attaches to it.
package member

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/internal/fdpass"
	"github.com/ipn-project/ipn/plane"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/wire"
)

// ctlFD is where a child finds its end of the socket pair (ExtraFiles[0]).
const ctlFD = 3

// Start starts cmd, hands it p and hdr (encoded as JSON), and waits until
// the child has attached (Attach). On error the child is killed.
func Start(cmd *exec.Cmd, p *plane.Plane, hdr any) error {
	conn, child, err := fdpass.Pair()
	if err != nil {
		return err
	}
	defer conn.Close()
	cmd.ExtraFiles = append([]*os.File{child}, cmd.ExtraFiles...)
	err = cmd.Start()
	child.Close()
	if err != nil {
		return fmt.Errorf("member: start %s: %w", cmd.Path, err)
	}
	if err := Send(conn, p, hdr); err != nil {
		cmd.Process.Kill()
		return err
	}
	if _, _, err := fdpass.Recv(conn, make([]byte, 16)); err != nil {
		cmd.Process.Kill()
		return fmt.Errorf("member: %s did not attach: %w", cmd.Path, err)
	}
	return nil
}

// Send writes hdr (as JSON) with p's descriptors to conn. The socket
// buffers them, so the child may start later.
func Send(conn *net.UnixConn, p *plane.Plane, hdr any) error {
	b, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("member: header: %w", err)
	}
	if err := fdpass.Send(conn, b, p.Handoff().FDs()...); err != nil {
		return fmt.Errorf("member: hand over: %w", err)
	}
	return nil
}

// Attach is the child's side of Start: it receives the network on its
// inherited socket, decodes the header into hdr, and says it is ready.
func Attach(hdr any) (*ring.Network, error) {
	conn, err := fdpass.ConnFromFile(os.NewFile(ctlFD, "member-ctl"))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	n, err := Receive(conn, hdr)
	if err != nil {
		return nil, err
	}
	if err := fdpass.Send(conn, []byte("ready")); err != nil {
		return nil, err
	}
	return n, nil
}

// Receive is the child's side of Send: it returns the network, with every
// port's eventfds installed.
func Receive(conn *net.UnixConn, hdr any) (*ring.Network, error) {
	buf := make([]byte, 1<<16)
	n, fds, err := fdpass.Recv(conn, buf)
	if err != nil {
		return nil, err
	}
	h, err := wire.HandoffFromFDs(fds)
	if err == nil {
		err = json.Unmarshal(buf[:n], hdr)
	}
	if err != nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("member: %w", err)
	}
	p, err := plane.Attach(h)
	if err != nil {
		return nil, err
	}
	return p.Net, nil
}
