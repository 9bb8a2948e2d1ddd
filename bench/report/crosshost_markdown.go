package report

import (
	"fmt"
	"strings"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/netpath"
)

// writeCrossHost writes the cross-host comparison (netpath.CrossHostPaths)
// as a part of the network-path section: its paths, tables and targets.
func (res netPage) writeCrossHost(b *strings.Builder) {
	b.WriteString("### Across hosts: a VXLAN cable and the kernel's vxlan devices\n\n")
	fmt.Fprintf(b, "Two namespaces stand in for two hosts, each with a switch of its own, the two switches joined by VXLAN "+
		"over a veth pair, the link between the hosts; measured as above, %s, wall time %v.\n\n",
		harness.Plural(res.Options.Rounds, "round", "rounds"), res.Wall)
	for _, s := range res.Series {
		fmt.Fprintf(b, "- **%s**: %s.\n", s.Path, s.Setup)
	}
	b.WriteString("\nWhat the paths do per frame: the kernel's vxlan device hands TCP's segmentation-offloaded packets " +
		"to the veth pair whole, to be cut on the way; ipn's network here has the default MTU, so its TAP nodes move " +
		"frames of at most 1514 bytes, and its cables send each in a datagram of its own, a batch per sendmmsg and " +
		"recvmmsg, through two processes more on each side (the tap and the cable).\n\n")
	res.writeTables(b)
	subj := res.Series[0].Path
	base := netpath.KernelVXLAN{}.Name()
	for _, t := range []struct {
		metric string
		ok     func(float64) bool
		text   string
	}{
		{netpath.MetricNetBps, func(r float64) bool { return r >= 0.5 }, "at least 0.5× the kernel's throughput"},
		{netpath.MetricNetRTT, func(r float64) bool { return r <= 2 }, "a round trip no worse than 2× the kernel's"},
	} {
		r := res.Ratio(base, t.metric)
		if r == nil || r.N == 0 {
			continue
		}
		verdict := "met"
		if !t.ok(r.Median) {
			verdict = "**not met**"
		}
		fmt.Fprintf(b, "- Target, %s %s: %s (median ratio %s×).\n", subj, t.text, verdict, harness.FmtRatio(r.Median))
	}
	b.WriteString("\n")
}
