package ring_test

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/ring/ringtest"
	"github.com/ipn-project/ipn/shm"
)

func TestMain(m *testing.M) { ringtest.Main(m) }

const rw = shm.RoleRead | shm.RoleWrite

func geometry(lossless bool, ports, pool int) shm.Geometry {
	return shm.Derive(shm.Options{MTU: 256, Ports: ports, Pool: pool, Lossless: lossless})
}

func TestSendRecvCopy(t *testing.T) {
	n := ringtest.NewNet(t, geometry(false, 4, 8))
	a, b, c := n.Open(0, rw), n.Open(1, rw), n.Open(2, rw)
	msg := []byte("hello, network")
	got, err := a.Send(msg, n.N.Readers(), 0, time.Time{})
	if err != nil || got != 2 {
		t.Fatalf("Send = %d, %v; want 2 recipients, nil", got, err)
	}
	for _, p := range []*ring.Port{b, c} {
		buf := make([]byte, 256)
		k, info, err := p.Recv(buf, time.Now().Add(time.Second))
		if err != nil {
			t.Fatalf("port %d Recv: %v", p.ID(), err)
		}
		if !bytes.Equal(buf[:k], msg) || info.Origin != 0 || info.OOB {
			t.Errorf("port %d got %q %+v, want %q from 0", p.ID(), buf[:k], info, msg)
		}
	}
	if _, _, err := a.TryRecv(make([]byte, 256)); !errors.Is(err, ring.ErrAgain) || !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("sender received its own message: err = %v, want EAGAIN", err)
	}
	if free := n.FreeSlots(); free != n.G.Slots {
		t.Errorf("free slots = %d, want %d", free, n.G.Slots)
	}
}

func TestZeroCopy(t *testing.T) {
	n := ringtest.NewNet(t, geometry(false, 2, 8))
	a, b := n.Open(0, rw), n.Open(1, rw)
	tx, err := a.Alloc(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	k := copy(tx.Buf, "in place")
	if _, err := a.Submit(tx, k, 1<<1, 3); err != nil {
		t.Fatal(err)
	}
	v, err := b.RecvView(time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if string(v.Data) != "in place" || v.Hop != 3 {
		t.Errorf("view = %q hop %d, want %q hop 3", v.Data, v.Hop, "in place")
	}
	if free := n.FreeSlots(); free != n.G.Slots-1 {
		t.Errorf("while viewed: free = %d, want %d", free, n.G.Slots-1)
	}
	b.Release(v)
	if free := n.FreeSlots(); free != n.G.Slots {
		t.Errorf("after release: free = %d, want %d", free, n.G.Slots)
	}
}

func TestWriteOnceSharedSlot(t *testing.T) {
	// Invariant 1: recipients read the one slot the sender wrote.
	n := ringtest.NewNet(t, geometry(false, 4, 8))
	a := n.Open(0, rw)
	rs := []*ring.Port{n.Open(1, rw), n.Open(2, rw), n.Open(3, rw)}
	if _, err := a.Send([]byte("once"), n.N.Readers(), 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	var views []ring.View
	for _, r := range rs {
		v, err := r.TryRecvView()
		if err != nil {
			t.Fatal(err)
		}
		views = append(views, v)
	}
	for _, v := range views[1:] {
		if &v.Data[0] != &views[0].Data[0] {
			t.Fatalf("recipients read different copies")
		}
	}
	for i, v := range views {
		if got := n.FreeSlots(); got != n.G.Slots-1 {
			t.Fatalf("slot freed early, after %d of 3 releases", i)
		}
		rs[i].Release(v)
	}
	if got := n.FreeSlots(); got != n.G.Slots {
		t.Errorf("slot not freed after the last release")
	}
}

func TestMsgSize(t *testing.T) {
	n := ringtest.NewNet(t, geometry(false, 2, 8))
	a := n.Open(0, rw)
	n.Open(1, rw)
	_, err := a.Send(make([]byte, 257), n.N.Readers(), 0, time.Time{})
	if !errors.Is(err, ring.ErrMsgSize) || !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("oversized send: err = %v, want EMSGSIZE", err)
	}
	if _, err := a.Send(make([]byte, 256), n.N.Readers(), 0, time.Time{}); err != nil {
		t.Fatalf("MTU-sized send: %v", err)
	}
	tx, _ := a.Alloc(time.Time{})
	if _, err := a.Submit(tx, 300, 2, 0); !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("oversized submit: err = %v, want EMSGSIZE", err)
	}
	if free := n.FreeSlots(); free != n.G.Slots-1 {
		t.Errorf("free = %d, want %d (one queued message)", free, n.G.Slots-1)
	}
}

func TestTruncated(t *testing.T) {
	n := ringtest.NewNet(t, geometry(false, 2, 8))
	a, b := n.Open(0, rw), n.Open(1, rw)
	a.Send([]byte("0123456789"), 2, 0, time.Time{})
	buf := make([]byte, 4)
	k, info, err := b.TryRecv(buf)
	if !errors.Is(err, ring.ErrTruncated) || k != 4 || info.Len != 10 || string(buf) != "0123" {
		t.Fatalf("TryRecv = %d %+v %v, want 4 bytes of 10 and ErrTruncated", k, info, err)
	}
}

func TestOOBFirst(t *testing.T) {
	n := ringtest.NewNet(t, geometry(false, 2, 8))
	a, b := n.Open(0, rw), n.Open(1, rw)
	for _, m := range []string{"d1", "d2"} {
		a.Send([]byte(m), 2, 0, time.Time{})
	}
	tx, _ := a.Alloc(time.Time{})
	k := copy(tx.Buf, "urgent")
	if _, err := a.SubmitOOB(tx, k, 2); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		buf := make([]byte, 16)
		k, info, err := b.TryRecv(buf)
		if errors.Is(err, ring.ErrAgain) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		s := string(buf[:k])
		if info.OOB {
			s = "oob:" + s
		}
		got = append(got, s)
	}
	want := []string{"oob:urgent", "d1", "d2"}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("order = %q, want %q", got, want)
	}
}

func TestLossyDropsCounted(t *testing.T) {
	n := ringtest.NewNet(t, geometry(false, 3, 4))
	a, b, c := n.Open(0, rw), n.Open(1, rw), n.Open(2, rw)
	const sent = 10
	for i := 0; i < sent; i++ {
		if _, err := a.Send([]byte{byte(i)}, n.N.Readers(), 0, time.Time{}); err != nil {
			t.Fatal(err)
		}
		// c keeps up, b does not read at all.
		if _, _, err := c.TryRecv(make([]byte, 8)); err != nil {
			t.Fatal(err)
		}
	}
	st := n.N.Stats(1)
	if st.Drops != sent-4 || st.Queued != 4 {
		t.Errorf("slow receiver: drops %d queued %d, want %d and 4", st.Drops, st.Queued, sent-4)
	}
	if st := n.N.Stats(2); st.Drops != 0 || st.Received != sent {
		t.Errorf("fast receiver: drops %d received %d, want 0 and %d", st.Drops, st.Received, sent)
	}
	// b sees the first four, in order.
	for i := 0; i < 4; i++ {
		buf := make([]byte, 8)
		if k, _, err := b.TryRecv(buf); err != nil || k != 1 || buf[0] != byte(i) {
			t.Fatalf("message %d: %v %v", i, buf[:k], err)
		}
	}
}

func TestLosslessAgainAndBlock(t *testing.T) {
	n := ringtest.NewNet(t, geometry(true, 2, 4))
	a, b := n.Open(0, rw), n.Open(1, rw)
	for i := 0; i < 4; i++ {
		if _, err := a.TrySend([]byte{byte(i)}, 2, 0); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if _, err := a.TrySend([]byte{4}, 2, 0); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("send to a full lossless network: %v, want EAGAIN", err)
	}
	if _, err := a.Send([]byte{4}, 2, 0, time.Now().Add(20*time.Millisecond)); !errors.Is(err, ring.ErrTimeout) {
		t.Fatalf("send with deadline on a full network: %v, want ErrTimeout", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := a.Send([]byte{4}, 2, 0, time.Time{})
		done <- err
	}()
	buf := make([]byte, 8)
	if _, _, err := b.TryRecv(buf); err != nil || buf[0] != 0 {
		t.Fatalf("recv: %v %v", buf[0], err)
	}
	if err := <-done; err != nil {
		t.Fatalf("blocked send did not resume: %v", err)
	}
	if st := n.N.Stats(0); st.Blocked == 0 {
		t.Errorf("blocked count = 0, want > 0")
	}
	for want := byte(1); want <= 4; want++ {
		if _, _, err := b.TryRecv(buf); err != nil || buf[0] != want {
			t.Fatalf("recv = %d %v, want %d", buf[0], err, want)
		}
	}
}

func TestRolesAndDeadline(t *testing.T) {
	n := ringtest.NewNet(t, geometry(false, 2, 4))
	a, b := n.Open(0, shm.RoleWrite), n.Open(1, shm.RoleRead)
	if _, _, err := a.TryRecv(make([]byte, 8)); !errors.Is(err, ring.ErrNotReader) {
		t.Errorf("recv on write-only port: %v, want ErrNotReader", err)
	}
	if _, err := b.TrySend([]byte("x"), 1, 0); !errors.Is(err, ring.ErrNotWriter) {
		t.Errorf("send on read-only port: %v, want ErrNotWriter", err)
	}
	start := time.Now()
	if _, _, err := b.Recv(make([]byte, 8), start.Add(30*time.Millisecond)); !errors.Is(err, ring.ErrTimeout) {
		t.Errorf("recv with deadline: %v, want ErrTimeout", err)
	}
	// A sleeping receiver wakes when its read side is shut down.
	done := make(chan error, 1)
	go func() {
		_, _, err := b.Recv(make([]byte, 8), time.Time{})
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	n.N.SetRoles(1, 0)
	if err := <-done; !errors.Is(err, ring.ErrNotReader) {
		t.Errorf("recv after shutdown: %v, want ErrNotReader", err)
	}
}

func TestSleepingReceiverWakes(t *testing.T) {
	n := ringtest.NewNet(t, geometry(false, 2, 8))
	a, b := n.Open(0, rw), n.Open(1, rw)
	const count = 200
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 8)
		for i := 0; i < count; i++ {
			if _, _, err := b.Recv(buf, time.Now().Add(10*time.Second)); err != nil {
				done <- err
				return
			}
			if buf[0] != byte(i) {
				done <- errors.New("out of order")
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < count; i++ {
		if i%10 == 0 {
			time.Sleep(time.Millisecond) // let the receiver fall asleep
		}
		for {
			if k, _ := a.Send([]byte{byte(i)}, 2, 0, time.Time{}); k == 1 {
				break
			}
			time.Sleep(100 * time.Microsecond) // ring full: retry, keeping order
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestZeroAllocs(t *testing.T) {
	n := ringtest.NewNet(t, geometry(false, 2, 8))
	a, b := n.Open(0, rw), n.Open(1, rw)
	msg, buf := make([]byte, 64), make([]byte, 256)
	allocs := testing.AllocsPerRun(1000, func() {
		a.Send(msg, 2, 0, time.Time{})
		b.TryRecv(buf)
	})
	if allocs != 0 {
		t.Errorf("copy send+recv: %v allocations per message, want 0", allocs)
	}
	allocs = testing.AllocsPerRun(1000, func() {
		tx, _ := a.TryAlloc()
		a.Submit(tx, 64, 2, 0)
		v, _ := b.TryRecvView()
		b.Release(v)
	})
	if allocs != 0 {
		t.Errorf("zero-copy send+recv: %v allocations per message, want 0", allocs)
	}
}

func TestReclaimInProcess(t *testing.T) {
	n := ringtest.NewNet(t, geometry(false, 3, 4))
	a, b := n.Open(0, rw), n.Open(1, rw)
	n.Open(2, rw)
	for i := 0; i < 3; i++ {
		a.Send([]byte{byte(i)}, n.N.Readers(), 0, time.Time{})
	}
	if _, err := b.TryRecvView(); err != nil { // held view
		t.Fatal(err)
	}
	if _, err := a.TryAlloc(); err != nil { // held transmit slot
		t.Fatal(err)
	}
	n.Reclaim(1, 0)
	n.Reclaim(2, 0)
	n.Reclaim(0, 0)
	if free := n.FreeSlots(); free != n.G.Slots {
		t.Errorf("after reclaim: free = %d, want %d", free, n.G.Slots)
	}
	// Ports are reusable, rings empty.
	c := n.Open(1, rw)
	if _, _, err := c.TryRecv(make([]byte, 8)); !errors.Is(err, ring.ErrAgain) {
		t.Errorf("reopened port has leftovers: %v", err)
	}
}

// TestPollReadiness waits for a message with poll(2) on the port's ready
// descriptor, as an event loop would.
func TestPollReadiness(t *testing.T) {
	n := ringtest.NewNet(t, geometry(false, 2, 8))
	a, b := n.Open(0, rw), n.Open(1, rw)
	if b.Arm() {
		t.Fatal("Arm reports a message pending on an empty port")
	}
	fds := []unix.PollFd{{Fd: int32(b.ReadyFD()), Events: unix.POLLIN}}
	if k, err := unix.Poll(fds, 0); err != nil || k != 0 {
		t.Fatalf("poll on an idle port = %d, %v; want not ready", k, err)
	}
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		time.Sleep(10 * time.Millisecond)
		a.Send([]byte("wake"), 2, 0, time.Time{})
	}()
	defer func() { <-sent }() // the segment is unmapped when the test ends
	if k, err := unix.Poll(fds, 5000); err != nil || k != 1 || fds[0].Revents&unix.POLLIN == 0 {
		t.Fatalf("poll after a send = %d %#x, %v; want readable", k, fds[0].Revents, err)
	}
	b.Disarm()
	buf := make([]byte, 8)
	if k, _, err := b.TryRecv(buf); err != nil || string(buf[:k]) != "wake" {
		t.Fatalf("TryRecv after poll: %q, %v", buf[:k], err)
	}
	if k, _ := unix.Poll(fds, 0); k != 0 {
		t.Errorf("ready descriptor still readable after Disarm")
	}
	<-sent // a's send side is for one goroutine at a time
	a.Send([]byte("again"), 2, 0, time.Time{})
	if !b.Arm() {
		t.Errorf("Arm misses a pending message")
	}
	b.Disarm()
}
