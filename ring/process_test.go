package ring_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"ipn/ring"
	"ipn/ring/ringtest"
	"ipn/shm"
)

// Messages carry their sequence number in the first 8 bytes and bytes from
// a generator seeded by (seed, seq) after it, so a receiver regenerates what
// it must see and checks content, not only counts.

func fill(b []byte, seed int64, seq uint64) {
	binary.LittleEndian.PutUint64(b, seq)
	x := uint64(seed)*0x9e3779b97f4a7c15 ^ seq*0xbf58476d1ce4e5b9 | 1
	for i := 8; i < len(b); i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
}

// msgLen varies message lengths between 8 and mtu, from the sequence.
func msgLen(size, mtu int, seq uint64) int {
	if size > 0 {
		return size
	}
	return 8 + int((seq*2654435761)%uint64(mtu-7))
}

var errEnd = errors.New("end of stream")

type sendResult struct{ Sent, Again int }

type recvResult struct {
	Received, Bad, OutOfOrder, Gaps int
	Last                            int64
}

const endMarker = "END!"

func init() {
	ringtest.Register("send", func(p *ring.Port, a ringtest.Args) (any, error) {
		buf := make([]byte, p.MTU())
		res := sendResult{}
		nonblock := a.Extra["nonblock"] == "1"
		for seq := uint64(0); seq < uint64(a.Count); seq++ {
			m := buf[:msgLen(a.Size, p.MTU(), seq)]
			fill(m, a.Seed, seq)
			to := p.Network().Readers() &^ (1 << p.ID())
			for {
				var err error
				if nonblock {
					_, err = p.TrySend(m, to, 0)
				} else {
					_, err = p.Send(m, to, 0, time.Now().Add(time.Minute))
				}
				if errors.Is(err, ring.ErrAgain) {
					res.Again++
					time.Sleep(50 * time.Microsecond)
					continue
				}
				if err != nil {
					return nil, fmt.Errorf("send %d: %w", seq, err)
				}
				break
			}
			res.Sent++
		}
		if err := sendEnd(p); err != nil {
			return nil, err
		}
		return res, nil
	})
	ringtest.Register("recv", func(p *ring.Port, a ringtest.Args) (any, error) {
		late := a.Extra["late"]
		for late != "" { // hold back until the sender has found no room
			st := p.Network().Stats(p.ID())
			if late == "drops" && st.Drops > 0 {
				break
			}
			if late == "blocked" && p.Network().Stats(0).Blocked > 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		return receive(p, a.Seed, a.Extra["view"] == "1", a.Extra["lossless"] == "1")
	})
}

func sendEnd(p *ring.Port) error {
	tx, err := p.Alloc(time.Now().Add(time.Minute))
	if err != nil {
		return fmt.Errorf("end marker: %w", err)
	}
	n := copy(tx.Buf, endMarker)
	_, err = p.SubmitOOB(tx, n, p.Network().Readers()&^(1<<p.ID()))
	return err
}

// receive reads until the out-of-band end marker, then drains what is left.
func receive(p *ring.Port, seed int64, view, lossless bool) (recvResult, error) {
	res := recvResult{Last: -1}
	buf := make([]byte, p.MTU())
	want := make([]byte, p.MTU())
	ended := false
	for {
		var data []byte
		var info ring.Info
		var v ring.View
		var err error
		switch {
		case view && ended:
			v, err = p.TryRecvView()
		case view:
			v, err = p.RecvView(time.Now().Add(time.Minute))
		case ended:
			var k int
			k, info, err = p.TryRecv(buf)
			data = buf[:k]
		default:
			var k int
			k, info, err = p.Recv(buf, time.Now().Add(time.Minute))
			data = buf[:k]
		}
		if view && err == nil {
			data, info = v.Data, v.Info
		}
		if ended && errors.Is(err, ring.ErrAgain) {
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("after %d messages: %w", res.Received, err)
		}
		if info.OOB {
			if string(data) != endMarker {
				res.Bad++
			}
			ended = true
		} else {
			check(&res, data, seed, want, lossless)
		}
		if view {
			p.Release(v)
		}
	}
}

func check(res *recvResult, m []byte, seed int64, want []byte, lossless bool) {
	res.Received++
	if len(m) < 8 {
		res.Bad++
		return
	}
	seq := binary.LittleEndian.Uint64(m)
	w := want[:len(m)]
	fill(w, seed, seq)
	if string(w) != string(m) {
		res.Bad++
	}
	switch {
	case int64(seq) <= res.Last:
		res.OutOfOrder++
	case int64(seq) != res.Last+1:
		res.Gaps++
	}
	res.Last = int64(seq)
}

// checkPoolFull reclaims every port and checks that every slot is free.
func reclaimAll(t *testing.T, n *ringtest.Net, ports int) {
	t.Helper()
	for p := 0; p < ports; p++ {
		n.Reclaim(p, 0)
	}
	if free, all := n.N.FreeSlots(), n.Seg.Geometry.Slots; free != all {
		t.Fatalf("after reclaim: %d of %d slots free", free, all)
	}
}

func TestProcessFanout(t *testing.T) {
	for _, lossless := range []bool{true, false} {
		for _, receivers := range []int{1, 2, 4} {
			name := fmt.Sprintf("lossless=%v/receivers=%d", lossless, receivers)
			t.Run(name, func(t *testing.T) {
				g := shm.Derive(shm.Options{MTU: 1500, Ports: receivers + 1, Pool: 64, Lossless: lossless})
				n := ringtest.NewNet(t, g)
				const count = 20000
				extra := map[string]string{}
				if lossless {
					extra["lossless"] = "1"
				}
				var rs []*ringtest.Member
				for r := 1; r <= receivers; r++ {
					ex := map[string]string{"view": fmt.Sprint(r % 2)}
					for k, v := range extra {
						ex[k] = v
					}
					rs = append(rs, n.Spawn("recv", shm.RoleRead, ringtest.Args{Port: r, Seed: 7, Extra: ex}))
				}
				s := n.Spawn("send", shm.RoleWrite, ringtest.Args{Port: 0, Seed: 7, Count: count})
				var sr sendResult
				s.Wait(t, &sr)
				for i, m := range rs {
					var rr recvResult
					m.Wait(t, &rr)
					if rr.Bad != 0 || rr.OutOfOrder != 0 {
						t.Errorf("receiver %d: %d corrupt, %d out of order", i+1, rr.Bad, rr.OutOfOrder)
					}
					st := n.N.Stats(i + 1)
					if got := uint64(rr.Received) + st.Drops; got != count {
						t.Errorf("receiver %d: received %d + dropped %d = %d, want %d",
							i+1, rr.Received, st.Drops, got, count)
					}
					if lossless && (rr.Received != count || rr.Gaps != 0) {
						t.Errorf("lossless receiver %d: received %d with %d gaps, want %d and none", i+1, rr.Received, rr.Gaps, count)
					}
				}
				reclaimAll(t, n, receivers+1)
			})
		}
	}
}

func TestProcessLossyDrops(t *testing.T) {
	g := shm.Derive(shm.Options{MTU: 256, Ports: 2, Pool: 8})
	n := ringtest.NewNet(t, g)
	r := n.Spawn("recv", shm.RoleRead, ringtest.Args{Port: 1, Seed: 3, Extra: map[string]string{"late": "drops"}})
	s := n.Spawn("send", shm.RoleWrite, ringtest.Args{Port: 0, Seed: 3, Count: 5000})
	var sr sendResult
	var rr recvResult
	s.Wait(t, &sr)
	r.Wait(t, &rr)
	st := n.N.Stats(1)
	if st.Drops == 0 || uint64(rr.Received)+st.Drops != 5000 {
		t.Errorf("received %d + dropped %d, want drops > 0 and a sum of 5000", rr.Received, st.Drops)
	}
	if rr.Bad != 0 || rr.OutOfOrder != 0 {
		t.Errorf("%d corrupt, %d out of order", rr.Bad, rr.OutOfOrder)
	}
	reclaimAll(t, n, 2)
}

func TestProcessLosslessBlocking(t *testing.T) {
	for _, nonblock := range []string{"0", "1"} {
		t.Run("nonblock="+nonblock, func(t *testing.T) {
			g := shm.Derive(shm.Options{MTU: 256, Ports: 3, Pool: 4, Lossless: true})
			n := ringtest.NewNet(t, g)
			var rs []*ringtest.Member
			for p := 1; p <= 2; p++ {
				rs = append(rs, n.Spawn("recv", shm.RoleRead, ringtest.Args{Port: p, Seed: 5,
					Extra: map[string]string{"late": "blocked", "lossless": "1", "view": fmt.Sprint(p - 1)}}))
			}
			s := n.Spawn("send", shm.RoleWrite, ringtest.Args{Port: 0, Seed: 5, Count: 3000,
				Extra: map[string]string{"nonblock": nonblock}})
			var sr sendResult
			s.Wait(t, &sr)
			if nonblock == "1" && sr.Again == 0 {
				t.Errorf("non-blocking sender never got EAGAIN from a full network")
			}
			for i, m := range rs {
				var rr recvResult
				m.Wait(t, &rr)
				if rr.Received != 3000 || rr.Bad+rr.OutOfOrder+rr.Gaps != 0 {
					t.Errorf("receiver %d: %+v, want 3000 messages, all intact and in order", i+1, rr)
				}
			}
			if st := n.N.Stats(0); st.Blocked == 0 {
				t.Errorf("sender never blocked on a full lossless network")
			}
			reclaimAll(t, n, 3)
		})
	}
}

// TestProcessKill kills a receiver or the sender of a long stream at random
// moments: survivors must go on undisturbed, and after reclaim every slot
// must be back in the pool.
func TestProcessKill(t *testing.T) {
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for round := 0; round < rounds; round++ {
		lossless := rng.IntN(3) > 0
		killSender := round%2 == 1
		delay := time.Duration(rng.IntN(40000)) * time.Microsecond
		name := fmt.Sprintf("round=%d/lossless=%v/killSender=%v/after=%v", round, lossless, killSender, delay)
		t.Run(name, func(t *testing.T) {
			g := shm.Derive(shm.Options{MTU: 512, Ports: 4, Pool: 16, Lossless: lossless})
			n := ringtest.NewNet(t, g)
			ex := func(view int) map[string]string {
				m := map[string]string{"view": fmt.Sprint(view)}
				if lossless {
					m["lossless"] = "1"
				}
				return m
			}
			r1 := n.Spawn("recv", shm.RoleRead, ringtest.Args{Port: 1, Seed: 11, Extra: ex(rng.IntN(2))})
			r2 := n.Spawn("recv", shm.RoleRead, ringtest.Args{Port: 2, Seed: 11, Extra: ex(rng.IntN(2))})
			const count = 200000
			s := n.Spawn("send", shm.RoleWrite, ringtest.Args{Port: 0, Seed: 11, Count: count})
			time.Sleep(delay)
			survivors := []*ringtest.Member{r1}
			if killSender {
				s.Kill()
				n.Reclaim(0, 1<<0)
				survivors = append(survivors, r2)
				// The coordinator tells the receivers the stream is over.
				me := n.Open(3, shm.RoleWrite)
				if err := sendEnd(me); err != nil {
					t.Fatal(err)
				}
			} else {
				r2.Kill()
				n.Reclaim(2, 1<<2)
				var sr sendResult
				s.Wait(t, &sr)
			}
			for _, m := range survivors {
				var rr recvResult
				m.Wait(t, &rr)
				if rr.Bad != 0 || rr.OutOfOrder != 0 {
					t.Errorf("port %d: %d corrupt, %d out of order", m.Port, rr.Bad, rr.OutOfOrder)
				}
				if lossless && rr.Gaps != 0 {
					t.Errorf("port %d: %d gaps in a lossless stream", m.Port, rr.Gaps)
				}
				if !killSender && lossless && rr.Received != count {
					t.Errorf("port %d: received %d, want %d", m.Port, rr.Received, count)
				}
			}
			reclaimAll(t, n, 4)
		})
	}
}
