package wire

import (
	"fmt"

	"github.com/ipn-project/ipn/ring"
)

// Handoff is what a member gets to use a network's shared memory: the
// descriptors of its memory objects and eventfds, and the description of
// what each is (ring.Handover, which also says in which order they travel
// with SCM_RIGHTS). It is only descriptors; mapping them is the member's
// business (ring.Attach validates every one before it maps it).
type Handoff struct {
	Grant ring.Handover
	FDs   []int
}

// HandoffFrom pairs a response's description with the descriptors that
// came with it. It fails with ErrProtocol when there is no description or
// the count does not match it; the caller still owns fds then.
func HandoffFrom(g *ring.Handover, fds []int) (Handoff, error) {
	if g == nil {
		return Handoff{}, fmt.Errorf("%w: %d descriptors handed over without a description", ErrProtocol, len(fds))
	}
	if want := g.NumFDs(); len(fds) != want {
		return Handoff{}, fmt.Errorf("%w: %d descriptors handed over, the description has %d", ErrProtocol, len(fds), want)
	}
	return Handoff{Grant: *g, FDs: fds}, nil
}
