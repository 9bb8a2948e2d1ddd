package bench

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// vde_switch's client protocol, version 3, as the switch's datasock module
// speaks it (and libvdeplug's vde_open):
//
//	client                                      vde_switch --sock DIR
//	bind a SOCK_DGRAM socket at PATH
//	connect a SOCK_STREAM socket to DIR/ctl ──▶ accept
//	request (magic, version, type,
//	  sockaddr_un of PATH, description) ──────▶ open a port: make a data socket,
//	                                              connect it to PATH, bind it at
//	                                              DIR/NNN.fd
//	                          ◀───────────────── reply: sockaddr_un of DIR/NNN.fd
//	connect the SOCK_DGRAM socket to it; Ethernet frames go both ways as
//	datagrams; closing the control connection frees the port.
//
// The request is a packed C struct in host byte order.
const (
	vdeMagic         = 0xfeedface
	vdeVersion       = 3
	vdeReqNewControl = 0   // enum request_type, an int
	vdeSockaddrLen   = 110 // sizeof(struct sockaddr_un): sa_family_t + 108-byte path
	vdeDescrLen      = 128 // MAXDESCR
	vdeRequestLen    = 4 + 4 + 4 + vdeSockaddrLen + vdeDescrLen

	// vdeEthHeader is the Ethernet header every frame starts with: the
	// switch reads destination, source and EtherType, and drops shorter
	// frames.
	vdeEthHeader = 14
	// vdeMaxData is the most a frame carries after its header (VDE_MTU in
	// the switch's struct packet: 1500 bytes and a trailer). The switch
	// receives into a buffer of header + VDE_MTU, so a longer frame would be
	// cut short.
	vdeMaxData = 1504
	// vdeEtherType is IEEE's local experimental EtherType: no VLAN tag, no
	// protocol the switch would look into.
	vdeEtherType = 0x88b5
)

// vdeRequest encodes a REQ_NEW_CONTROL request for a client data socket
// bound at path.
func vdeRequest(path, descr string) ([]byte, error) {
	const pathMax = vdeSockaddrLen - 2
	if len(path) >= pathMax {
		return nil, fmt.Errorf("vde: socket path %q is longer than %d bytes", path, pathMax-1)
	}
	b := make([]byte, vdeRequestLen)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], vdeMagic)
	ne.PutUint32(b[4:], vdeVersion)
	ne.PutUint32(b[8:], vdeReqNewControl)
	ne.PutUint16(b[12:], unix.AF_UNIX)
	copy(b[14:14+pathMax], path)
	copy(b[12+vdeSockaddrLen:len(b)-1], descr)
	return b, nil
}

// parseVDEReply decodes the switch's reply: the sockaddr_un of the data
// socket it made for the new port.
func parseVDEReply(b []byte) (string, error) {
	if len(b) != vdeSockaddrLen {
		return "", fmt.Errorf("vde: reply of %d bytes, want %d", len(b), vdeSockaddrLen)
	}
	if fam := binary.NativeEndian.Uint16(b); fam != unix.AF_UNIX {
		return "", fmt.Errorf("vde: reply has address family %d, want AF_UNIX", fam)
	}
	path := b[2:]
	if i := bytes.IndexByte(path, 0); i >= 0 {
		path = path[:i]
	}
	if len(path) == 0 {
		return "", fmt.Errorf("vde: reply has an empty socket path")
	}
	return string(path), nil
}

// vdeHeader is the Ethernet header of every frame the benchmark sends:
// broadcast destination, a locally administered source, vdeEtherType.
func vdeHeader() [vdeEthHeader]byte {
	h := [vdeEthHeader]byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	}
	binary.BigEndian.PutUint16(h[12:], vdeEtherType)
	return h
}
