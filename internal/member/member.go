// Package member hands a network's data plane to a child process: the
// segment and every port's eventfds travel over a socket pair with
// SCM_RIGHTS, with a small header chosen by the caller.
//
// It stands in for the coordinator where a program starts its own members
// (tests, benchmarks, the demo); members of a coordinator get the same
// descriptors from it instead.
package member

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"

	"github.com/ipn-project/ipn/internal/fdpass"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/shm"
)

// ctlFD is where a child finds its end of the socket pair (ExtraFiles[0]).
const ctlFD = 3

// Data is what a parent hands over: the segment and each port's wake-up
// lines.
type Data struct {
	Seg    *shm.Segment
	Rx, Tx []*ring.Eventfd
}

// Start starts cmd, hands it d and hdr (encoded as JSON), and waits until
// the child has attached (Attach). On error the child is killed.
func Start(cmd *exec.Cmd, d Data, hdr any) error {
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
	if err := Send(conn, d, hdr); err != nil {
		cmd.Process.Kill()
		return err
	}
	if _, _, err := fdpass.Recv(conn, make([]byte, 16)); err != nil {
		cmd.Process.Kill()
		return fmt.Errorf("member: %s did not attach: %w", cmd.Path, err)
	}
	return nil
}

// Send writes hdr (as JSON) with the segment and every port's eventfds to
// conn. The socket buffers them, so the child may start later.
func Send(conn *net.UnixConn, d Data, hdr any) error {
	b, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("member: header: %w", err)
	}
	fds := []int{int(d.Seg.File().Fd())}
	for _, e := range d.Rx {
		fds = append(fds, e.FD())
	}
	for _, e := range d.Tx {
		fds = append(fds, e.FD())
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
	if err := json.Unmarshal(buf[:n], hdr); err != nil {
		return nil, fmt.Errorf("member: header: %w", err)
	}
	if len(fds) < 1 || len(fds)%2 != 1 {
		return nil, fmt.Errorf("member: got %d descriptors, want a segment and two per port", len(fds))
	}
	seg, err := shm.Attach(os.NewFile(uintptr(fds[0]), "segment"))
	if err != nil {
		return nil, err
	}
	net := ring.New(seg)
	ports := (len(fds) - 1) / 2
	if ports != seg.Geometry.Ports {
		return nil, fmt.Errorf("member: eventfds for %d ports, network has %d", ports, seg.Geometry.Ports)
	}
	for p := 0; p < ports; p++ {
		rx, err := ring.EventfdFromFD(fds[1+p])
		if err != nil {
			return nil, err
		}
		tx, err := ring.EventfdFromFD(fds[1+ports+p])
		if err != nil {
			return nil, err
		}
		net.SetEventfds(p, rx, tx)
	}
	return net, nil
}

// NewData creates a segment of geometry g in /dev/shm under name, and
// eventfds for each port, installed in the returned network.
func NewData(name string, g shm.Geometry) (*ring.Network, Data, error) {
	return NewDataIn("", name, g)
}

// NewDataIn is NewData in directory dir.
func NewDataIn(dir, name string, g shm.Geometry) (*ring.Network, Data, error) {
	seg, err := shm.Create(dir, name, g)
	if err != nil {
		return nil, Data{}, err
	}
	d := Data{Seg: seg}
	net := ring.New(seg)
	for p := 0; p < g.Ports; p++ {
		rx, err1 := ring.NewEventfd()
		tx, err2 := ring.NewEventfd()
		if err1 != nil || err2 != nil {
			d.Close()
			return nil, Data{}, fmt.Errorf("member: eventfds: %v %v", err1, err2)
		}
		d.Rx, d.Tx = append(d.Rx, rx), append(d.Tx, tx)
		net.SetEventfds(p, rx, tx)
	}
	return net, d, nil
}

// Close removes and unmaps the segment and closes the eventfds.
func (d Data) Close() {
	d.Seg.Remove()
	d.Seg.Close()
	for p := range d.Rx {
		d.Rx[p].Close()
		d.Tx[p].Close()
	}
}
