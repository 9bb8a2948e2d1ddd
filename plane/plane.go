// Package plane makes a network's data plane and hands it over: the
// shared-memory segment (package shm), one receive and one send eventfd
// per port, and the ring.Network over them, as one value.
//
// The coordinator creates a Plane for every network (Create) and hands
// its descriptors to each member that connects (Handoff, in the order
// package wire defines); a member maps what it was handed (Attach).
// Programs that start their own members (tests, benchmarks) do the same
// without a coordinator.
package plane

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/shm"
	"github.com/ipn-project/ipn/wire"
)

// Plane is a network's data plane as one process holds it. Its fields are
// set once; Close is for one goroutine, after every use.
type Plane struct {
	Seg    *shm.Segment
	Net    *ring.Network
	Rx, Tx []*ring.Eventfd // by port

	created bool // Close removes the segment's file
}

// Create creates a segment of geometry g named name in directory dir
// (shm.Dir when empty) and eventfds for each of its ports, installed in
// the returned plane's network.
func Create(dir, name string, g shm.Geometry) (*Plane, error) {
	seg, err := shm.Create(dir, name, g)
	if err != nil {
		return nil, err
	}
	p := &Plane{Seg: seg, Net: ring.New(seg), created: true}
	for port := 0; port < g.Ports; port++ {
		rx, err1 := ring.NewEventfd()
		tx, err2 := ring.NewEventfd()
		if err1 != nil || err2 != nil {
			closeEventfd(rx)
			closeEventfd(tx)
			p.Close()
			return nil, fmt.Errorf("plane: eventfds: %w", errors.Join(err1, err2))
		}
		p.add(port, rx, tx)
	}
	return p, nil
}

// Attach maps what a member was handed and adopts its descriptors: they
// are p's from then on, and closed on error.
func Attach(h wire.Handoff) (*Plane, error) {
	seg, err := shm.Attach(os.NewFile(uintptr(h.Segment), "ipn-segment"))
	if err != nil {
		closeFDs(h.Rx)
		closeFDs(h.Tx)
		return nil, err
	}
	p := &Plane{Seg: seg, Net: ring.New(seg)}
	if h.Ports() != seg.Geometry.Ports {
		closeFDs(h.Rx)
		closeFDs(h.Tx)
		p.Close()
		return nil, fmt.Errorf("plane: eventfds for %d ports, the network has %d: %w", h.Ports(), seg.Geometry.Ports, wire.ErrProtocol)
	}
	for port := range h.Rx {
		rx, err1 := ring.EventfdFromFD(h.Rx[port])
		tx, err2 := ring.EventfdFromFD(h.Tx[port])
		if err1 != nil || err2 != nil {
			closeFDs(h.Rx[port:])
			closeFDs(h.Tx[port:])
			p.Close()
			return nil, errors.Join(err1, err2)
		}
		p.add(port, rx, tx)
	}
	return p, nil
}

func (p *Plane) add(port int, rx, tx *ring.Eventfd) {
	p.Rx, p.Tx = append(p.Rx, rx), append(p.Tx, tx)
	p.Net.SetEventfds(port, rx, tx)
}

// Handoff lists p's descriptors as a member gets them. They stay p's.
func (p *Plane) Handoff() wire.Handoff {
	h := wire.Handoff{Segment: int(p.Seg.File().Fd())}
	for port := range p.Rx {
		h.Rx, h.Tx = append(h.Rx, p.Rx[port].FD()), append(h.Tx, p.Tx[port].FD())
	}
	return h
}

// Close releases what p holds: it removes the segment's file if Create
// made it, unmaps the segment and closes the eventfds.
func (p *Plane) Close() {
	if p.created {
		p.Seg.Remove()
	}
	p.Seg.Close()
	p.closeEventfds()
}

func (p *Plane) closeEventfds() {
	for port := range p.Rx {
		p.Rx[port].Close()
		p.Tx[port].Close()
	}
}

func closeEventfd(e *ring.Eventfd) {
	if e != nil {
		e.Close()
	}
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}
