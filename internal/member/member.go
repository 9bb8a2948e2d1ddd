// Package member hands a network's data plane to a child process: the
// descriptors of a ring hand-over (ring.Network.Grant) travel over a socket
// pair with SCM_RIGHTS, with a small header chosen by the caller.
//
// It stands in for the coordinator where a program starts its own members
// (tests, benchmarks, the demo); members of a coordinator get the same
// hand-over from it instead. A member started this way cannot fetch the
// objects of ports opened after it: open every port first.
package member

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"

	"github.com/ipn-project/ipn/internal/fdpass"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/shm"
)

// ctlFD is where a child finds its end of the socket pair (ExtraFiles[0]).
const ctlFD = 3

// Data is a network a parent made and hands over.
type Data struct {
	Net *ring.Network
}

// Close frees the network.
func (d Data) Close() { d.Net.Close() }

// envelope is what travels with the descriptors.
type envelope struct {
	Hdr      json.RawMessage `json:"hdr"`
	Handover ring.Handover   `json:"handover"`
}

// Start starts cmd, hands it port of d and hdr (encoded as JSON), and
// waits until the child has attached (Attach). Until the child exits, it
// serves the child's requests for the objects of ports opened later, as a
// coordinator would. On error the child is killed.
func Start(cmd *exec.Cmd, d Data, port int, hdr any) error {
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
	if err := Send(conn, d, port, hdr); err != nil {
		cmd.Process.Kill()
		return err
	}
	if _, _, err := fdpass.Recv(conn, make([]byte, 16)); err != nil {
		cmd.Process.Kill()
		return fmt.Errorf("member: %s did not attach: %w", cmd.Path, err)
	}
	served = true
	go serve(conn, d, port)
	return nil
}

// serve answers a child's fetches: each request is a set of ports, as
// JSON; each answer a hand-over of those ports.
func serve(conn *net.UnixConn, d Data, port int) {
	defer conn.Close()
	buf := make([]byte, 64)
	for {
		n, fds, err := fdpass.Recv(conn, buf)
		closeFDs(fds)
		if err != nil || n == 0 {
			return
		}
		var want uint64
		if json.Unmarshal(buf[:n], &want) != nil {
			return
		}
		ho, fds, done, err := d.Net.Grant(port, want)
		if err != nil {
			return
		}
		b, _ := json.Marshal(envelope{Hdr: json.RawMessage("null"), Handover: ho})
		err = fdpass.Send(conn, b, fds...)
		done()
		if err != nil {
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
		buf := make([]byte, 1<<16)
		n, fds, err := fdpass.Recv(conn, buf)
		if err != nil {
			return ring.Handover{}, nil, err
		}
		var env envelope
		if err := json.Unmarshal(buf[:n], &env); err != nil {
			closeFDs(fds)
			return ring.Handover{}, nil, fmt.Errorf("member: fetch: %w", err)
		}
		return env.Handover, fds, nil
	}
}

// Send writes hdr (as JSON) with the hand-over of port to conn. The socket
// buffers them, so the child may start later.
func Send(conn *net.UnixConn, d Data, port int, hdr any) error {
	h, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("member: header: %w", err)
	}
	ho, fds, done, err := d.Net.Grant(port, ^uint64(0))
	if err != nil {
		return fmt.Errorf("member: hand over port %d: %w", port, err)
	}
	defer done()
	b, err := json.Marshal(envelope{Hdr: h, Handover: ho})
	if err != nil {
		return fmt.Errorf("member: header: %w", err)
	}
	if err := fdpass.Send(conn, b, fds...); err != nil {
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
	n, err := receive(conn, hdr, fetcher(conn))
	if err != nil {
		conn.Close()
		return nil, err
	}
	if err := fdpass.Send(conn, []byte("ready")); err != nil {
		return nil, err
	}
	return n, nil
}

// Receive is the child's side of Send: it returns the network, mapped as
// the hand-over says.
func Receive(conn *net.UnixConn, hdr any) (*ring.Network, error) {
	return receive(conn, hdr, nil)
}

func receive(conn *net.UnixConn, hdr any, fetch ring.Fetcher) (*ring.Network, error) {
	buf := make([]byte, 1<<16)
	n, fds, err := fdpass.Recv(conn, buf)
	if err != nil {
		return nil, err
	}
	var env envelope
	if err := json.Unmarshal(buf[:n], &env); err != nil {
		closeFDs(fds)
		return nil, fmt.Errorf("member: header: %w", err)
	}
	if err := json.Unmarshal(env.Hdr, hdr); err != nil {
		closeFDs(fds)
		return nil, fmt.Errorf("member: header: %w", err)
	}
	return ring.Attach(env.Handover, fds, fetch)
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		os.NewFile(uintptr(fd), "").Close()
	}
}

// NewData creates a network of geometry g named name, for a parent that
// plays the coordinator.
func NewData(name string, g shm.Geometry) (*ring.Network, Data, error) {
	n, err := ring.Create(name, g)
	if err != nil {
		return nil, Data{}, err
	}
	return n, Data{Net: n}, nil
}
