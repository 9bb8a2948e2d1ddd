package dispatch

import "github.com/ipn-project/ipn/ring"

// hub is policy 1: every message reaches every other port that receives
// (IPN_BROADCAST).
type hub struct{}

func (hub) Name() string { return "hub" }

func (hub) NewPort(_ Net, want int, free uint64) (int, error) { return LowestFree(want, free) }

func (hub) Dispatch(_ Net, d *ring.Delivery) { d.To(d.Readers()) }

func init() {
	if err := Register(Hub, hub{}); err != nil {
		panic(err)
	}
}
