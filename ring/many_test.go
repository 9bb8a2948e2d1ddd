package ring_test

import (
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ipn-project/ipn/ring/ringtest"
	"github.com/ipn-project/ipn/shm"
)

// TestManySendersOneRing has several senders race on one receiver's ring,
// with small pools so the ring wraps and fills constantly: in a lossless
// network nothing may be dropped, and each sender's messages must arrive in
// order.
func TestManySendersOneRing(t *testing.T) {
	for _, pool := range []int{2, 4, 32} {
		t.Run(fmt.Sprintf("pool=%d", pool), func(t *testing.T) {
			const senders, count = 3, 20000
			n := ringtest.NewNet(t, shm.Derive(shm.Options{MTU: 64, Ports: senders + 1, Pool: pool, Lossless: true}))
			r := n.Open(0, shm.RoleRead)
			var wg sync.WaitGroup
			t.Cleanup(wg.Wait) // before the segment is unmapped, even on failure
			for s := 1; s <= senders; s++ {
				p := n.Open(s, shm.RoleWrite)
				wg.Add(1)
				go func() {
					defer wg.Done()
					var b [8]byte
					for i := uint64(0); i < count; i++ {
						binary.LittleEndian.PutUint64(b[:], i)
						if k, err := p.Send(b[:], 1, 0, time.Now().Add(10*time.Second)); err != nil || k != 1 {
							t.Errorf("sender %d message %d: delivered to %d, %v", p.ID(), i, k, err)
							return
						}
					}
				}()
			}
			next := make([]uint64, senders+1)
			buf := make([]byte, 64)
			for got := 0; got < senders*count; got++ {
				k, info, err := r.Recv(buf, time.Now().Add(10*time.Second))
				if err != nil {
					t.Fatalf("after %d messages: %v (drops %d)", got, err, n.N.Stats(0).Drops)
				}
				if seq := binary.LittleEndian.Uint64(buf[:k]); seq != next[info.Origin] {
					t.Fatalf("from %d: got %d, want %d", info.Origin, seq, next[info.Origin])
				}
				next[info.Origin]++
			}
			wg.Wait()
			if d := n.N.Stats(0).Drops; d != 0 {
				t.Errorf("%d drops in a lossless network", d)
			}
		})
	}
}
