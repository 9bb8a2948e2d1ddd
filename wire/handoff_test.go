package wire

import (
	"errors"
	"syscall"
	"testing"

	"github.com/ipn-project/ipn/ring"
)

func TestHandoffCounts(t *testing.T) {
	g := &ring.Handover{Self: 1, Policy: true, Ports: []ring.Grant{
		{Port: 0, Has: ring.HasTx | ring.HasTxEvt},
		{Port: 1, Has: ring.HasTx | ring.HasRx | ring.HasRxEvt | ring.HasTxEvt},
	}}
	if _, err := HandoffFrom(g, []int{3, 4, 5, 6, 7, 8, 9, 10}); err != nil {
		t.Errorf("matching count: %v", err)
	}
	for _, fds := range [][]int{nil, {3}, {3, 4, 5, 6, 7, 8, 9}, {3, 4, 5, 6, 7, 8, 9, 10, 11}} {
		if _, err := HandoffFrom(g, fds); !errors.Is(err, ErrProtocol) || !errors.Is(err, syscall.EPROTO) {
			t.Errorf("HandoffFrom with %d descriptors: %v, want ErrProtocol (EPROTO)", len(fds), err)
		}
	}
	if _, err := HandoffFrom(nil, []int{3}); !errors.Is(err, ErrProtocol) {
		t.Errorf("no description: %v, want ErrProtocol", err)
	}
}
