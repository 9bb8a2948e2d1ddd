package netdev

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// Identify tells what interface node the descriptor fd is, from the
// kernel, not from what a process says: a TAP or TUN descriptor names its
// interface (TUNGETIFF), a packet socket its bound interface. The
// coordinator checks every descriptor handed to it this way. The name and
// index are those of the interface's own namespace (Locate), which may be
// another than the caller's.
func Identify(fd int) (kind string, at Place, err error) {
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return "", Place{}, err
	}
	switch err := unix.IoctlIfreq(fd, unix.TUNGETIFF, ifr); {
	case err == nil && ifr.Uint16()&unix.IFF_TUN != 0:
		kind = KindTUN
	case err == nil:
		kind = KindTAP
	default:
		sa, err := unix.Getsockname(fd)
		if ll, ok := sa.(*unix.SockaddrLinklayer); err != nil || !ok || ll.Ifindex == 0 {
			return "", Place{}, fmt.Errorf("netdev: descriptor is no interface node, nor a packet socket bound to one: %w", syscall.EINVAL)
		}
		kind = KindGrab
	}
	at, err = Locate(fd)
	if err != nil {
		return "", Place{}, err
	}
	return kind, at, nil
}
