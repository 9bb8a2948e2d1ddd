package ring

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ipn-project/ipn/shm"
)

func newTestNet(t *testing.T, ports int) *Network {
	t.Helper()
	g := shm.Derive(shm.Options{MTU: 64, Ports: ports, Pool: 4, Lossless: true})
	seg, err := shm.Create("", fmt.Sprintf("ipn-test-reclaim-%d-%d", os.Getpid(), time.Now().UnixNano()), g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seg.Remove(); seg.Close() })
	n := New(seg)
	for p := 0; p < ports; p++ {
		rx, _ := NewEventfd()
		tx, _ := NewEventfd()
		n.SetEventfds(p, rx, tx)
		if err := n.OpenPort(p, 0, shm.RoleRead|shm.RoleWrite); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// halfDispatch leaves port 0 as a sender killed in the middle of a fan-out:
// the message is in slot s, both recipients' bits are set, but only port 1
// got it on its ring. Port 0 is never used again, as if its process died.
func halfDispatch(t *testing.T, n *Network) uint32 {
	t.Helper()
	p0, err := n.Port(0)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := p0.alloc()
	if !ok {
		t.Fatal("no slot")
	}
	copy(n.slots[s].payload, "half")
	sl := &n.slots[s]
	sl.meta.Store(packMeta(4, 0, 0, 0))
	sl.holders.Or(1<<1 | 1<<2)
	if !n.ports[1].data.push(s, &producerView{}) {
		t.Fatal("push failed")
	}
	return s
}

// TestReclaimHalfDispatch checks DESIGN invariant 3 at the one moment the
// random kills rarely hit: a recipient whose bit was set but which never got
// the slot must lose its bit, and one that got it must keep it.
func TestReclaimHalfDispatch(t *testing.T) {
	for _, view := range []bool{false, true} {
		t.Run(fmt.Sprintf("view=%v", view), func(t *testing.T) {
			n := newTestNet(t, 3)
			halfDispatch(t, n)
			p1, _ := n.Port(1)
			var v View
			if view { // port 1 holds the message as a view while port 0 is reclaimed
				var err error
				if v, err = p1.TryRecvView(); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := n.Reclaim(ctx, 0, 1<<0); err != nil {
				t.Fatal(err)
			}
			if view {
				if free, all := n.FreeSlots(), n.g.Slots; free != all-1 {
					t.Fatalf("%d of %d slots free while port 1 still views the message", free, all)
				}
				if string(v.Data) != "half" {
					t.Fatalf("view changed under the reclaim: %q", v.Data)
				}
				p1.Release(v)
			} else {
				buf := make([]byte, 64)
				k, _, err := p1.TryRecv(buf)
				if err != nil || string(buf[:k]) != "half" {
					t.Fatalf("port 1 lost the message: %q %v", buf[:k], err)
				}
			}
			if free, all := n.FreeSlots(), n.g.Slots; free != all {
				t.Fatalf("%d of %d slots free: the recipient that never got the message still holds it", free, all)
			}
		})
	}
}
