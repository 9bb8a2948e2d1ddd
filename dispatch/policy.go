package dispatch

import (
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/ipn-project/ipn/internal/errno"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/shm"
)

// Policy numbers.
const (
	Any       = 0  // joins any network; creates none
	Hub       = 1  // IPN_BROADCAST
	Switch    = 2  // Ethernet switch (IPN_VDESWITCH)
	L3        = 3  // layer-3 switch (IPN_VDESWITCH_L3)
	FirstUser = 16 // first number for policies of users' own
)

// MaxHops is the hop depth past which a message is dropped (SPEC P3), so
// that cycles of cables cannot loop forever. Package ring enforces it.
const MaxHops = ring.MaxHops

// AnyPort asks the policy to choose the port (IPN_PORTNO_ANY).
const AnyPort = -1

// Errors.
var (
	ErrNoPolicy = errno.New("no such dispatch policy", syscall.EPROTONOSUPPORT)
	ErrNoPort   = errno.New("no such port free", syscall.EADDRNOTAVAIL)
	// ErrHopLimit is a send of a message past MaxHops: dropped, and
	// counted in the sender's hop drops, so a forwarder can tell a loop
	// ended from a message sent (ELOOP).
	ErrHopLimit = ring.ErrHopLimit
)

// Net is what a policy sees of its network.
type Net interface {
	// Ports is the number of ports members may take.
	Ports() int
	// Area is the policy's shared state in the segment.
	Area() *Area
}

// Policy is a dispatch policy. Implementations must be safe for
// concurrent use: many senders dispatch at once.
type Policy interface {
	// Name names the policy for people and tools.
	Name() string
	// NewPort returns the port for a connecting node: want, if it is not
	// AnyPort and free, else one the policy picks; free has a bit for each
	// free port.
	NewPort(n Net, want int, free uint64) (int, error)
	// Dispatch delivers one message.
	Dispatch(n Net, d *ring.Delivery)
}

// Optional hooks; see the package documentation.
type (
	NetStarter interface{ NewNet(n Net) error }
	Resizer    interface {
		ResizeNet(n Net, oldPorts, newPorts int) error
	}
	NetEnder    interface{ DelNet(n Net) }
	PortStarter interface{ PostNewPort(n Net, port int) }
	PortStopper interface{ PreDelPort(n Net, port int) }
	PortEnder   interface{ DelPort(n Net, port int) }
	Optioner    interface {
		SetOption(n Net, port int, name string, value []byte) error
		Option(n Net, port int, name string) ([]byte, error)
	}
	Controller interface {
		Control(n Net, port int, req []byte) ([]byte, error)
	}
)

// Describer is implemented by policies with state worth showing (ipn stat):
// a few lines of text.
type Describer interface{ Describe(n Net) string }

// AreaSizer is implemented by policies that keep shared state: the bytes
// of policy area a network needs.
type AreaSizer interface{ AreaSize(ports int) int }

var registry = struct {
	sync.RWMutex
	byNum map[int]Policy
}{byNum: map[int]Policy{}}

// Register makes policy p known by number num. Numbers below FirstUser are
// ipn's own.
func Register(num int, p Policy) error {
	registry.Lock()
	defer registry.Unlock()
	if num <= Any {
		return fmt.Errorf("dispatch: policy number %d: %w", num, syscall.EINVAL)
	}
	if _, taken := registry.byNum[num]; taken {
		return fmt.Errorf("dispatch: policy number %d already registered: %w", num, syscall.EEXIST)
	}
	registry.byNum[num] = p
	return nil
}

// Lookup returns the policy registered as num.
func Lookup(num int) (Policy, error) {
	registry.RLock()
	defer registry.RUnlock()
	p, ok := registry.byNum[num]
	if !ok {
		return nil, fmt.Errorf("dispatch: policy %d: %w", num, ErrNoPolicy)
	}
	return p, nil
}

// LowestFree is the usual new-port rule: want if free, else the lowest free
// port when want is AnyPort.
func LowestFree(want int, free uint64) (int, error) {
	if want != AnyPort {
		if want < 0 || want >= 64 || free&(1<<want) == 0 {
			return 0, fmt.Errorf("port %d is not free: %w", want, ErrNoPort)
		}
		return want, nil
	}
	if free == 0 {
		return 0, fmt.Errorf("network full: %w", ErrNoPort)
	}
	for p := 0; p < 64; p++ {
		if free&(1<<p) != 0 {
			return p, nil
		}
	}
	return 0, ErrNoPort
}

// Area is a policy's shared state: the network's policy object, written by
// every sender and not mapped by members that only receive, accessed as
// atomic words only. A hostile sender may write anything there: policies
// check every index and length they read from it, so that garbage
// misdirects messages at worst and never crashes or wedges anyone.
type Area struct {
	obj  *shm.Object
	size int
}

// Size is the area's length in bytes.
func (a *Area) Size() int { return a.size }

// Uint64s returns n shared words at byte offset off of the area.
func (a *Area) Uint64s(off, n int) ([]atomic.Uint64, error) {
	if off < 0 || n < 0 || off%8 != 0 || off+8*n > a.size {
		return nil, fmt.Errorf("dispatch: %d words at %d outside a policy area of %d bytes: %w", n, off, a.size, shm.ErrDamaged)
	}
	return a.obj.Uint64s(shm.PolicyArea+off, n), nil
}

// network is the Net of a ring.Network.
type network struct {
	rn    *ring.Network
	area  Area
	ports func() int
}

func (n *network) Ports() int  { return n.ports() }
func (n *network) Area() *Area { return &n.area }

// NetOf returns the Net of a data plane; ports reports how many ports
// members may take (the coordinator knows; members pass the geometry's).
func NetOf(rn *ring.Network, ports func() int) Net {
	a := Area{obj: rn.Policy()}
	if a.obj != nil {
		a.size = rn.Geometry().Policy
	}
	return &network{rn: rn, area: a, ports: ports}
}

// Func binds policy pol to network n, once per connection, giving what
// ring.Port.SubmitWith and Send take (made once, so sending allocates
// nothing).
func Func(pol Policy, n Net) func(*ring.Delivery) {
	return func(d *ring.Delivery) { pol.Dispatch(n, d) }
}

// SenderFunc is Func for a sender of the data plane rn that does not follow
// its number of ports (a member, a pump running outside the coordinator's
// lock): the policy sees the network's capacity, every port but the last,
// the coordinator's own.
func SenderFunc(pol Policy, rn *ring.Network) func(*ring.Delivery) {
	capacity := rn.Geometry().Ports - 1
	return Func(pol, NetOf(rn, func() int { return capacity }))
}

func trailingZeros(w uint64) int { return bits.TrailingZeros64(w) }
