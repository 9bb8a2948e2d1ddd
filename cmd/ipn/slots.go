package main

import (
	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/netdev"
)

// nodeSlots lends an ipn node's slots to a pump (netdev.SlotPort), so that
// frames go between an interface and shared memory with no copy of the
// pump's own. tx is the slot AllocSlot lent, view the one RecvSlot lent:
// the pump's two directions each have their own.
type nodeSlots struct {
	*ipn.Node
	tx   ipn.Tx
	view ipn.View
}

var _ netdev.SlotPort = (*nodeSlots)(nil)

func (s *nodeSlots) AllocSlot() ([]byte, error) {
	t, err := s.Alloc()
	s.tx = t
	return t.Buf, err
}

func (s *nodeSlots) SubmitSlot(n int) error { return s.Submit(s.tx, n) }

func (s *nodeSlots) AbortSlot() { s.Abort(s.tx) }

func (s *nodeSlots) RecvSlot() ([]byte, error) {
	v, err := s.RecvView()
	s.view = v
	return v.Data, err
}

func (s *nodeSlots) ReleaseSlot() { s.Release(s.view) }
