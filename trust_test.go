package ipn_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/shm"
)

// A hostile member under a real other uid tries every attack of the trust
// model (docs/trust.md) on a network it may only read, or only write,
// while two members of the owner stream to each other: every attempt must
// fail or harm only the attacker, the stream must stay intact and in
// order, and the coordinator must stay up.

// ipnMapping is one line of /proc/self/maps that maps an ipn object.
type ipnMapping struct {
	start, end uintptr
	perms      string // r--s, rw-s
	name       string // /memfd:ipn-...-tx (deleted)
}

func ipnMappings() ([]ipnMapping, error) {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	var ms []ipnMapping
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasPrefix(f[5], "/memfd:ipn-") {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		s, _ := strconv.ParseUint(lo, 16, 64)
		e, _ := strconv.ParseUint(hi, 16, 64)
		ms = append(ms, ipnMapping{start: uintptr(s), end: uintptr(e), perms: f[1], name: f[5]})
	}
	return ms, nil
}

// kind is what an object's name says it is: ctl, tx, rx or policy.
func (m ipnMapping) kind() string {
	for _, k := range []string{"-ctl", "-tx", "-rx", "-policy"} {
		if strings.Contains(m.name, k) {
			return k[1:]
		}
	}
	return "?"
}

// ipnFDs lists this process's descriptors of ipn objects, with their flags.
func ipnFDs() (map[int]int, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	fds := map[int]int{}
	for _, e := range ents {
		fd, _ := strconv.Atoi(e.Name())
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || !strings.HasPrefix(link, "/memfd:ipn-") {
			continue
		}
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err == nil {
			fds[fd] = fl
		}
	}
	return fds, nil
}

// attack reports one attempt: "held" if it failed as it must, "BROKE" if
// it succeeded.
func attack(what string, err error, want ...error) {
	if err == nil {
		fmt.Printf("BROKE %s: succeeded\n", what)
		return
	}
	for _, w := range want {
		if errors.Is(err, w) {
			fmt.Printf("held %s: %v\n", what, err)
			return
		}
	}
	fmt.Printf("BROKE %s: failed, but with %v, not %v\n", what, err, want)
}

func init() {
	// trust-hostile connects with whatever the network's file allows it,
	// prints its mappings, tries every attack on every ipn object it maps
	// or holds, then stays connected until stdin closes.
	roles["trust-hostile"] = func(path string) error {
		n := ipn.NewNode(ipn.Hub)
		if err := n.Connect(path); err != nil {
			return err
		}
		defer n.Close()
		fmt.Printf("roles read=%v write=%v\n", n.CanRead(), n.CanWrite())
		if !n.CanWrite() {
			attack("send without write permission", n.Send([]byte("forged")), syscall.EPIPE)
		}
		ms, err := ipnMappings()
		if err != nil {
			return err
		}
		mem, err := os.OpenFile("/proc/self/mem", os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer mem.Close()
		for _, m := range ms {
			fmt.Printf("map %s %s\n", m.perms, m.kind())
			if m.perms[1] == 'w' {
				continue // its own object: writable by design
			}
			_, _, errno := unix.Syscall(unix.SYS_MPROTECT, m.start, m.end-m.start, unix.PROT_READ|unix.PROT_WRITE)
			err := error(nil)
			if errno != 0 {
				err = errno
			}
			attack("mprotect "+m.kind()+" to write", err, syscall.EACCES)
			_, err = mem.WriteAt([]byte("EVIL"), int64(m.start+shm.HeaderSize))
			attack("write "+m.kind()+" through /proc/self/mem", err, syscall.EFAULT, syscall.EIO, syscall.EPERM, syscall.EACCES)
			f, err := os.OpenFile(fmt.Sprintf("/proc/self/map_files/%x-%x", m.start, m.end), os.O_RDWR, 0)
			if err == nil {
				f.Close()
			}
			attack("open "+m.kind()+" through /proc/self/map_files", err, syscall.EPERM, syscall.EACCES)
		}
		fds, err := ipnFDs()
		if err != nil {
			return err
		}
		for fd, fl := range fds {
			link, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
			what := strings.TrimPrefix(strings.Fields(link)[0], "/memfd:")
			if fl&unix.O_ACCMODE != unix.O_RDWR {
				f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_RDWR, 0)
				if err == nil {
					f.Close()
				}
				attack("reopen read-only "+kindOf(what)+" read-write", err, syscall.EACCES)
			}
			attack("truncate "+kindOf(what), unix.Ftruncate(fd, 0), syscall.EPERM, syscall.EINVAL, syscall.EBADF)
			attack("grow "+kindOf(what), unix.Fallocate(fd, 0, 0, 1<<30), syscall.EPERM, syscall.EBADF)
			if fl&unix.O_ACCMODE == unix.O_RDWR {
				garbage(fd, what)
			}
		}
		fmt.Println("attacked")
		buf := make([]byte, 1)
		os.Stdin.Read(buf)
		return nil
	}
}

func kindOf(name string) string {
	for _, k := range []string{"-ctl", "-tx", "-rx", "-policy"} {
		if strings.Contains(name, k) {
			return k[1:]
		}
	}
	return name
}

// garbage fills the member's own object with what would do the most harm
// if others trusted it: every word after the header set to a pattern of
// huge values, plausible slots and sets of every port.
func garbage(fd int, name string) {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return
	}
	b, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		fmt.Printf("BROKE map own %s: %v\n", kindOf(name), err)
		return
	}
	defer unix.Munmap(b)
	for i := shm.HeaderSize; i+8 <= len(b); i += 8 {
		v := [...]uint64{^uint64(0), uint64(i/8) + 1, 7<<32 | 3, 1<<63 | 5}[i/8%4]
		binary.LittleEndian.PutUint64(b[i:], v)
	}
	fmt.Printf("garbage written into own %s\n", kindOf(name))
}

// TestHostileMember runs the hostile member under another uid with read
// permission only, then with write permission only, against a stream
// between two members of the network's owner.
func TestHostileMember(t *testing.T) {
	e := newPermEnv(t)
	for _, c := range []struct {
		name string
		mode os.FileMode
		// what the hostile member must map, and how
		want map[string]string
	}{
		{"read only", 0o644, map[string]string{"ctl": "r--s", "tx": "r--s", "rx": "rw-s"}},
		{"write only", 0o642, map[string]string{"ctl": "r--s", "tx": "rw-s", "rx": "r--s"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := e.permNet(t, "hostile-"+strings.ReplaceAll(c.name, " ", "-"), c.mode)
			snd, rcv := ipn.NewNode(ipn.Hub), ipn.NewNode(ipn.Hub)
			must(t, snd.Connect(path))
			must(t, rcv.Connect(path))
			t.Cleanup(func() { snd.Close(); rcv.Close() })
			var err error
			h := launch(t, "trust-hostile", path, launchOpts{bin: e.bin, cred: &syscall.Credential{Uid: permUID, Gid: permGID}})
			h.waitLine(t, "attacked")
			report := h.out.String()
			t.Logf("hostile member (mode %#o):\n%s", c.mode, report)
			if strings.Contains(report, "BROKE") {
				t.Errorf("an attack succeeded:\n%s", report)
			}
			for _, line := range strings.Split(report, "\n") {
				if f := strings.Fields(line); len(f) == 3 && f[0] == "map" {
					if want, ok := c.want[f[2]]; !ok || f[1] != want {
						t.Errorf("hostile member maps %s as %s, want %q", f[2], f[1], want)
					}
				}
			}
			if c.mode&0o004 == 0 && strings.Contains(report, "map r--s tx") {
				t.Errorf("a send-only member maps another sender's pool")
			}
			// The owner's stream is intact and in order, from its sender; in
			// a lossy network it may lose messages, never alter or reorder
			// them. The last message is sent until it is received.
			const count = 2000
			got := make(chan error, 1)
			var received int
			go func() { received, err = recvStream(rcv, snd.Port(), count); got <- err }()
			for i := 0; i < count; i++ {
				if err := snd.Send(payload(uint32(i), 64+i%200)); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
				if i%4 == 3 {
					time.Sleep(100 * time.Microsecond) // lossy: let the receiver keep up
				}
			}
		last:
			for {
				select {
				case err := <-got:
					if err != nil {
						t.Error(err)
					}
					break last
				case <-time.After(10 * time.Millisecond):
					must(t, snd.Send(payload(count, 64)))
				}
			}
			if received < count/20 {
				t.Errorf("received %d of %d messages of the stream", received, count)
			}
			if _, _, err := ipn.Stat(path); err != nil {
				t.Errorf("the coordinator after the attacks: %v", err)
			}
			h.in.Close()
			waitExit(t, h, "hostile member", 20*time.Second)
		})
	}
}

// recvStream receives the stream from port from until its message count,
// checking that every message is intact and later than the one before;
// messages from other ports are passed over. It returns how many of the
// stream's messages it received.
func recvStream(n *ipn.Node, from, count int) (int, error) {
	n.SetReadDeadline(time.Now().Add(20 * time.Second))
	next, received := uint32(0), 0
	for next <= uint32(count) {
		v, err := n.RecvView()
		if err != nil {
			return received, fmt.Errorf("after %d messages: %w", next, err)
		}
		if v.Origin != from {
			n.Release(v)
			continue
		}
		seq, err := checkPayload(v.Data)
		if err != nil || seq < next || !bytes.Equal(v.Data, payload(seq, len(v.Data))) {
			n.Release(v)
			return received, fmt.Errorf("message after %d: seq %d, %v", next, seq, err)
		}
		next, received = seq+1, received+1
		n.Release(v)
	}
	return received, nil
}
