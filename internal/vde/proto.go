// Package vde is vde_switch's client protocol, version 3, both ends: the
// request a VDE program (vde_plug, QEMU's -nic vde, libvdeplug) sends a
// switch's control socket, and the switch's reply. The benchmark speaks it
// as a client of vde_switch; ipn vde speaks it as a switch, so VDE programs
// join ipn networks.
//
//	client                                      switch at DIR
//	bind a SOCK_DGRAM socket at PATH
//	connect a SOCK_STREAM socket to DIR/ctl ──▶ accept
//	request (magic, version, type,
//	  sockaddr_un of PATH, description) ──────▶ open a port: make a data socket,
//	                                              connect it to PATH, bind it in DIR
//	                          ◀───────────────── reply: sockaddr_un of the data socket
//	connect the SOCK_DGRAM socket to it; Ethernet frames go both ways as
//	datagrams; closing the control connection frees the port.
//
// The request is a packed C struct in host byte order.
package vde

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// Protocol constants.
const (
	Magic         = 0xfeedface
	Version       = 3
	ReqNewControl = 0   // enum request_type: any port; REQ_NEW_PORT0+n asks for port n
	SockaddrLen   = 110 // sizeof(struct sockaddr_un): sa_family_t + 108-byte path
	DescrLen      = 128 // MAXDESCR
	RequestLen    = 4 + 4 + 4 + SockaddrLen + DescrLen
	// MinRequestLen is a request with no description: libvdeplug sends
	// the description only as long as it is, with no NUL, in the same
	// write as the rest, so a switch takes what one read gives.
	MinRequestLen = 4 + 4 + 4 + SockaddrLen
	pathMax       = SockaddrLen - 2
)

// Request is a client's request for a port.
type Request struct {
	Type  uint32 // ReqNewControl, or a port number request
	Sock  string // the client's data socket
	Descr string
}

// EncodeRequest encodes r for a switch's control socket.
func EncodeRequest(r Request) ([]byte, error) {
	if len(r.Sock) >= pathMax {
		return nil, fmt.Errorf("vde: socket path %q is longer than %d bytes", r.Sock, pathMax-1)
	}
	b := make([]byte, RequestLen)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], Magic)
	ne.PutUint32(b[4:], Version)
	ne.PutUint32(b[8:], r.Type)
	ne.PutUint16(b[12:], unix.AF_UNIX)
	copy(b[14:14+pathMax], r.Sock)
	copy(b[12+SockaddrLen:len(b)-1], r.Descr)
	return b, nil
}

// DecodeRequest decodes a client's request, refusing anything else with
// EPROTO. The description may be cut short.
func DecodeRequest(b []byte) (Request, error) {
	if len(b) < MinRequestLen || len(b) > RequestLen {
		return Request{}, fmt.Errorf("vde: request of %d bytes, want %d to %d: %w", len(b), MinRequestLen, RequestLen, syscall.EPROTO)
	}
	ne := binary.NativeEndian
	if m, v := ne.Uint32(b[0:]), ne.Uint32(b[4:]); m != Magic || v != Version {
		return Request{}, fmt.Errorf("vde: magic %#x version %d, want %#x version %d: %w", m, v, uint32(Magic), Version, syscall.EPROTO)
	}
	sock, err := decodeSockaddr(b[12 : 12+SockaddrLen])
	if err != nil {
		return Request{}, err
	}
	return Request{Type: ne.Uint32(b[8:]), Sock: sock, Descr: cString(b[12+SockaddrLen:])}, nil
}

// EncodeReply is a switch's reply: the sockaddr_un of the data socket it
// made for the new port.
func EncodeReply(path string) ([]byte, error) {
	if len(path) >= pathMax {
		return nil, fmt.Errorf("vde: socket path %q is longer than %d bytes", path, pathMax-1)
	}
	b := make([]byte, SockaddrLen)
	binary.NativeEndian.PutUint16(b, unix.AF_UNIX)
	copy(b[2:], path)
	return b, nil
}

// DecodeReply decodes a switch's reply.
func DecodeReply(b []byte) (string, error) {
	if len(b) != SockaddrLen {
		return "", fmt.Errorf("vde: reply of %d bytes, want %d: %w", len(b), SockaddrLen, syscall.EPROTO)
	}
	return decodeSockaddr(b)
}

func decodeSockaddr(b []byte) (string, error) {
	if fam := binary.NativeEndian.Uint16(b); fam != unix.AF_UNIX {
		return "", fmt.Errorf("vde: address family %d, want AF_UNIX: %w", fam, syscall.EPROTO)
	}
	path := cString(b[2:])
	switch {
	case path == "":
		return "", fmt.Errorf("vde: an empty socket path: %w", syscall.EPROTO)
	case len(path) >= pathMax: // no terminating NUL
		return "", fmt.Errorf("vde: a socket path of %d bytes with no end: %w", len(path), syscall.EPROTO)
	}
	return path, nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
