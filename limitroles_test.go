package ipn_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/ipn-project/ipn"
)

// TestLimitRoles: a node that limits its roles before Connect gets no
// more, whatever its permissions, and the network counts only those; a
// limit to nothing is refused. The nodes stay, so the counts add up.
func TestLimitRoles(t *testing.T) {
	path := netPath(t)
	creator(t, path) // one reader, one writer
	for _, tc := range []struct {
		read, write      bool
		readers, writers int
	}{
		{read: true, readers: 2, writers: 1},
		{write: true, readers: 2, writers: 2},
		{read: true, write: true, readers: 3, writers: 3},
	} {
		n := ipn.NewNode(ipn.Hub)
		t.Cleanup(func() { n.Close() })
		if err := n.LimitRoles(tc.read, tc.write); err != nil {
			t.Fatal(err)
		}
		if err := n.Connect(path); err != nil {
			t.Fatal(err)
		}
		info, _, err := ipn.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if n.CanRead() != tc.read || n.CanWrite() != tc.write || info.Readers != tc.readers || info.Writers != tc.writers {
			t.Errorf("LimitRoles(%v, %v): node reads %v writes %v, network %d readers %d writers; want %d and %d",
				tc.read, tc.write, n.CanRead(), n.CanWrite(), info.Readers, info.Writers, tc.readers, tc.writers)
		}
		if err := n.LimitRoles(true, true); !errors.Is(err, ipn.ErrIsConn) {
			t.Errorf("LimitRoles after Connect = %v, want ErrIsConn", err)
		}
	}
	if err := ipn.NewNode(ipn.Hub).LimitRoles(false, false); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("LimitRoles(false, false) = %v, want EINVAL", err)
	}
}
