package wire

import (
	"errors"
	"syscall"

	"github.com/ipn-project/ipn/internal/errno"
	"github.com/ipn-project/ipn/ring"
)

// Response is the coordinator's answer.
type Response struct {
	Errno  int        `json:"errno,omitempty"`
	Error  string     `json:"error,omitempty"`
	Net    *NetInfo   `json:"net,omitempty"`
	Port   int        `json:"port,omitempty"`
	Roles  uint32     `json:"roles,omitempty"`
	Nets   []NetInfo  `json:"nets,omitempty"`
	Ports  []PortInfo `json:"ports,omitempty"`
	NumFDs int        `json:"numfds,omitempty"`
	// Handover describes the descriptors of a network's shared memory that
	// come with a join or a fetch (see Handoff).
	Handover *ring.Handover `json:"handover,omitempty"`
	// OptValue answers a policy option read.
	OptValue string `json:"opt_value,omitempty"`
	// Control is the policy's answer to a control call.
	Control []byte `json:"control,omitempty"`
	// PolicyInfo is the policy's own description of its state (stat).
	PolicyInfo string `json:"policy_info,omitempty"`
	// Iface describes the interface node an iface, takeover or persist
	// request was about. After a takeover its descriptor is the last.
	Iface *IfaceInfo `json:"iface,omitempty"`
}

// IfaceInfo describes an interface node: a TAP, TUN or grabbed interface
// of the host that is a node of a network (SPEC §4).
type IfaceInfo struct {
	Kind    string `json:"kind"` // tap, tun or grab
	Name    string `json:"name"`
	Index   int    `json:"index"`
	Path    string `json:"path"` // its network
	Port    int    `json:"port"`
	Persist bool   `json:"persist"`
	// Pumped: no process controls the interface; the coordinator moves
	// its frames until one takes it over.
	Pumped bool `json:"pumped"`
	// Netns is the interface's network namespace, where Name and Index
	// hold: "" for the coordinator's own, else its ip netns name, else
	// net:[INODE]; NetnsInode is the inode of that namespace's file.
	Netns      string `json:"netns,omitempty"`
	NetnsInode uint64 `json:"netns_inode,omitempty"`
}

// NetInfo describes a network, as list and stat report it.
type NetInfo struct {
	Path       string  `json:"path"`
	Policy     Policy  `json:"policy"`
	Opts       Options `json:"opts"`
	Persistent bool    `json:"persistent"` // kept with no node (ipn create)
	Ports      int     `json:"ports_in_use"`
	Bound      int     `json:"bound"`
	Readers    int     `json:"readers"`
	Writers    int     `json:"writers"`
	PoolInUse  int     `json:"pool_in_use"` // message slots someone holds
}

// PortInfo describes one port of a network, as stat reports it.
type PortInfo struct {
	Port          int    `json:"port"`
	Descr         string `json:"descr,omitempty"`
	PID           int    `json:"pid"`
	UID           uint32 `json:"uid"`
	Read          bool   `json:"read"`
	Write         bool   `json:"write"`
	Lossy         bool   `json:"lossy,omitempty"` // a receiver lossy for itself: asked at join, or past the stall limit
	Sent          uint64 `json:"sent"`
	SentBytes     uint64 `json:"sent_bytes"`
	Received      uint64 `json:"received"`
	ReceivedBytes uint64 `json:"received_bytes"`
	Dropped       uint64 `json:"dropped"`
	Blocked       uint64 `json:"blocked"`
	HopDrops      uint64 `json:"hop_drops"` // messages from it dropped past the hop limit
	Queued        int    `json:"queued"`
	// Iface is set for an interface node.
	Iface *IfaceInfo `json:"iface,omitempty"`
}

// maxErrorText bounds an error message in a response, which may quote a
// path of any length, so that the response always fits in a message.
const maxErrorText = 1024

// ErrorResponse is the response that refuses a request with err, carrying
// err's errno (EIO when it has none); Err is its other side.
func ErrorResponse(err error) *Response {
	msg := err.Error()
	if len(msg) > maxErrorText {
		msg = msg[:maxErrorText-3] + "..."
	}
	r := &Response{Error: msg, Errno: int(syscall.EIO)}
	var e syscall.Errno
	if errors.As(err, &e) {
		r.Errno = int(e)
	}
	return r
}

// Err turns a response's error back into an error with its errno.
func (r *Response) Err() error {
	if r.Errno == 0 && r.Error == "" {
		return nil
	}
	e := syscall.Errno(r.Errno)
	if e == 0 {
		e = syscall.EIO
	}
	return errno.New(r.Error, e)
}
