package netdev

import (
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// Identify tells what interface node the descriptor fd is, from the
// kernel, not from what a process says: a TAP or TUN descriptor names its
// interface (TUNGETIFF), a packet socket its bound interface. The
// coordinator checks every descriptor handed to it this way.
func Identify(fd int) (kind, name string, index int, err error) {
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return "", "", 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.TUNGETIFF, ifr); err == nil {
		kind = KindTAP
		if ifr.Uint16()&unix.IFF_TUN != 0 {
			kind = KindTUN
		}
		name = ifr.Name()
		// The interface may be in another network namespace already, where
		// its index means nothing here: 0 then.
		if ifc, err := net.InterfaceByName(name); err == nil {
			index = ifc.Index
		}
		return kind, name, index, nil
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return "", "", 0, fmt.Errorf("netdev: descriptor is no interface node: %w", syscall.EINVAL)
	}
	ll, ok := sa.(*unix.SockaddrLinklayer)
	if !ok || ll.Ifindex == 0 {
		return "", "", 0, fmt.Errorf("netdev: socket is not a packet socket bound to an interface: %w", syscall.EINVAL)
	}
	ifc, err := net.InterfaceByIndex(ll.Ifindex)
	if err != nil {
		return "", "", 0, fmt.Errorf("netdev: interface %d: %w", ll.Ifindex, err)
	}
	return KindGrab, ifc.Name, ifc.Index, nil
}
