package ipn_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/internal/fdpass"
	"github.com/ipn-project/ipn/netdev"
	"github.com/ipn-project/ipn/wire"
)

// An attacker under another uid speaks the control protocol by hand to
// reach a network it may not: one inside a directory only root may search.
// Every request that names the network is judged by a descriptor of its
// file that the caller opened, so the kernel walks the path with the
// caller's rights; a request without one, or with the inode numbers alone,
// gets EACCES and no descriptor.

func init() {
	// raw-attack sends hand-crafted requests about the network at path,
	// whose inode numbers are in IPN_TEST_DEV and IPN_TEST_INO, each on a
	// connection of its own, and prints one line per request: its name,
	// the errno it got ("ok" for none), and how many descriptors came
	// back. IPN_TEST_OPEN names a network the attacker may join, the
	// control that shows the requests are well formed.
	roles["raw-attack"] = func(path string) error {
		dev, _ := strconv.ParseUint(os.Getenv("IPN_TEST_DEV"), 10, 64)
		ino, _ := strconv.ParseUint(os.Getenv("IPN_TEST_INO"), 10, 64)
		iface, open := os.Getenv("IPN_TEST_IFACE"), os.Getenv("IPN_TEST_OPEN")
		// A descriptor the attacker may hold: the directory above the
		// private one, which it may search.
		other, err := unix.Open(filepath.Dir(filepath.Dir(path)), unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		own, err := unix.Open(open, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		join := wire.Request{Op: wire.OpJoin, Connect: true, Path: path, Dev: dev, Ino: ino, Port: wire.AnyPort}
		bind := join
		bind.Connect, bind.Bind = false, true
		both := join
		both.Bind = true
		noIno := join
		noIno.Dev, noIno.Ino = 0, 0
		control := join
		control.Path, control.Dev, control.Ino = open, 0, 0
		for _, a := range []struct {
			name string
			req  wire.Request
			fds  []int
		}{
			{"join-no-inode", noIno, nil},
			{"join", join, nil},
			{"bind", bind, nil},
			{"bind-connect", both, nil},
			{"create", wire.Request{Op: wire.OpCreate, Path: path, Dev: dev, Ino: ino, Policy: ipn.Hub}, nil},
			{"stat", wire.Request{Op: wire.OpStat, Path: path, Dev: dev, Ino: ino}, nil},
			{"destroy", wire.Request{Op: wire.OpDestroy, Path: path, Dev: dev, Ino: ino}, nil},
			{"takeover", wire.Request{Op: wire.OpTakeover, Connect: true, Path: path, Dev: dev, Ino: ino, Iface: iface, Port: wire.AnyPort}, nil},
			{"persist", wire.Request{Op: wire.OpPersist, Iface: iface}, nil},
			{"join-other-file", join, []int{other}},
			{"join-other-file-no-inode", noIno, []int{other}},
			{"join-two-files", noIno, []int{other, own}},
			{"roles", wire.Request{Op: wire.OpRoles, Path: path}, nil},
			{"options", wire.Request{Op: wire.OpOptions, Path: path}, nil},
			{"resize", wire.Request{Op: wire.OpResize, Path: path, NumNodes: 8}, nil},
			{"policy", wire.Request{Op: wire.OpPolicy, Path: path, OptName: "x", OptValue: "y", OptSet: true}, nil},
			{"iface", wire.Request{Op: wire.OpIface, Path: path}, []int{other}},
			{"list", wire.Request{Op: wire.OpList}, nil},
			{"control-join", control, []int{own}},
		} {
			resp, got, err := rawCall(a.req, a.fds)
			if err != nil {
				return fmt.Errorf("%s: %w", a.name, err)
			}
			res := "ok"
			if err := resp.Err(); err != nil {
				res = errName(err)
			}
			if a.name == "list" {
				for _, n := range resp.Nets {
					if n.Path == path {
						res += "-shows-it"
					}
				}
			}
			fmt.Printf("%s %s %d\n", a.name, res, len(got))
			for _, fd := range got {
				unix.Close(fd)
			}
		}
		// And through the API, which opens the path itself.
		_, _, serr := ipn.Stat(path)
		n := ipn.NewNode(ipn.Any)
		cerr := n.Connect(path)
		n.Close()
		fmt.Printf("api-stat %s 0\napi-connect %s 0\n", errOrOK(serr), errOrOK(cerr))
		return nil
	}
}

// rawCall sends req with the descriptors fds on a connection of its own
// and returns the answer and the descriptors that came with it.
func rawCall(req wire.Request, fds []int) (*wire.Response, []int, error) {
	sock := wire.DefaultSocket()
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	b, err := wire.EncodeRequest(&req)
	if err != nil {
		return nil, nil, err
	}
	if err := fdpass.Send(c, b, fds...); err != nil {
		return nil, nil, err
	}
	buf := make([]byte, wire.MaxMessage)
	k, got, err := fdpass.Recv(c, buf)
	if err != nil {
		return nil, nil, err
	}
	resp, err := wire.DecodeResponse(buf[:k])
	return resp, got, err
}

// TestRequestsCheckCallersReach: a network in a root-owned 0700 directory,
// its own file open to all (0777), and a real other uid that sends every
// kind of request about it by hand.
func TestRequestsCheckCallersReach(t *testing.T) {
	e := newPermEnv(t)
	private := filepath.Join(e.dir, "private")
	must(t, os.Mkdir(private, 0o700))
	path := filepath.Join(private, "net")
	keeper := ipn.NewNode(ipn.Hub)
	must(t, keeper.SetNumNodes(4))
	create(t, keeper, path)
	t.Cleanup(func() { keeper.Close(); waitUnlisted(t, path) })
	must(t, os.Chmod(path, 0o777))
	open := e.permNet(t, "open", 0o777)

	// A persistent interface node on the private network, pumped by the
	// coordinator, for the requests that name an interface.
	iface, ifaceWant := "ipn-noiface", "ENODEV"
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Logf("no /dev/net/tun (%v): persist is tried on a name that is no interface node", err)
	} else {
		a := joiner(t, path)
		dev, err := netdev.NewTAP("")
		must(t, err)
		if _, err := a.AttachInterface(dev.FD(), true); err != nil {
			dev.Close()
			t.Fatal(err)
		}
		iface, ifaceWant = dev.Name(), "EACCES"
		a.Close()
		dev.Close()
		waitIfacePort(t, path, iface, func(f *ipn.IfaceInfo) bool { return f.Pumped })
		t.Cleanup(func() { ipn.SetPersist(iface, false) })
	}

	var st syscall.Stat_t
	must(t, syscall.Stat(path, &st))
	m := launch(t, "raw-attack", path, launchOpts{bin: e.bin, cred: &syscall.Credential{Uid: permUID, Gid: permGID},
		env: []string{fmt.Sprintf("IPN_TEST_DEV=%d", st.Dev), fmt.Sprintf("IPN_TEST_INO=%d", st.Ino),
			"IPN_TEST_IFACE=" + iface, "IPN_TEST_OPEN=" + open}})
	out := waitExit(t, m, "raw-attack as another user", 30*time.Second)
	t.Logf("uid %d, request, errno, descriptors received:\n%s", permUID, out)
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, res, _ := strings.Cut(line, " ")
		got[name] = res
	}
	for _, w := range []struct{ name, want, why string }{
		{"join-no-inode", "EACCES 0", "the shape that skipped the check"},
		{"join", "EACCES 0", "the right inode numbers are no proof of reach"},
		{"bind", "EACCES 0", ""},
		{"bind-connect", "EACCES 0", ""},
		{"create", "EACCES 0", ""},
		{"stat", "EACCES 0", ""},
		{"destroy", "EACCES 0", ""},
		{"takeover", "EACCES 0", ""},
		{"persist", ifaceWant + " 0", "names an interface, not a path: the coordinator walks its network's path with the caller's rights"},
		{"join-other-file", "ECONNREFUSED 0", "a descriptor of another file names that file, which is no network"},
		{"join-other-file-no-inode", "ECONNREFUSED 0", ""},
		{"join-two-files", "EACCES 0", "one descriptor, the network's, or none"},
		{"roles", "ENOTCONN 0", "acts on the node's own network, and it has none"},
		{"options", "ENOTCONN 0", ""},
		{"resize", "EPERM 0", "only a bound node resizes, and it is bound to nothing"},
		{"policy", "ENOTCONN 0", ""},
		{"iface", "ENOTCONN 0", ""},
		{"list", "ok 0", "lists only networks the caller may reach"},
		{"api-stat", "EACCES 0", "the client's own open of the path fails"},
		{"api-connect", "EACCES 0", ""},
	} {
		if got[w.name] != w.want {
			t.Errorf("%s as uid %d: %q, want %q (%s)", w.name, permUID, got[w.name], w.want, w.why)
		}
	}
	// The control: the same hand-made join, with the descriptor of a
	// network the attacker may reach, gets in.
	if res := got["control-join"]; !strings.HasPrefix(res, "ok ") || res == "ok 0" {
		t.Errorf("control: a raw join of %s with its descriptor got %q, want ok and descriptors", open, res)
	}
	if _, ok := listed(t, path); !ok {
		t.Errorf("root's list does not show %s", path)
	}
	wantPorts := 0 // the keeper is bound, not connected
	if ifaceWant == "EACCES" {
		wantPorts = 1 // the pumped interface
	}
	if info, _, err := ipn.Stat(path); err != nil || info.Ports != wantPorts || info.Bound != 1 {
		t.Errorf("after the attack, stat of %s = %+v, %v; want %d ports in use and the keeper bound", path, info, err, wantPorts)
	}
}
