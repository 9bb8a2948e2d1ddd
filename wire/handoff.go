package wire

import "fmt"

// Handoff is what a member gets to use a network's shared memory: the
// segment's descriptor and every port's receive and send eventfds. It is
// only descriptors; mapping them is the member's business.
//
// FDs and HandoffFromFDs are the one place that says in which order the
// descriptors travel (SCM_RIGHTS): the segment, then every port's receive
// eventfd, then every port's send eventfd.
type Handoff struct {
	Segment int
	Rx, Tx  []int // by port
}

// FDs lists the descriptors in the order they travel.
func (h Handoff) FDs() []int {
	fds := make([]int, 0, 1+len(h.Rx)+len(h.Tx))
	fds = append(fds, h.Segment)
	fds = append(fds, h.Rx...)
	return append(fds, h.Tx...)
}

// HandoffFromFDs is FDs' other side. It fails with ErrProtocol when fds
// are not a segment and two per port; the caller still owns fds then.
func HandoffFromFDs(fds []int) (Handoff, error) {
	if len(fds) < 3 || len(fds)%2 != 1 {
		return Handoff{}, fmt.Errorf("%w: %d descriptors handed over, want a segment and two per port", ErrProtocol, len(fds))
	}
	ports := (len(fds) - 1) / 2
	return Handoff{Segment: fds[0], Rx: fds[1 : 1+ports], Tx: fds[1+ports:]}, nil
}

// Ports is the number of ports the hand-off has eventfds for.
func (h Handoff) Ports() int { return len(h.Rx) }
