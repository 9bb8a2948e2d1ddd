package netdev

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Place is where an interface lives: its network namespace, by the inode
// number of the namespace's file (what /proc/PID/ns/net links to, as
// net:[INODE]), its index in that namespace and its name there. Names and
// indexes are per namespace: two interfaces of two namespaces may share
// both, so an interface is told apart by Netns and Index together (Same),
// never by its name alone.
//
// A Place is a plain value, safe to copy and share.
type Place struct {
	Netns uint64
	Index int
	Name  string
}

// Same reports whether p and q are the same interface.
func (p Place) Same(q Place) bool { return p.Netns == q.Netns && p.Index == q.Index }

// tunGetDevNetns is TUNGETDEVNETNS (_IO('T', 227), Linux 5.2): a new
// descriptor of the network namespace a TAP or TUN interface lives in.
const tunGetDevNetns = 0x54e3

// Locate says where the interface of descriptor fd lives now, from the
// kernel: a TAP or TUN descriptor follows its interface into whatever
// namespace it was moved to (TUNGETDEVNETNS), a packet socket stays with
// the namespace it was made in (SIOCGSKNS) and names its interface by
// index. It needs CAP_NET_ADMIN over that namespace.
func Locate(fd int) (Place, error) {
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return Place{}, err
	}
	var p Place
	var nsfd int
	if err := unix.IoctlIfreq(fd, unix.TUNGETIFF, ifr); err == nil {
		p.Name = ifr.Name()
		if nsfd, err = unix.IoctlRetInt(fd, tunGetDevNetns); err != nil {
			return Place{}, fmt.Errorf("netdev: namespace of %s: TUNGETDEVNETNS: %w", p.Name, err)
		}
	} else {
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return Place{}, fmt.Errorf("netdev: descriptor is no interface node: %w", syscall.EINVAL)
		}
		ll, ok := sa.(*unix.SockaddrLinklayer)
		if !ok || ll.Ifindex == 0 {
			return Place{}, fmt.Errorf("netdev: socket is not a packet socket bound to an interface: %w", syscall.EINVAL)
		}
		p.Index = ll.Ifindex
		if nsfd, err = unix.IoctlRetInt(fd, unix.SIOCGSKNS); err != nil {
			return Place{}, fmt.Errorf("netdev: namespace of interface %d: SIOCGSKNS: %w", p.Index, err)
		}
	}
	defer unix.Close(nsfd)
	if p.Netns, err = inode(nsfd); err != nil {
		return Place{}, err
	}
	h, err := netlink.NewHandleAt(vnetns.NsHandle(nsfd))
	if err != nil {
		return Place{}, fmt.Errorf("netdev: netlink in net:[%d]: %w", p.Netns, err)
	}
	defer h.Close()
	var l netlink.Link
	if p.Name != "" {
		l, err = h.LinkByName(p.Name)
	} else {
		l, err = h.LinkByIndex(p.Index)
	}
	if err != nil {
		return Place{}, fmt.Errorf("netdev: interface %s in net:[%d]: %w", p, p.Netns, err)
	}
	p.Name, p.Index = l.Attrs().Name, l.Attrs().Index
	return p, nil
}

// String is the interface's name, or its index while the name is unknown.
func (p Place) String() string {
	if p.Name != "" {
		return p.Name
	}
	return strconv.Itoa(p.Index)
}

func inode(fd int) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, fmt.Errorf("netdev: namespace: %w", err)
	}
	return st.Ino, nil
}

// NetnsDir is where ip netns add binds the namespaces it names.
const NetnsDir = "/run/netns"

// OwnNetns is the inode of the calling thread's network namespace.
func OwnNetns() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return 0, fmt.Errorf("netdev: own network namespace: %w", err)
	}
	return st.Ino, nil
}

// NetnsName names the namespace of inode ino for people: "" for the
// caller's own, the name ip netns add gave it, or else net:[INODE].
func NetnsName(ino uint64) string {
	if own, err := OwnNetns(); err == nil && own == ino {
		return ""
	}
	if ents, err := os.ReadDir(NetnsDir); err == nil {
		for _, e := range ents {
			var st unix.Stat_t
			if unix.Stat(filepath.Join(NetnsDir, e.Name()), &st) == nil && st.Ino == ino {
				return e.Name()
			}
		}
	}
	return fmt.Sprintf("net:[%d]", ino)
}

// ErrNoNetns reports a namespace that NetnsInode cannot find.
var ErrNoNetns = errors.New("no such network namespace")

// NetnsInode is the inode of the namespace spec names: a name ip netns add
// made (under NetnsDir), the path of a namespace file (such as
// /proc/1/ns/net), or net:[INODE] as NetnsName and /proc show it.
func NetnsInode(spec string) (uint64, error) {
	if s, ok := strings.CutPrefix(spec, "net:["); ok && strings.HasSuffix(s, "]") {
		ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
		if err == nil {
			return ino, nil
		}
	}
	path := spec
	if !strings.Contains(spec, "/") {
		path = filepath.Join(NetnsDir, spec)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("netdev: network namespace %q: %w (%w)", spec, ErrNoNetns, err)
	}
	return st.Ino, nil
}
