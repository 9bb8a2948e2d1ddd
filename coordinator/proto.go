package coordinator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"syscall"

	"github.com/ipn-project/ipn/internal/errno"
)

// The control protocol. Members talk to the coordinator over a unix
// SOCK_SEQPACKET socket, one message per packet: a header (magic "IPNC",
// version, kind) followed by a JSON body. Replies that hand over a network
// carry its descriptors with SCM_RIGHTS: the segment, then every port's
// receive eventfd, then every port's send eventfd.

// Header fields.
const (
	protoMagic   = "IPNC"
	protoVersion = 1
	headerLen    = 8
	// MaxMessage bounds one control message, header included.
	MaxMessage = 64 << 10
)

// Kinds of message.
const (
	kindRequest  = 1
	kindResponse = 2
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

	OpIface    = "iface"    // hand the node's interface (descriptor attached) to the coordinator
	OpTakeover = "takeover" // connect as the controller of an interface node
	OpPersist  = "persist"  // set or clear an interface node's persistence
)

// NetOptions are a network's options (IPN_SO_FLAGS, _NUMNODES, _MTU,
// _MSGPOOLSIZE, _MODE).
type NetOptions struct {
	MTU      int    `json:"mtu"`
	NumNodes int    `json:"numnodes"`
	Pool     int    `json:"pool"`
	Lossless bool   `json:"lossless"`
	Mode     uint32 `json:"mode"`
}

// Request is a member's message to the coordinator.
type Request struct {
	Op     string     `json:"op"`
	Path   string     `json:"path,omitempty"`
	Dev    uint64     `json:"dev,omitempty"` // the path's inode, as the member saw it
	Ino    uint64     `json:"ino,omitempty"`
	Policy int        `json:"policy,omitempty"`
	Opts   NetOptions `json:"opts,omitempty"`
	// Join: manage (bind) and/or communicate (connect).
	Bind    bool   `json:"bind,omitempty"`
	Connect bool   `json:"connect,omitempty"`
	Port    int    `json:"port,omitempty"` // requested port, or AnyPort
	Descr   string `json:"descr,omitempty"`
	WantOOB bool   `json:"want_oob,omitempty"`
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
}

// AnyPort lets the policy choose the port (IPN_PORTNO_ANY).
const AnyPort = -1

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
	// OptValue answers a policy option read.
	OptValue string `json:"opt_value,omitempty"`
	// PolicyInfo is the policy's own description of its state (stat).
	PolicyInfo string `json:"policy_info,omitempty"`
	// Iface describes the interface node an iface, takeover or persist
	// request was about. After a takeover its descriptor is the last.
	Iface *IfaceInfo `json:"iface,omitempty"`
}

// IfaceInfo describes an interface node (SPEC §4).
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

// NetInfo describes a network.
type NetInfo struct {
	Path       string     `json:"path"`
	Policy     int        `json:"policy"`
	Opts       NetOptions `json:"opts"`
	Persistent bool       `json:"persistent"`
	Ports      int        `json:"ports_in_use"`
	Bound      int        `json:"bound"`
	Readers    int        `json:"readers"`
	Writers    int        `json:"writers"`
	PoolInUse  int        `json:"pool_in_use"` // message slots someone holds
}

// PortInfo describes one port of a network.
type PortInfo struct {
	Port          int    `json:"port"`
	Descr         string `json:"descr,omitempty"`
	PID           int    `json:"pid"`
	UID           uint32 `json:"uid"`
	Read          bool   `json:"read"`
	Write         bool   `json:"write"`
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

// ErrProtocol reports a malformed control message.
var ErrProtocol = errno.New("malformed ipn control message", syscall.EPROTO)

// Encode frames v as a message of the given kind.
func encode(kind byte, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if headerLen+len(body) > MaxMessage {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrProtocol, headerLen+len(body), MaxMessage)
	}
	b := make([]byte, 0, headerLen+len(body))
	b = append(b, protoMagic...)
	b = append(b, protoVersion, kind, 0, 0)
	return append(b, body...), nil
}

// decode checks a message's header and decodes its body into v.
func decode(b []byte, kind byte, v any) error {
	if len(b) < headerLen {
		return fmt.Errorf("%w: %d bytes, shorter than a header", ErrProtocol, len(b))
	}
	if string(b[:4]) != protoMagic {
		return fmt.Errorf("%w: bad magic %q", ErrProtocol, b[:4])
	}
	if b[4] != protoVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrProtocol, b[4], protoVersion)
	}
	if b[5] != kind {
		return fmt.Errorf("%w: kind %d, want %d", ErrProtocol, b[5], kind)
	}
	d := json.NewDecoder(bytes.NewReader(b[headerLen:]))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the body", ErrProtocol)
	}
	return nil
}

// EncodeRequest frames a request.
func EncodeRequest(r *Request) ([]byte, error) { return encode(kindRequest, r) }

// DecodeRequest decodes a framed request.
func DecodeRequest(b []byte) (*Request, error) {
	var r Request
	if err := decode(b, kindRequest, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// EncodeResponse frames a response.
func EncodeResponse(r *Response) ([]byte, error) { return encode(kindResponse, r) }

// DecodeResponse decodes a framed response.
func DecodeResponse(b []byte) (*Response, error) {
	var r Response
	if err := decode(b, kindResponse, &r); err != nil {
		return nil, err
	}
	return &r, nil
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
