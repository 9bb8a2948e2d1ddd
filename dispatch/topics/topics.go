// Package topics is a dispatch policy of a user's own, written as a worked
// example of the dispatch interface: receivers subscribe to prefixes, and a
// message goes to the ports subscribed to a prefix of it. Media pipelines
// use it to let one producer multiplex streams ("video/", "audio/",
// "meta/") to consumers that each take what they want.
//
// It is policy number 16 (Number). A program that creates or joins topics
// networks imports this package for its side effect of registering it;
// ipnd and the ipn command do.
//
// Subscriptions are the policy option "subscribe" of a port, a
// comma-separated list of prefixes (empty: nothing; "*": everything), set
// by a managing (bound) node:
//
//	n.SetPolicyOption(port, "subscribe", "video/,meta/")
//
// How it is written, as any policy should be: state lives in the network's
// policy area (shared by every sender, in every process), in atomic words
// only; each port's prefixes are guarded by a sequence number that is odd
// while they change, so a sender reading them at the same time sees either
// the old list or the new one, never half of each; and Dispatch neither
// waits nor allocates.
package topics

import (
	"bytes"
	"fmt"
	"math/bits"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/ring"
)

// Number is the policy's number.
const Number = dispatch.FirstUser

// OptSubscribe is the policy option of a port's prefixes.
const OptSubscribe = "subscribe"

// Each port has a record of recordWords words: a sequence number, then the
// prefixes, packed as text "p1\x00p2\x00…" in maxList bytes.
const (
	maxList     = 248
	recordWords = 1 + maxList/8
)

// Policy is the topics policy.
type Policy struct{}

func init() {
	if err := dispatch.Register(Number, Policy{}); err != nil {
		panic(err)
	}
}

// Name implements dispatch.Policy.
func (Policy) Name() string { return "topics" }

// AreaSize implements dispatch.AreaSizer.
func (Policy) AreaSize(int) int { return 64 * recordWords * 8 }

// NewPort implements dispatch.Policy.
func (Policy) NewPort(_ dispatch.Net, want int, free uint64) (int, error) {
	return dispatch.LowestFree(want, free)
}

func record(n dispatch.Net, port int) ([]atomic.Uint64, error) {
	if port < 0 || port >= 64 {
		return nil, fmt.Errorf("topics: port %d: %w", port, syscall.EINVAL)
	}
	return n.Area().Uint64s(port*recordWords*8, recordWords)
}

// readTries bounds readList's retries: a writer that died mid-change must
// not stall senders, who then see no subscription.
const readTries = 1000

// readList copies port's prefixes into buf, consistently: it retries while
// a writer is changing them.
func readList(rec []atomic.Uint64, buf *[maxList]byte) []byte {
	for try := 0; try < readTries; try++ {
		seq := rec[0].Load()
		if seq&1 != 0 {
			continue
		}
		for i := 0; i < maxList/8; i++ {
			w := rec[1+i].Load()
			for j := 0; j < 8; j++ {
				buf[8*i+j] = byte(w >> (8 * j))
			}
		}
		if rec[0].Load() == seq {
			end := bytes.IndexByte(buf[:], 0xff)
			if end < 0 {
				end = 0 // never written: no subscription
			}
			return buf[:end]
		}
	}
	return nil
}

// matches reports whether msg starts with one of the prefixes in list
// ("p1\x00p2\x00…"; "*" matches everything).
func matches(list, msg []byte) bool {
	for len(list) > 0 {
		p := list
		if i := bytes.IndexByte(list, 0); i >= 0 {
			p, list = list[:i], list[i+1:]
		} else {
			list = nil
		}
		if len(p) == 1 && p[0] == '*' || len(p) > 0 && bytes.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// Dispatch implements dispatch.Policy: to every other receiving port
// subscribed to a prefix of the message.
func (Policy) Dispatch(n dispatch.Net, d *ring.Delivery) {
	var to uint64
	var buf [maxList]byte
	msg := d.Data()
	for w := d.Readers() &^ (1 << d.From()); w != 0; w &= w - 1 {
		p := bits.TrailingZeros64(w)
		rec, err := record(n, p)
		if err != nil {
			return
		}
		if matches(readList(rec, &buf), msg) {
			to |= 1 << p
		}
	}
	d.To(to)
}

// SetOption implements dispatch.Optioner.
func (Policy) SetOption(n dispatch.Net, port int, name string, value []byte) error {
	if name != OptSubscribe {
		return fmt.Errorf("topics: no option %q: %w", name, syscall.ENOPROTOOPT)
	}
	var list []byte
	for _, p := range strings.Split(string(value), ",") {
		if p = strings.TrimSpace(p); p != "" {
			list = append(append(list, p...), 0)
		}
	}
	if len(list) >= maxList {
		return fmt.Errorf("topics: %d bytes of prefixes, at most %d: %w", len(list), maxList-1, syscall.EINVAL)
	}
	rec, err := record(n, port)
	if err != nil {
		return err
	}
	var buf [maxList]byte
	for i := range buf {
		buf[i] = 0xff // the end: prefixes hold text, never 0xff
	}
	copy(buf[:], list)
	rec[0].Add(1) // odd: changing
	for i := 0; i < maxList/8; i++ {
		var w uint64
		for j := 0; j < 8; j++ {
			w |= uint64(buf[8*i+j]) << (8 * j)
		}
		rec[1+i].Store(w)
	}
	rec[0].Add(1)
	return nil
}

// Option implements dispatch.Optioner: the port's prefixes.
func (Policy) Option(n dispatch.Net, port int, name string) ([]byte, error) {
	if name != OptSubscribe {
		return nil, fmt.Errorf("topics: no option %q: %w", name, syscall.ENOPROTOOPT)
	}
	rec, err := record(n, port)
	if err != nil {
		return nil, err
	}
	var buf [maxList]byte
	list := bytes.TrimSuffix(readList(rec, &buf), []byte{0})
	return bytes.ReplaceAll(list, []byte{0}, []byte{','}), nil
}
