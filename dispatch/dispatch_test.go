package dispatch_test

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/ring/ringtest"
	"github.com/ipn-project/ipn/shm"
)

func TestMain(m *testing.M) { ringtest.Main(m) }

const rw = shm.RoleRead | shm.RoleWrite

func TestRegistry(t *testing.T) {
	if _, err := dispatch.Lookup(dispatch.Hub); err != nil {
		t.Fatalf("hub not registered: %v", err)
	}
	if _, err := dispatch.Lookup(99); !errors.Is(err, syscall.EPROTONOSUPPORT) {
		t.Errorf("unknown policy: %v, want EPROTONOSUPPORT", err)
	}
	if err := dispatch.Register(dispatch.Hub, evens{}); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("register over the hub: %v, want EEXIST", err)
	}
	if err := dispatch.Register(dispatch.Any, evens{}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("register as Any: %v, want EINVAL", err)
	}
}

func TestLowestFree(t *testing.T) {
	for _, c := range []struct {
		want    int
		free    uint64
		got     int
		errWant bool
	}{
		{dispatch.AnyPort, 0b1100, 2, false},
		{dispatch.AnyPort, 0, 0, true},
		{3, 0b1000, 3, false},
		{1, 0b1000, 0, true},
		{70, ^uint64(0), 0, true},
	} {
		got, err := dispatch.LowestFree(c.want, c.free)
		if (err != nil) != c.errWant || (err == nil && got != c.got) {
			t.Errorf("LowestFree(%d, %b) = %d, %v; want %d, error %v", c.want, c.free, got, err, c.got, c.errWant)
		}
		if err != nil && !errors.Is(err, syscall.EADDRNOTAVAIL) {
			t.Errorf("LowestFree(%d, %b): %v, want EADDRNOTAVAIL", c.want, c.free, err)
		}
	}
}

// evens is a policy of a user's own, for the tests: messages go to the
// even-numbered ports as they are, and, upper-cased, to the odd ones.
type evens struct{}

func (evens) Name() string { return "evens" }
func (evens) NewPort(_ dispatch.Net, want int, free uint64) (int, error) {
	return dispatch.LowestFree(want, free)
}
func (evens) Dispatch(_ dispatch.Net, d *ring.Delivery) {
	const even = 0x5555555555555555
	d.To(even)
	d.To(even) // a second delivery to the same ports must not queue twice
	up := []byte(string(d.Data()))
	for i, c := range up {
		if 'a' <= c && c <= 'z' {
			up[i] = c - 'a' + 'A'
		}
	}
	d.Variant(^uint64(even), up)
}

func newNet(t *testing.T, ports int, lossless bool) (*ringtest.Net, dispatch.Net) {
	n := ringtest.NewNet(t, shm.Derive(shm.Options{MTU: 64, Ports: ports, Pool: 8, Lossless: lossless}))
	return n, dispatch.NetOf(n.N, func() int { return ports })
}

func recvAll(t *testing.T, p *ring.Port) []string {
	t.Helper()
	var got []string
	buf := make([]byte, 2048)
	for {
		k, _, err := p.TryRecv(buf)
		if errors.Is(err, ring.ErrAgain) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(buf[:k]))
	}
}

func TestHubAndVariants(t *testing.T) {
	n, dn := newNet(t, 4, false)
	var ports []*ring.Port
	for p := 0; p < 4; p++ {
		ports = append(ports, n.Open(p, rw))
	}
	hub, _ := dispatch.Lookup(dispatch.Hub)
	if _, err := ports[0].SendWith([]byte("hello"), 0, true, time.Time{}, dispatch.Func(hub, dn)); err != nil {
		t.Fatal(err)
	}
	for p := 1; p < 4; p++ {
		if got := recvAll(t, ports[p]); len(got) != 1 || got[0] != "hello" {
			t.Errorf("hub: port %d got %q, want [hello]", p, got)
		}
	}
	if got := recvAll(t, ports[0]); len(got) != 0 {
		t.Errorf("hub: the sender got its own message: %q", got)
	}

	if _, err := ports[1].SendWith([]byte("mixed"), 0, true, time.Time{}, dispatch.Func(evens{}, dn)); err != nil {
		t.Fatal(err)
	}
	want := map[int]string{0: "mixed", 2: "mixed", 3: "MIXED"}
	for p, w := range want {
		if got := recvAll(t, ports[p]); len(got) != 1 || got[0] != w {
			t.Errorf("evens: port %d got %q, want [%s]", p, got, w)
		}
	}
	if free, all := n.FreeSlots(), n.G.Slots; free != all {
		t.Errorf("%d of %d slots free after every message was read", free, all)
	}
}

func TestHopLimit(t *testing.T) {
	n, dn := newNet(t, 2, false)
	a, b := n.Open(0, rw), n.Open(1, rw)
	hub, _ := dispatch.Lookup(dispatch.Hub)
	fn := dispatch.Func(hub, dn)
	if _, err := a.SendWith([]byte("deep"), dispatch.MaxHops, true, time.Time{}, fn); err != nil {
		t.Fatal(err)
	}
	_, err := a.SendWith([]byte("too deep"), dispatch.MaxHops+1, true, time.Time{}, fn)
	if !errors.Is(err, dispatch.ErrHopLimit) || !errors.Is(err, syscall.ELOOP) {
		t.Errorf("send past the hop limit: %v, want ErrHopLimit (ELOOP)", err)
	}
	if got := recvAll(t, b); len(got) != 1 || got[0] != "deep" {
		t.Errorf("got %q, want only the message at the hop limit", got)
	}
	if st := n.N.Stats(0); st.HopDrops != 1 {
		t.Errorf("hop drops = %d, want 1", st.HopDrops)
	}
}

func TestSendAllocs(t *testing.T) {
	n, dn := newNet(t, 2, false)
	a, b := n.Open(0, rw), n.Open(1, rw)
	hub, _ := dispatch.Lookup(dispatch.Hub)
	fn := dispatch.Func(hub, dn)
	msg, buf := make([]byte, 64), make([]byte, 64)
	allocs := testing.AllocsPerRun(1000, func() {
		a.SendWith(msg, 0, true, time.Time{}, fn)
		b.TryRecv(buf)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per message through a policy, want 0", allocs)
	}
}
