// Package plane makes a network's data plane and hands it over: the
// memory objects and eventfds of package ring, and the ring.Network over
// them, as one value.
//
// The coordinator creates a Plane for every network (Create) and hands
// each member that connects what its roles need (Handoff, described by a
// ring.Handover); a member maps what it was handed (Attach) and fetches
// the objects of ports that appear later. Programs that start their own
// members (tests, benchmarks) do the same without a coordinator.
package plane

import (
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/shm"
	"github.com/ipn-project/ipn/wire"
)

// Plane is a network's data plane as one process holds it. Its fields are
// set once; Close is for one goroutine, after every use.
type Plane struct {
	Net *ring.Network
}

// Create makes the objects of a network of geometry g, named name in
// /proc/PID/maps. Port objects are made as ports open.
func Create(name string, g shm.Geometry) (*Plane, error) {
	n, err := ring.Create(name, g)
	if err != nil {
		return nil, err
	}
	return &Plane{Net: n}, nil
}

// Attach validates and maps what a member was handed and adopts its
// descriptors: they are p's from then on, and closed on error. fetch, if
// not nil, is asked for the objects of ports that appear later.
func Attach(h wire.Handoff, fetch ring.Fetcher) (*Plane, error) {
	n, err := ring.Attach(h.Grant, h.FDs, fetch)
	if err != nil {
		return nil, err
	}
	return &Plane{Net: n}, nil
}

// Handoff lists what the member on port self gets for the ports in the
// set only (its own always), as descriptors with their description.
// done closes the descriptors opened for it, once they are sent.
func (p *Plane) Handoff(self int, only uint64) (wire.Handoff, func(), error) {
	g, fds, done, err := p.Net.Grant(self, only)
	if err != nil {
		return wire.Handoff{}, nil, err
	}
	return wire.Handoff{Grant: g, FDs: fds}, done, nil
}

// Rx returns port's receive eventfd, nil where this process has none.
func (p *Plane) Rx(port int) *ring.Eventfd { return p.Net.RxEventfd(port) }

// Tx returns port's send eventfd, nil where this process has none.
func (p *Plane) Tx(port int) *ring.Eventfd { return p.Net.TxEventfd(port) }

// Close unmaps what p mapped and closes its descriptors.
func (p *Plane) Close() { p.Net.Close() }
