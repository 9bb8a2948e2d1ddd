package ipn_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn"
)

// TestReadiness checks poll's three conditions (SPEC M7): readable,
// priority-readable (out-of-band), writable, with the descriptors an event
// loop would wait on.
func TestReadiness(t *testing.T) {
	path := netPath(t)
	a := creator(t, path, func(n *ipn.Node) {
		n.SetLossless(true)
		n.SetPoolSize(2)
		n.SetWantOOBNumNodes(true)
	})
	b := joiner(t, path)
	// b's arrival sends a a numnodes notice: priority-readable.
	waitFor(t, "a notice pending", func() bool { _, prio, _ := a.Readiness(); return prio })

	// Fill the lossless pool: no longer writable.
	b.SetNonblock(true)
	for {
		if err := b.Send([]byte("x")); errors.Is(err, syscall.EAGAIN) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if _, _, w := b.Readiness(); w {
		t.Fatalf("writable with the pool full")
	}
	if b.ArmWrite() {
		t.Fatalf("ArmWrite reports room with the pool full")
	}
	fds := []unix.PollFd{{Fd: int32(b.WriteFD()), Events: unix.POLLIN}}
	if k, _ := unix.Poll(fds, 0); k != 0 {
		t.Fatalf("write descriptor ready with the pool full")
	}
	if r, _, _ := a.Readiness(); !r {
		t.Fatalf("a not readable with messages queued")
	}
	buf := make([]byte, 64) // room for the notice too, which comes first
	a.SetNonblock(true)
	for {
		if _, err := a.Recv(buf); err != nil {
			break
		}
	}
	if k, err := unix.Poll(fds, 5000); err != nil || k != 1 {
		t.Fatalf("write descriptor not ready after the pool drained: %d %v", k, err)
	}
	if _, _, w := b.Readiness(); !w {
		t.Errorf("not writable after the pool drained")
	}
}

func TestSendContext(t *testing.T) {
	path := netPath(t)
	a := creator(t, path, func(n *ipn.Node) {
		n.SetLossless(true)
		n.SetPoolSize(1)
	})
	b := joiner(t, path)
	if err := a.Send([]byte("fills the pool")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := a.SendContext(ctx, []byte("waits")); !errors.Is(err, context.Canceled) {
		t.Fatalf("SendContext on a full network, cancelled: %v", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	received := make(chan struct{})
	go func() {
		defer close(received)
		time.Sleep(20 * time.Millisecond)
		b.Recv(make([]byte, 32))
	}()
	if err := a.SendContext(ctx2, []byte("goes once there is room")); err != nil {
		t.Fatalf("SendContext after room was made: %v", err)
	}
	<-received // one goroutine at a time receives
	rctx, rcancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, rcancel)
	b.SetNonblock(false)
	buf := make([]byte, 64)
	if _, err := b.RecvContext(rctx, buf); err != nil {
		t.Fatalf("RecvContext with a message queued: %v", err)
	}
	if _, err := b.RecvContext(rctx, buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("RecvContext on an empty network, cancelled: %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestNodeZeroAllocs: the client API allocates nothing per message.
func TestNodeZeroAllocs(t *testing.T) {
	path := netPath(t)
	a := creator(t, path)
	b := joiner(t, path)
	b.SetNonblock(true)
	msg, buf := make([]byte, 64), make([]byte, 2000)
	if n := testing.AllocsPerRun(1000, func() { a.Send(msg); b.Recv(buf) }); n != 0 {
		t.Errorf("Send+Recv: %v allocations per message, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		tx, _ := a.Alloc()
		a.Submit(tx, 64)
		v, _ := b.RecvView()
		b.Release(v)
	}); n != 0 {
		t.Errorf("Alloc+Submit+RecvView+Release: %v allocations per message, want 0", n)
	}
}
