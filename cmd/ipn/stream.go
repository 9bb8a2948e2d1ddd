package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ipn-project/ipn"
)

// sendRate is a pace for ipn send: bytes or messages per second.
type sendRate struct {
	perSec float64 // 0: as fast as the network takes them
	msgs   bool    // perSec counts messages, not bytes
}

// parseRate reads a --rate value: a number of bytes per second with an
// optional decimal (k, M, G) or binary (Ki, Mi, Gi) suffix, an optional B
// and an optional /s ("2M", "2MB/s", "512KiB/s"), or a number of messages
// per second ("500msg/s").
func parseRate(s string) (sendRate, error) {
	v := strings.TrimSuffix(strings.TrimSpace(s), "/s")
	var r sendRate
	if t, ok := strings.CutSuffix(v, "msg"); ok {
		v, r.msgs = t, true
	} else {
		v = strings.TrimSuffix(v, "B")
	}
	mult := 1.0
	if !r.msgs {
		for _, u := range []struct {
			suffix string
			m      float64
		}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}} {
			if t, ok := strings.CutSuffix(v, u.suffix); ok {
				v, mult = t, u.m
				break
			}
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 || f*mult > 1e15 {
		return sendRate{}, fmt.Errorf("--rate %q: want bytes per second such as 2M or 512KiB/s, or messages per second such as 500msg/s", s)
	}
	r.perSec = f * mult
	return r, nil
}

// pacer holds a sender to a rate: it sleeps whenever what was sent is
// ahead of what the rate allows by now.
type pacer struct {
	r     sendRate
	start time.Time
	done  float64 // bytes or messages sent
}

func newPacer(r sendRate) *pacer { return &pacer{r: r, start: time.Now()} }

// sent accounts for one message of k bytes, then waits as the rate asks.
func (p *pacer) sent(k int) {
	if p == nil || p.r.perSec == 0 {
		return
	}
	if p.r.msgs {
		p.done++
	} else {
		p.done += float64(k)
	}
	due := p.start.Add(time.Duration(p.done / p.r.perSec * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
}

// printSendStats writes what ipn send --stats reports at the end.
func printSendStats(w io.Writer, n *ipn.Node, took time.Duration) {
	st, err := n.SendStats()
	if err != nil {
		fmt.Fprintf(w, "ipn send: statistics: %v\n", err)
		return
	}
	fmt.Fprintf(w, "sent %d messages, %d bytes in %v; dropped %d (no slot %d); blocked %d times, %v in all\n",
		st.Sent, st.Bytes, took.Round(time.Millisecond), st.Dropped, st.NoSlot, st.Blocked, st.Waited.Round(time.Millisecond))
}

// stalledNotice returns what ipn recv says of an out-of-band notice, or ""
// when it is not the stall notice.
func stalledNotice(b []byte) string {
	if len(b) < 16 || binary.LittleEndian.Uint32(b[4:]) != ipn.OOBStalledTag {
		return ""
	}
	return fmt.Sprintf("ipn recv: sender on port %d waited for this receiver longer than the network's stall timeout: it is lossy from now on (messages it has no room for are dropped)",
		binary.LittleEndian.Uint32(b[8:]))
}
