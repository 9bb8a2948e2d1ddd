package ipn_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipn-project/ipn"
)

// Members killed with SIGKILL at random moments under traffic, on a
// lossless network where a member that dies holding slots would stall
// everyone else if the coordinator did not reclaim them (DESIGN invariant 2).

const (
	killEndSeq   = ^uint32(0) // the sender's last message says the stream ended
	killProgress = 500        // receivers print "at N" every this many messages
	killPool     = 8
)

// killSize is the size of message seq: 8 to 507 bytes.
func killSize(seq uint32) int { return 8 + int(seq%500) }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func init() {
	// kill-recv receives the stream in order, checking every byte, until the
	// end message ("done N") or until nothing comes for IPN_KILL_IDLE_MS
	// ("timeout after N"), then closes its node ("closed").
	roles["kill-recv"] = func(path string) error {
		idle := time.Duration(envInt("IPN_KILL_IDLE_MS", 10000)) * time.Millisecond
		n := ipn.NewNode(ipn.Hub)
		if err := n.Connect(path); err != nil {
			return err
		}
		if err := n.Shutdown(syscall.SHUT_WR); err != nil {
			return err
		}
		fmt.Println("connected")
		buf := make([]byte, 2048)
		var next uint32
		for {
			// The idle limit counts from the first message: before it, the
			// sender may still be starting on a loaded machine.
			wait := idle
			if next == 0 {
				wait = max(idle, 30*time.Second)
			}
			n.SetReadDeadline(time.Now().Add(wait))
			k, err := n.Recv(buf)
			if errors.Is(err, ipn.ErrTimeout) {
				fmt.Printf("timeout after %d\n", next)
				break
			}
			if err != nil {
				return fmt.Errorf("after %d messages: %w", next, err)
			}
			seq, err := checkPayload(buf[:k])
			if err != nil {
				return fmt.Errorf("after %d messages: %w", next, err)
			}
			if seq == killEndSeq {
				fmt.Printf("done %d\n", next)
				break
			}
			if seq != next || k != killSize(seq) {
				return fmt.Errorf("got message %d of %d bytes, want %d of %d", seq, k, next, killSize(next))
			}
			if next++; next%killProgress == 0 {
				fmt.Printf("at %d\n", next)
			}
		}
		if err := n.Close(); err != nil {
			return err
		}
		fmt.Println("closed")
		return nil
	}
	// kill-send sends IPN_KILL_COUNT messages, then the end message. A send
	// that waits more than ten seconds for a slot fails: slots leaked.
	roles["kill-send"] = func(path string) error {
		count := envInt("IPN_KILL_COUNT", 1000)
		n := ipn.NewNode(ipn.Hub)
		defer n.Close()
		if err := n.Connect(path); err != nil {
			return err
		}
		if err := n.Shutdown(syscall.SHUT_RD); err != nil {
			return err
		}
		fmt.Println("connected")
		buf := make([]byte, killSize(499))
		for seq := uint32(0); seq < uint32(count); seq++ {
			b := buf[:killSize(seq)]
			fillPayload(b, seq)
			n.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := n.Send(b); err != nil {
				return fmt.Errorf("message %d: %w", seq, err)
			}
		}
		n.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := n.Send(payload(killEndSeq, 8)); err != nil {
			return fmt.Errorf("end message: %w", err)
		}
		fmt.Println("sent")
		return nil
	}
}

// killRand returns a generator seeded from IPN_KILL_SEED, or at random;
// the seed is logged so a failure can be replayed.
func killRand(t *testing.T) *rand.Rand {
	seed := uint64(envInt("IPN_KILL_SEED", int(rand.Uint32())))
	t.Logf("IPN_KILL_SEED=%d", seed)
	return rand.New(rand.NewPCG(seed, 0))
}

// killNet creates a lossless network and starts k receivers on it; the
// network then lives by its members alone.
func killNet(t *testing.T, k, idleMS int) (string, []*member) {
	t.Helper()
	path := confPath(t)
	creator := ipn.NewNode(ipn.Hub)
	must(t, errors.Join(creator.SetLossless(true), creator.SetPoolSize(killPool)))
	create(t, creator, path)
	var rs []*member
	for i := 0; i < k; i++ {
		rs = append(rs, launch(t, "kill-recv", path, launchOpts{env: []string{"IPN_KILL_IDLE_MS=" + strconv.Itoa(idleMS)}}))
	}
	for _, r := range rs {
		r.waitLine(t, "connected")
	}
	creator.Close()
	return path, rs
}

// waitProgress waits until receiver m has had n messages.
func waitProgress(t *testing.T, m *member, n int) {
	t.Helper()
	want := fmt.Sprintf("at %d\n", n)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		out := m.out.String()
		if strings.Contains(out, want) {
			return
		}
		if strings.Contains(out, "timeout after") {
			t.Fatalf("the stream stalled for 10s before receiver reached message %d: %q\n"+
				"(slots held by killed members were never reclaimed: see the coordinator's reclaim errors above)", n, tail(out))
		}
		if m.cmd.ProcessState != nil {
			break
		}
	}
	t.Fatalf("receiver never reached message %d: stdout %q stderr %q", n, tail(m.out.String()), m.err.String())
}

// killed waits for a member killed with SIGKILL.
func killed(t *testing.T, m *member) {
	t.Helper()
	err := m.cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("killed member: %v, want death by SIGKILL; stderr %q", err, m.err.String())
	}
}

// waitExit waits for a member to exit by itself, within d.
func waitExit(t *testing.T, m *member, what string, d time.Duration) string {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- m.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			hint := ""
			if strings.Contains(m.err.String(), "deadline passed while waiting") {
				hint = "\n(a send waited 10s for a slot: slots held by killed members were never reclaimed)"
			}
			t.Fatalf("%s: %v\nstdout tail %q\nstderr %q%s", what, err, tail(m.out.String()), m.err.String(), hint)
		}
	case <-time.After(d):
		m.cmd.Process.Kill()
		<-done
		t.Fatalf("%s still running after %v: stuck\nstdout tail %q\nstderr %q", what, d, tail(m.out.String()), m.err.String())
	}
	return m.out.String()
}

func tail(s string) string {
	if len(s) > 200 {
		return "…" + s[len(s)-200:]
	}
	return s
}

// TestKillReceiversUnderTraffic: one sender streams numbered messages to
// several receivers over a lossless network; some receivers are killed
// mid-stream. The survivors get everything, in order and intact, and the
// network ends cleanly once all have left.
func TestKillReceiversUnderTraffic(t *testing.T) {
	const receivers, victims, count = 6, 4, 6000
	rng := killRand(t)
	for round := 0; round < 3; round++ {
		t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) {
			path, rs := killNet(t, receivers, 10000)
			sender := launch(t, "kill-send", path, launchOpts{env: []string{"IPN_KILL_COUNT=" + strconv.Itoa(count)}})
			// Victims die at random points of their stream: in the first
			// round each alone, in the others two by two, at once.
			order := rng.Perm(receivers)[:victims]
			at := make([]int, victims)
			for i := range at {
				at[i] = killProgress * (1 + rng.IntN(count/killProgress-2))
				if round > 0 && i%2 == 1 {
					at[i] = at[i-1]
				}
			}
			idx := []int{0, 1, 2, 3}
			slices.SortStableFunc(idx, func(a, b int) int { return at[a] - at[b] })
			for j, i := range idx {
				v := rs[order[i]]
				if round > 0 && j > 0 && at[i] == at[idx[j-1]] {
					// Together with the one before, wherever it is.
					v.cmd.Process.Kill()
					t.Logf("killed receiver %d with it", order[i])
					continue
				}
				waitProgress(t, v, at[i])
				time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
				v.cmd.Process.Kill()
				t.Logf("killed receiver %d at message %d", order[i], at[i])
			}
			start := time.Now()
			if out := waitExit(t, sender, "sender", 20*time.Second); !strings.Contains(out, "sent") {
				t.Errorf("sender did not finish: %q", out)
			}
			for i, r := range rs {
				if slices.Contains(order, i) {
					killed(t, r)
					continue
				}
				out := waitExit(t, r, fmt.Sprintf("receiver %d", i), 20*time.Second)
				if !strings.Contains(out, fmt.Sprintf("done %d\n", count)) || !strings.Contains(out, "closed") {
					t.Errorf("receiver %d: %q, want done %d", i, tail(out), count)
				}
			}
			t.Logf("stream finished %v after the last kill", time.Since(start).Round(time.Millisecond))
			waitGone(t, path)
			waitUnlisted(t, path)
		})
	}
}

// TestKillSenderMidStream: the sender dies mid-stream. Receivers are not
// left waiting forever: a receive with a deadline times out, everything
// the sender had sent is delivered in order, and they close and leave.
func TestKillSenderMidStream(t *testing.T) {
	const receivers = 3
	rng := killRand(t)
	path, rs := killNet(t, receivers, 1000)
	sender := launch(t, "kill-send", path, launchOpts{env: []string{"IPN_KILL_COUNT=100000000"}})
	at := killProgress * (2 + rng.IntN(8))
	rs[0].waitLine(t, fmt.Sprintf("at %d\n", at))
	time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
	sender.cmd.Process.Kill()
	killed(t, sender)
	var got []int
	for i, r := range rs {
		out := waitExit(t, r, fmt.Sprintf("receiver %d", i), 10*time.Second)
		k := strings.Index(out, "timeout after ")
		if k < 0 || !strings.Contains(out, "closed") {
			t.Errorf("receiver %d: %q, want a timeout and a close", i, tail(out))
			continue
		}
		var n int
		fmt.Sscanf(out[k:], "timeout after %d", &n)
		got = append(got, n)
	}
	t.Logf("sender killed after receiver 0 had %d messages; receivers got %v", at, got)
	for i, n := range got {
		if n < at-killPool {
			t.Errorf("receiver %d got %d messages; the sender had sent at least %d", i, n, at)
		}
	}
	if len(got) == receivers && slices.Max(got)-slices.Min(got) > 1 {
		t.Errorf("receivers got %v messages: all that was queued to them should have arrived", got)
	}
	waitGone(t, path)
	waitUnlisted(t, path)
}
