package ring_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ipn-project/ipn/internal/stream"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/ring/ringtest"
	"github.com/ipn-project/ipn/shm"
)

type sendResult = stream.SendStats

type recvResult = stream.Result

func init() {
	ringtest.Register("send", func(p *ring.Port, a ringtest.Args) (any, error) {
		return stream.Send(p, stream.SendOptions{Seed: a.Seed, Count: a.Count, Size: a.Size,
			NonBlock: a.Extra["nonblock"] == "1"})
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
		return stream.Receive(p, a.Seed, a.Extra["view"] == "1")
	})
}

// reclaimAll reclaims every port and checks that every slot is free.
func reclaimAll(t *testing.T, n *ringtest.Net, ports int) {
	t.Helper()
	for p := 0; p < ports; p++ {
		n.Reclaim(p, 0)
	}
	if left := n.Unread(); left != 0 {
		t.Fatalf("after reclaim: %d messages still unread or held", left)
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
				if err := stream.SendEnd(me); err != nil {
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

// TestProcessManySenders has three sender processes share one receiver's
// ring: each sender's messages must arrive complete, intact and in order.
func TestProcessManySenders(t *testing.T) {
	for _, lossless := range []bool{true, false} {
		t.Run(fmt.Sprintf("lossless=%v", lossless), func(t *testing.T) {
			g := shm.Derive(shm.Options{MTU: 300, Ports: 4, Pool: 32, Lossless: lossless})
			n := ringtest.NewNet(t, g)
			r := n.Spawn("recv-many", shm.RoleRead, ringtest.Args{Port: 0, Count: 3})
			var ss []*ringtest.Member
			for p := 1; p <= 3; p++ {
				ss = append(ss, n.Spawn("send", shm.RoleWrite, ringtest.Args{Port: p, Seed: int64(p), Count: 20000}))
			}
			for _, s := range ss {
				s.Wait(t, nil)
			}
			var got map[int]recvResult
			r.Wait(t, &got)
			drops := n.N.Stats(0).Drops
			total := 0
			for p := 1; p <= 3; p++ {
				res := got[p]
				total += res.Received
				if res.Bad != 0 || res.OutOfOrder != 0 {
					t.Errorf("from port %d: %d corrupt, %d out of order", p, res.Bad, res.OutOfOrder)
				}
				if lossless && (res.Received != 20000 || res.Gaps != 0) {
					t.Errorf("from port %d: received %d with %d gaps, want 20000 and none", p, res.Received, res.Gaps)
				}
			}
			if uint64(total)+drops != 60000 {
				t.Errorf("received %d + dropped %d, want 60000", total, drops)
			}
			reclaimAll(t, n, 4)
		})
	}
}

func init() {
	// recv-many checks one stream per origin port and stops after a.Count
	// end markers.
	ringtest.Register("recv-many", func(p *ring.Port, a ringtest.Args) (any, error) {
		checkers := map[int]*stream.Checker{}
		buf := make([]byte, p.MTU())
		ends := 0
		for ends < a.Count {
			k, info, err := p.Recv(buf, time.Now().Add(time.Minute))
			if err != nil {
				return nil, err
			}
			if info.OOB {
				ends++
				continue
			}
			c := checkers[info.Origin]
			if c == nil {
				c = stream.NewChecker(int64(info.Origin), p.MTU())
				checkers[info.Origin] = c
			}
			c.Check(buf[:k])
		}
		for { // the end markers overtake data still queued
			k, info, err := p.TryRecv(buf)
			if err != nil {
				break
			}
			if c := checkers[info.Origin]; c != nil && !info.OOB {
				c.Check(buf[:k])
			}
		}
		res := map[int]recvResult{}
		for o, c := range checkers {
			res[o] = c.Result()
		}
		return res, nil
	})
}
