package coordinator

import (
	"sync/atomic"

	"github.com/ipn-project/ipn/wire"
)

// counters are the coordinator's own counts of events, for Snapshot.
type counters struct {
	reclaims      atomic.Uint64 // ports of departed members reclaimed
	reclaimedRefs atomic.Uint64 // slot references those ports still held
	requestErrors atomic.Uint64 // requests refused or failed
}

// reclaimed counts one reclaim of a departed member's port that released
// refs slot references, if it succeeded.
func (c *counters) reclaimed(refs int, err error) {
	if err != nil {
		return
	}
	c.reclaims.Add(1)
	c.reclaimedRefs.Add(uint64(refs))
}

// Snapshot is the coordinator's state and counters at one moment, for a
// metrics exporter: what wire.OpList and wire.OpStat report, and the coordinator's
// own counts.
type Snapshot struct {
	Nets          []NetSnapshot
	Members       int    // control connections: nodes bound, connected, or about to be
	Reclaims      uint64 // ports of departed members reclaimed, since start
	ReclaimedRefs uint64 // slot references released by those reclaims
	RequestErrors uint64 // requests refused or failed, since start
}

// NetSnapshot is one network and its ports in use.
type NetSnapshot struct {
	Info  wire.NetInfo
	Ports []wire.PortInfo
}

// Snapshot reads every network's state and counters. It takes each
// network's lock in turn, as a stat request does; it is safe for concurrent
// use.
func (s *Server) Snapshot() Snapshot {
	s.mu.Lock()
	snap := Snapshot{
		Members:       len(s.conns),
		Reclaims:      s.counters.reclaims.Load(),
		ReclaimedRefs: s.counters.reclaimedRefs.Load(),
		RequestErrors: s.counters.requestErrors.Load(),
	}
	s.mu.Unlock()
	s.eachNet(func(n *network) {
		snap.Nets = append(snap.Nets, NetSnapshot{Info: n.info(), Ports: n.portInfos()})
	})
	return snap
}

// eachNet calls f with every live network, holding that network's lock
// (and not s.mu, which comes after it in the lock order).
func (s *Server) eachNet(f func(n *network)) {
	s.mu.Lock()
	nets := make([]*network, 0, len(s.nets))
	for _, n := range s.nets {
		nets = append(nets, n)
	}
	s.mu.Unlock()
	for _, n := range nets {
		n.mu.Lock()
		if !n.ended {
			f(n)
		}
		n.mu.Unlock()
	}
}
