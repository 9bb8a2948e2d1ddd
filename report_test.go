package ipn_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/dispatch"
)

// The errors a caller can branch on where IPN reports something: a send
// past the hop limit, a second bind, the end of a context's wait.

func TestSendPastHopLimit(t *testing.T) {
	path := netPath(t)
	a := creator(t, path)
	b := joiner(t, path)
	if err := a.SendHop([]byte("deep"), dispatch.MaxHops); err != nil {
		t.Fatalf("send at the hop limit: %v", err)
	}
	err := a.SendHop([]byte("too deep"), dispatch.MaxHops+1)
	if !errors.Is(err, ipn.ErrHopLimit) || !errors.Is(err, syscall.ELOOP) {
		t.Fatalf("send past the hop limit: %v, want ErrHopLimit (ELOOP)", err)
	}
	buf := make([]byte, 16)
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if k, err := b.Recv(buf); err != nil || string(buf[:k]) != "deep" {
		t.Fatalf("recv: %q %v, want deep", buf[:k], err)
	}
	if k, err := b.TryRecv(buf); !errors.Is(err, ipn.ErrAgain) {
		t.Errorf("the message past the limit arrived: %q %v", buf[:k], err)
	}
	if p := portInfo(t, path, a.Port()); p.HopDrops != 1 {
		t.Errorf("hop drops %d, want 1", p.HopDrops)
	}
}

func TestSecondBind(t *testing.T) {
	path := netPath(t)
	a := creator(t, path)
	err := a.Bind(path)
	if !errors.Is(err, ipn.ErrIsConn) || !errors.Is(err, syscall.EISCONN) {
		t.Errorf("second bind: %v, want EISCONN", err)
	}
}

// TestContextEndsWait: a wait that a context's deadline ends returns
// context.DeadlineExceeded, never ErrTimeout, however close the internal
// wait's deadline falls to the context's (it used to lose that race in
// about one call of ten); a read or write deadline earlier than the
// context's still gives ErrTimeout.
func TestContextEndsWait(t *testing.T) {
	path := netPath(t)
	a := creator(t, path, func(n *ipn.Node) {
		n.SetLossless(true)
		n.SetPoolSize(1)
	})
	b := joiner(t, path)
	buf := make([]byte, 16)
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ipn.ErrTimeout) {
			t.Fatalf("%s: %v, want context.DeadlineExceeded", what, err)
		}
	}
	for i := 0; i < 200; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%3)*time.Millisecond)
		_, err := b.RecvContext(ctx, buf)
		cancel()
		check("RecvContext on an empty network", err)
	}
	if err := a.Send([]byte("fills the pool")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%3)*time.Millisecond)
		err := a.SendContext(ctx, []byte("waits"))
		cancel()
		check("SendContext on a full network", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := b.RecvContext(ctx, buf); err != nil { // a message is pending
		t.Fatalf("RecvContext with a message pending: %v", err)
	}
	b.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := b.RecvContext(ctx, buf); !errors.Is(err, ipn.ErrTimeout) {
		t.Errorf("RecvContext past the read deadline: %v, want ErrTimeout", err)
	}
}
