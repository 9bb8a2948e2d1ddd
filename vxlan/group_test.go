package vxlan

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"testing"

	"github.com/ipn-project/ipn/internal/netns"
	"github.com/ipn-project/ipn/internal/netns/netnstest"
)

// member is a group endpoint in a namespace of its own.
type member struct {
	ep  *Endpoint
	mac [6]byte
}

// groupOf makes k namespaces on one Linux bridge (in a namespace of its
// own) and a member of the group 239.2.2.2 in each.
func groupOf(t *testing.T, k int) []member {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes network namespaces, veth pairs and a bridge")
	}
	tag := fmt.Sprintf("vx%d", os.Getpid()%10000)
	host := netnstest.Host(t)
	sw := netnstest.New(t, tag+"sw")
	if err := sw.AddBridge("br"); err != nil {
		t.Fatal(err)
	}
	if err := sw.Up("br"); err != nil {
		t.Fatal(err)
	}
	var ms []member
	for i := range k {
		ns := netnstest.New(t, fmt.Sprintf("%sm%d", tag, i))
		in, out := fmt.Sprintf("%si%d", tag, i), fmt.Sprintf("%so%d", tag, i)
		if err := host.AddVeth(in, out); err != nil {
			t.Fatal(err)
		}
		if err := ns.Adopt(host, in, fmt.Sprintf("10.205.0.%d/24", i+1)); err != nil {
			t.Fatal(err)
		}
		if err := sw.Adopt(host, out, ""); err != nil {
			t.Fatal(err)
		}
		if err := sw.SetMaster(out, "br"); err != nil {
			t.Fatal(err)
		}
		ep := listenIn(t, ns, Config{Remote: netip.MustParseAddr("239.2.2.2"), Iface: in, VNI: 5})
		ms = append(ms, member{ep: ep, mac: [6]byte{2, 0, 0, 0, 0, byte(i + 1)}})
	}
	return ms
}

func listenIn(t *testing.T, ns *netns.NS, cfg Config) *Endpoint {
	t.Helper()
	var ep *Endpoint
	err := ns.Do(func() (err error) { ep, err = Listen(cfg); return err })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

// send sends one frame from m to dst, carrying text.
func (m member) send(t *testing.T, dst [6]byte, text string) []byte {
	t.Helper()
	b := NewBatch(1, 1500)
	f := append(append(append(dst[:], m.mac[:]...), 0x88, 0xb5), text...)
	f = append(f, make([]byte, max(0, 60-len(f)))...)
	b.Lens[0] = copy(b.Room(0), f)
	b.N = 1
	if err := m.ep.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestGroupLearns: a broadcast frame reaches every member of the group;
// then a frame for the address it came from goes to that member alone, as
// a switch sends to a learned port.
func TestGroupLearns(t *testing.T) {
	ms := groupOf(t, 3)
	a, b, c := ms[0], ms[1], ms[2]
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	hello := a.send(t, bcast, "hello, group")
	for _, m := range []member{b, c} {
		if got := readAll(t, m.ep, 1, 1500); !bytes.Equal(got[0][1:], hello) {
			t.Fatalf("a member got %q, want a's broadcast", got[0][1:])
		}
	}
	toA := b.send(t, a.mac, "to a alone")
	if got := readAll(t, a.ep, 1, 1500); !bytes.Equal(got[0][1:], toA) {
		t.Fatalf("a got %q, want b's frame for it", got[0][1:])
	}
	// c's next frame is a's next broadcast, not b's frame for a.
	again := a.send(t, bcast, "hello again")
	if got := readAll(t, c.ep, 1, 1500); !bytes.Equal(got[0][1:], again) {
		t.Errorf("c got %q, want a's second broadcast: b's frame for a was flooded, not sent to a alone", got[0][1:])
	}
}
