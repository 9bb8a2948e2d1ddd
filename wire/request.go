package wire

import (
	"os"
	"time"

	"github.com/ipn-project/ipn/dispatch"
)

// Ops a request may ask for.
const (
	OpCreate  = "create"  // register a network whose socket inode the caller made
	OpJoin    = "join"    // bind to and/or connect to a network
	OpRoles   = "roles"   // shut down reading or writing
	OpList    = "list"    // every network
	OpStat    = "stat"    // one network's ports
	OpDestroy = "destroy" // end a network kept by ipn create
	OpOptions = "options" // read a bound node's network options
	OpResize  = "resize"  // change the number of ports
	OpPolicy  = "policy"  // set or read a policy option of a port
	OpFetch   = "fetch"   // the shared memory of ports that appeared since the join
	OpStall   = "stall"   // a receiver kept the sender waiting past the stall limit
	OpControl = "control" // a control call of the network's policy (IPN's ioctl)

	OpIface    = "iface"    // hand the node's interface (descriptor attached) to the coordinator
	OpTakeover = "takeover" // connect as the controller of an interface node
	OpPersist  = "persist"  // set or clear an interface node's persistence
)

// AnyPort lets the policy choose the port (IPN_PORTNO_ANY).
const AnyPort = dispatch.AnyPort

// MaxDescr is the longest node description (IPN_DESCRLEN).
const MaxDescr = 128

// DefaultMode is the permission of a network's file when its creator sets
// none, less the creator's umask.
const DefaultMode os.FileMode = 0o777

// Options are a network's options (IPN_SO_FLAGS, _NUMNODES, _MTU,
// _MSGPOOLSIZE, _MODE), fixed when it is created. A zero field takes its
// default: shm.DefaultMTU, shm.DefaultPorts, shm.DefaultPool, DefaultMode.
type Options struct {
	MTU      int         `json:"mtu"`      // largest message
	NumNodes int         `json:"numnodes"` // ports members may take
	Pool     int         `json:"pool"`     // message pool
	Lossless bool        `json:"lossless"` // senders wait instead of dropping
	Mode     os.FileMode `json:"mode"`     // permission bits of the network's file
	// History: the last History messages of each sender stay referenced
	// and a receiver that joins gets them first (each sender's pool has
	// that many slots more).
	History int `json:"history,omitempty"`
	// StallTimeout: on a lossless network, a receiver that keeps a sender
	// waiting longer is made lossy for itself; 0 keeps IPN's rule.
	StallTimeout time.Duration `json:"stall_timeout,omitempty"`
}

// Request is a member's message to the coordinator.
type Request struct {
	Op     string  `json:"op"`
	Path   string  `json:"path,omitempty"`
	Dev    uint64  `json:"dev,omitempty"` // the path's inode, as the member saw it
	Ino    uint64  `json:"ino,omitempty"`
	Policy Policy  `json:"policy,omitempty"`
	Opts   Options `json:"opts,omitempty"`
	// Join: manage (bind) and/or communicate (connect).
	Bind    bool   `json:"bind,omitempty"`
	Connect bool   `json:"connect,omitempty"`
	Port    int    `json:"port,omitempty"` // requested port, or AnyPort
	Descr   string `json:"descr,omitempty"`
	WantOOB bool   `json:"want_oob,omitempty"`
	// Lossy: the receiver is lossy for itself (Node.SetDropWhenBehind).
	Lossy bool `json:"lossy,omitempty"`
	// Create: keep the network alive with no node (ipn create). Iface
	// and Persist: keep the interface node alive without its process.
	Persist bool `json:"persist,omitempty"`
	// Takeover, Persist: the interface node, by name or by index, with
	// @NETNS after it when the name or index alone is ambiguous.
	Iface string `json:"iface,omitempty"`
	// Roles: what the node keeps after a shutdown; on a join, at most
	// what it connects with (0: all its permissions give).
	Roles uint32 `json:"roles,omitempty"`
	// Resize: the new number of ports.
	NumNodes int `json:"numnodes,omitempty"`
	// Policy: an option of the network's policy, for port Port.
	OptName  string `json:"opt_name,omitempty"`
	OptValue string `json:"opt_value,omitempty"`
	OptSet   bool   `json:"opt_set,omitempty"`
	// Stall: Port is the receiver that kept the sender waiting.
	// Fetch: the set of ports whose objects and eventfds the member lacks.
	Ports uint64 `json:"ports,omitempty"`
	// Control: the request of a control call, about port Port (AnyPort:
	// about none).
	Control []byte `json:"control,omitempty"`
}
