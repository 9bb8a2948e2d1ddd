// Package member starts member processes of a network that their parent
// made itself, without a coordinator (the ring's multi-process tests, the
// benchmarks): it hands a child what its port of the network's data plane
// needs (plane.Plane's Handoff) over a socket pair with SCM_RIGHTS, with a
// header of the caller's own, and the child attaches to it. A child
// started with Start fetches from its parent, as a member of a coordinator
// would from the coordinator, the objects of ports opened after it.
package member

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/internal/fdpass"
	"github.com/ipn-project/ipn/plane"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/wire"
)

// ctlFD is where a child finds its end of the socket pair (ExtraFiles[0]).
const ctlFD = 3

// envelope is what travels with the descriptors.
type envelope struct {
	Hdr      json.RawMessage `json:"hdr"`
	Handover ring.Handover   `json:"handover"`
}

// Start starts cmd as the member on port of p, hands it hdr (encoded as
// JSON), and waits until the child has attached (Attach). Until the child
// exits, it answers the child's fetches. On error the child is killed.
func Start(cmd *exec.Cmd, p *plane.Plane, port int, hdr any) error {
	conn, child, err := fdpass.Pair()
	if err != nil {
		return err
	}
	served := false
	defer func() {
		if !served {
			conn.Close()
		}
	}()
	cmd.ExtraFiles = append([]*os.File{child}, cmd.ExtraFiles...)
	err = cmd.Start()
	child.Close()
	if err != nil {
		return fmt.Errorf("member: start %s: %w", cmd.Path, err)
	}
	if err := Send(conn, p, port, hdr); err != nil {
		cmd.Process.Kill()
		return err
	}
	if _, _, err := fdpass.Recv(conn, make([]byte, 16)); err != nil {
		cmd.Process.Kill()
		return fmt.Errorf("member: %s did not attach: %w", cmd.Path, err)
	}
	served = true
	go serve(conn, p, port)
	return nil
}

// Send writes hdr (as JSON) with the hand-off of port to conn. The socket
// buffers them, so the child may start later.
func Send(conn *net.UnixConn, p *plane.Plane, port int, hdr any) error {
	h, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("member: header: %w", err)
	}
	return send(conn, p, port, ^uint64(0), h)
}

func send(conn *net.UnixConn, p *plane.Plane, port int, only uint64, hdr json.RawMessage) error {
	h, done, err := p.Handoff(port, only)
	if err != nil {
		return fmt.Errorf("member: hand over port %d: %w", port, err)
	}
	defer done()
	b, err := json.Marshal(envelope{Hdr: hdr, Handover: h.Grant})
	if err != nil {
		return fmt.Errorf("member: header: %w", err)
	}
	if err := fdpass.Send(conn, b, h.FDs...); err != nil {
		return fmt.Errorf("member: hand over: %w", err)
	}
	return nil
}

// serve answers a child's fetches: each request is a set of ports, as
// JSON; each answer a hand-off of those ports.
func serve(conn *net.UnixConn, p *plane.Plane, port int) {
	defer conn.Close()
	buf := make([]byte, 64)
	for {
		n, fds, err := fdpass.Recv(conn, buf)
		closeFDs(fds)
		if err != nil || n == 0 {
			return
		}
		var want uint64
		if json.Unmarshal(buf[:n], &want) != nil || send(conn, p, port, want, json.RawMessage("null")) != nil {
			return
		}
	}
}

// fetcher asks the parent over conn for the objects of ports, one request
// at a time.
func fetcher(conn *net.UnixConn) ring.Fetcher {
	var mu sync.Mutex
	return func(ports uint64) (ring.Handover, []int, error) {
		mu.Lock()
		defer mu.Unlock()
		b, _ := json.Marshal(ports)
		if err := fdpass.Send(conn, b); err != nil {
			return ring.Handover{}, nil, err
		}
		env, fds, err := recvEnvelope(conn)
		return env.Handover, fds, err
	}
}

func recvEnvelope(conn *net.UnixConn) (envelope, []int, error) {
	buf := make([]byte, 1<<16)
	n, fds, err := fdpass.Recv(conn, buf)
	if err != nil {
		return envelope{}, nil, err
	}
	var env envelope
	if err := json.Unmarshal(buf[:n], &env); err != nil {
		closeFDs(fds)
		return envelope{}, nil, fmt.Errorf("member: %w", err)
	}
	return env, fds, nil
}

// Attach is the child's side of Start: it receives the network on its
// inherited socket, decodes the header into hdr, and says it is ready.
func Attach(hdr any) (*ring.Network, error) {
	conn, err := fdpass.ConnFromFile(os.NewFile(ctlFD, "member-ctl"))
	if err != nil {
		return nil, err
	}
	n, err := receive(conn, hdr, fetcher(conn))
	if err == nil {
		err = fdpass.Send(conn, []byte("ready"))
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return n, nil
}

// Receive is the child's side of Send: it returns the network, mapped as
// the hand-off says.
func Receive(conn *net.UnixConn, hdr any) (*ring.Network, error) {
	return receive(conn, hdr, nil)
}

func receive(conn *net.UnixConn, hdr any, fetch ring.Fetcher) (*ring.Network, error) {
	env, fds, err := recvEnvelope(conn)
	if err != nil {
		return nil, err
	}
	h, err := wire.HandoffFrom(&env.Handover, fds)
	if err == nil {
		err = json.Unmarshal(env.Hdr, hdr)
	}
	if err != nil {
		closeFDs(fds)
		return nil, fmt.Errorf("member: %w", err)
	}
	p, err := plane.Attach(h, fetch)
	if err != nil {
		return nil, err
	}
	return p.Net, nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
