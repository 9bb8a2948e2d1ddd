package wire

import (
	"errors"
	"reflect"
	"syscall"
	"testing"
)

func TestHandoffRoundTrip(t *testing.T) {
	for _, h := range []Handoff{
		{Segment: 3, Rx: []int{4}, Tx: []int{5}},
		{Segment: 10, Rx: []int{11, 12, 13}, Tx: []int{14, 15, 16}},
	} {
		fds := h.FDs()
		if want := 1 + 2*len(h.Rx); len(fds) != want {
			t.Fatalf("%+v: %d descriptors, want %d", h, len(fds), want)
		}
		if fds[0] != h.Segment {
			t.Errorf("%+v: first descriptor %d, want the segment %d", h, fds[0], h.Segment)
		}
		got, err := HandoffFromFDs(fds)
		if err != nil {
			t.Fatalf("HandoffFromFDs(%v): %v", fds, err)
		}
		if !reflect.DeepEqual(got, h) || got.Ports() != len(h.Rx) {
			t.Errorf("round trip: got %+v, want %+v", got, h)
		}
	}
}

func TestHandoffRefuses(t *testing.T) {
	for _, fds := range [][]int{nil, {3}, {3, 4}, {3, 4, 5, 6}} {
		if _, err := HandoffFromFDs(fds); !errors.Is(err, ErrProtocol) || !errors.Is(err, syscall.EPROTO) {
			t.Errorf("HandoffFromFDs(%v): %v, want ErrProtocol (EPROTO)", fds, err)
		}
	}
}
