package vxlan

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"
)

// sockaddr is a struct sockaddr_in or sockaddr_in6 as the kernel reads and
// writes it, kept as bytes so that a batch's addresses need neither
// allocation nor unsafe conversion.
type sockaddr [unix.SizeofSockaddrInet6]byte

// Lengths of the two kinds of address.
const (
	sockaddr4Len = unix.SizeofSockaddrInet4
	sockaddr6Len = unix.SizeofSockaddrInet6
)

// makeSockaddr is the socket address of ap, in the IPv6 form when v6 (the
// endpoint's socket is IPv6) and the IPv4 form otherwise; it returns the
// address and its length.
func makeSockaddr(ap netip.AddrPort, v6 bool) (sockaddr, uint32) {
	var s sockaddr
	binary.BigEndian.PutUint16(s[2:], ap.Port())
	if v6 {
		binary.NativeEndian.PutUint16(s[0:], unix.AF_INET6)
		a := ap.Addr().As16()
		copy(s[8:24], a[:])
		return s, sockaddr6Len
	}
	binary.NativeEndian.PutUint16(s[0:], unix.AF_INET)
	a := ap.Addr().As4()
	copy(s[4:8], a[:])
	return s, sockaddr4Len
}

// addr is the IP address of s, as the kernel filled it for a socket of the
// family v6 says.
func (s *sockaddr) addr(v6 bool) netip.Addr {
	if v6 {
		return netip.AddrFrom16([16]byte(s[8:24]))
	}
	return netip.AddrFrom4([4]byte(s[4:8]))
}

// sameHost reports whether s and t have the same IP address, whatever
// their ports: the kernel's vxlan device sends from a port of its choosing.
func (s *sockaddr) sameHost(t *sockaddr, v6 bool) bool {
	if v6 {
		return [16]byte(s[8:24]) == [16]byte(t[8:24])
	}
	return [4]byte(s[4:8]) == [4]byte(t[4:8])
}

// setPort sets the port of s.
func (s *sockaddr) setPort(p uint16) { binary.BigEndian.PutUint16(s[2:], p) }
