package wire

import (
	"strconv"

	"github.com/ipn-project/ipn/dispatch"
)

// Policy is a network's dispatch policy by number (the protocol argument of
// IPN's socket call): dispatch.Hub, dispatch.Switch, dispatch.L3, a policy
// of users' own, or dispatch.Any to join whatever a network has.
type Policy int

// String names the policy as its registration does ("hub", "switch"), "any"
// for dispatch.Any, or "policy N" for one this program lacks.
func (p Policy) String() string {
	if p == dispatch.Any {
		return "any"
	}
	if pol, err := dispatch.Lookup(int(p)); err == nil {
		return pol.Name()
	}
	return "policy " + strconv.Itoa(int(p))
}
