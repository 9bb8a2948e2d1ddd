package vxlan

import "sync"

// fdb is a group endpoint's table of where Ethernet addresses were heard
// from: the endpoint behind each source address, as the kernel's vxlan
// device and vdeplug4 learn it, so that a frame for a known address goes
// to its endpoint alone instead of to the whole group. Safe for concurrent
// use: the receiving side learns, the sending side looks up.
type fdb struct {
	mu sync.Mutex
	m  map[[6]byte]fdbEntry
}

type fdbEntry struct {
	at   sockaddr
	seen int64 // unix seconds
}

const (
	fdbMax = 4096 // entries; past that, new addresses are not learned until old ones age out
	fdbAge = 300  // seconds an entry lasts unheard, the kernel's default
)

func newFDB() *fdb { return &fdb{m: make(map[[6]byte]fdbEntry)} }

// learn records that src was heard from at, now. Group addresses are not
// learned: no frame comes from one.
func (t *fdb) learn(src [6]byte, at *sockaddr, now int64) {
	if src[0]&1 != 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[src]; ok && e.at == *at && e.seen == now {
		return
	}
	if _, ok := t.m[src]; !ok && len(t.m) >= fdbMax {
		for k, e := range t.m {
			if now-e.seen > fdbAge {
				delete(t.m, k)
			}
		}
		if len(t.m) >= fdbMax {
			return
		}
	}
	t.m[src] = fdbEntry{at: *at, seen: now}
}

// lookup finds the endpoint dst was last heard from, if within the age.
func (t *fdb) lookup(dst [6]byte, now int64) (sockaddr, bool) {
	if dst[0]&1 != 0 {
		return sockaddr{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[dst]
	if !ok || now-e.seen > fdbAge {
		return sockaddr{}, false
	}
	return e.at, true
}
