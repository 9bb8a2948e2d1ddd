package probe

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/ipn-project/ipn/internal/netns"
)

// PingResult is what one ping run saw.
type PingResult struct {
	Sent, Received int
	// RTTs are the round trips of the replies, in the order they came.
	RTTs []time.Duration
	// Output is ping's own output, for messages.
	Output string
}

// Lost reports whether any request went unanswered.
func (r PingResult) Lost() bool { return r.Sent == 0 || r.Received < r.Sent }

// Median is the median round trip (0 with no reply).
func (r PingResult) Median() time.Duration {
	if len(r.RTTs) == 0 {
		return 0
	}
	s := slices.Clone(r.RTTs)
	slices.Sort(s)
	return s[len(s)/2]
}

var (
	pingRTT    = regexp.MustCompile(`time=([0-9.]+) ms`)
	pingCounts = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)
)

// Ping sends count echo requests from ns to addr, interval apart (below
// 200 ms needs root), waiting up to 5 s for each reply. The error is
// ping's own (non-zero exit: no reply at all, or a bad address) only when
// its output has no summary to read.
func Ping(ns *netns.NS, addr string, count int, interval time.Duration) (PingResult, error) {
	out, runErr := ns.Output("ping", "-c", strconv.Itoa(count), "-i", fmt.Sprintf("%.3f", interval.Seconds()), "-W", "5", addr)
	r := PingResult{Output: string(out)}
	m := pingCounts.FindStringSubmatch(r.Output)
	if m == nil {
		return r, fmt.Errorf("ping %s from %s: %v\n%s", addr, ns, runErr, out)
	}
	r.Sent, _ = strconv.Atoi(m[1])
	r.Received, _ = strconv.Atoi(m[2])
	for _, m := range pingRTT.FindAllStringSubmatch(r.Output, -1) {
		ms, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return r, fmt.Errorf("ping %s: reply time %q: %w", addr, m[1], err)
		}
		r.RTTs = append(r.RTTs, time.Duration(ms*float64(time.Millisecond)))
	}
	return r, nil
}
