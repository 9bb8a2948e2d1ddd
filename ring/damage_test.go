package ring_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/ring/ringtest"
	"github.com/ipn-project/ipn/shm"
)

// FuzzDamage scribbles over a live network's shared memory, as a buggy or
// hostile member could, then sends, receives and reclaims: nothing may
// panic, index out of range, or hang; damage shows up as errors.
func FuzzDamage(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint32(nil, 64), ^uint64(0)))
	f.Fuzz(func(t *testing.T, scribble []byte) {
		n := ringtest.NewNet(t, shm.Derive(shm.Options{MTU: 64, Ports: 3, Pool: 4}))
		a, b := n.Open(0, rw), n.Open(1, rw)
		n.Open(2, rw)
		a.Send([]byte("before"), n.N.Readers(), 0, time.Time{})
		size := n.Seg.Size()
		for len(scribble) >= 12 {
			off := int(binary.LittleEndian.Uint32(scribble)) % (size - shm.HeaderSize)
			off = (shm.HeaderSize + off) &^ 7
			v := binary.LittleEndian.Uint64(scribble[4:])
			n.Seg.Uint64(off).Store(v)
			scribble = scribble[12:]
		}
		buf := make([]byte, 64)
		for i := 0; i < 8; i++ {
			a.TrySend([]byte("after"), n.N.Readers(), 0)
			b.TryRecv(buf)
			if v, err := b.TryRecvView(); err == nil {
				b.Release(v)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		for p := 0; p < 3; p++ {
			if _, err := n.N.Reclaim(ctx, p, 0); err != nil && !errors.Is(err, ring.ErrBusy) {
				t.Fatalf("reclaim %d: %v", p, err)
			}
		}
		n.N.FreeSlots()
		for p := 0; p < 3; p++ {
			n.N.Stats(p)
		}
	})
}

func TestDamagedCellReported(t *testing.T) {
	n := ringtest.NewNet(t, shm.Derive(shm.Options{MTU: 64, Ports: 2, Pool: 4}))
	n.Open(0, rw)
	b := n.Open(1, rw)
	// Publish a slot index past the pool in port 1's first cell.
	cell := n.Seg.Layout.DataRing(1) + shm.RingCells
	n.Seg.Uint64(cell).Store(uint64(1<<24) + 5)
	if _, _, err := b.TryRecv(make([]byte, 64)); !errors.Is(err, shm.ErrDamaged) {
		t.Fatalf("recv of a bad slot index: %v, want ErrDamaged", err)
	}
}
