package ipn

import (
	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/wire"
)

// Policy is a network's dispatch policy (the protocol argument of IPN's
// socket call); its String names it.
type Policy = wire.Policy

// Policies. Any joins a network whatever its policy but cannot create one.
const (
	Any    Policy = dispatch.Any
	Hub    Policy = dispatch.Hub
	Switch Policy = dispatch.Switch // Ethernet switch with VLANs
	L3     Policy = dispatch.L3     // layer-3 switch, for IP packets
)

// MaxDescr is the longest node description (IPN_DESCRLEN).
const MaxDescr = wire.MaxDescr
