package netpath

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ipn-project/ipn/internal/netns"
	"github.com/ipn-project/ipn/internal/probe"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/matrix"
)

// NetPathOptions says how RunNetPaths measures.
type NetPathOptions struct {
	Rounds   int           // rounds of every path (default 3)
	Duration time.Duration // length of each iperf3 test (default 2 s)
	Pings    int           // echo requests per round, 10 ms apart (default 100)
	Progress io.Writer     // a line per run, if not nil
}

func (o NetPathOptions) withDefaults() NetPathOptions {
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Duration <= 0 {
		o.Duration = 2 * time.Second
	}
	if o.Pings <= 0 {
		o.Pings = 100
	}
	return o
}

// NetRun is one round of one path: an iperf3 TCP test, then pings.
type NetRun struct {
	Bps         float64       `json:"bps"` // iperf3 receiver's bits per second
	Retransmits int           `json:"retransmits"`
	RTT         time.Duration `json:"rtt_ns"` // median round trip of the round's pings
}

// NetSeries is every round of one path and their medians.
type NetSeries struct {
	Path  string       `json:"path"`
	Setup string       `json:"setup"` // NetPath.Describe
	Runs  []NetRun     `json:"runs"`
	Bps   harness.Stat `json:"bps"`
	RTT   harness.Stat `json:"rtt_ns"`
}

// NetResults is what RunNetPaths measured. Series[0] is the subject; the
// ratios compare it with each other path round by round.
type NetResults struct {
	Machine harness.Machine `json:"machine"`
	Options NetPathOptions  `json:"options"`
	Steal   float64         `json:"steal"`
	Wall    time.Duration   `json:"wall_ns"`
	Series  []*NetSeries    `json:"series"`
	Ratios  []harness.Ratio `json:"ratios"`
	// CrossHost, when measured, is the cross-host comparison
	// (CrossHostPaths), a run of its own with its own subject.
	CrossHost *NetResults `json:"cross_host,omitempty"`
}

// Ratio metrics of the network-path benchmark.
const (
	MetricNetBps = "throughput"
	MetricNetRTT = "rtt"
)

// joined is a path set up between its two namespaces.
type joined struct {
	path NetPath
	a, b *netns.NS
}

// RunNetPaths sets every path up between two namespaces of its own, then
// runs Rounds rounds, each measuring every path in turn (the order rotates
// from round to round): an iperf3 TCP test from the first namespace to the
// second, then pings. Each path first carries a short warm-up whose figures
// are discarded. A run that fails (iperf3 error, nothing received, a ping
// lost) stops it. It needs root, iperf3 and ping; the paths may need more.
func RunNetPaths(ctx context.Context, paths []NetPath, o NetPathOptions) (*NetResults, error) {
	o = o.withDefaults()
	res := &NetResults{Machine: harness.DescribeMachine(), Options: o}
	start := time.Now()
	cpu0, _ := harness.ReadCPUStat()
	host, err := netns.Host()
	if err != nil {
		return nil, err
	}
	defer host.Close()
	var u undo
	defer func() { u.run() }() // not defer u.run(): that would take u as it is now, empty
	var js []joined
	tag := fmt.Sprintf("ipb%d", os.Getpid()%10000)
	for i, p := range paths {
		j := joined{path: p}
		for k, ns := range []**netns.NS{&j.a, &j.b} {
			if *ns, err = netns.New(fmt.Sprintf("%sp%d%c", tag, i, 'a'+k)); err != nil {
				return nil, err
			}
			u.add(func() { (*ns).Close() })
		}
		addrs := [2]string{fmt.Sprintf("10.%d.0.1/24", 230+i), fmt.Sprintf("10.%d.0.2/24", 230+i)}
		cleanup, err := p.Join(host, j.a, j.b, fmt.Sprintf("%sp%d", tag, i), addrs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name(), err)
		}
		u.add(cleanup)
		js = append(js, j)
		res.Series = append(res.Series, &NetSeries{Path: p.Name(), Setup: p.Describe()})
	}
	for i, j := range js { // warm-up: ARP, learning, TCP slow start paths
		if _, err := netRun(j, netAddr(i), NetPathOptions{Duration: time.Second, Pings: 10}); err != nil {
			return nil, fmt.Errorf("%s (warm-up): %w", j.path.Name(), err)
		}
	}
	for r := range o.Rounds {
		for _, i := range matrix.Rotation(len(js), r) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			run, err := netRun(js[i], netAddr(i), o)
			if err != nil {
				return nil, fmt.Errorf("%s, round %d: %w", js[i].path.Name(), r+1, err)
			}
			matrix.Progress(o.Progress, "round %d %-12s %8.0f Mbit/s %5d retransmits, ping p50 %v", r+1, js[i].path.Name(), run.Bps/1e6, run.Retransmits, run.RTT)
			res.Series[i].Runs = append(res.Series[i].Runs, run)
		}
	}
	if cpu1, err := harness.ReadCPUStat(); err == nil {
		res.Steal = cpu1.StealSince(cpu0)
	}
	res.Wall = time.Since(start).Round(time.Second)
	res.summarize()
	return res, nil
}

// netAddr is the address of path i's second namespace, which the first
// sends to.
func netAddr(i int) string { return fmt.Sprintf("10.%d.0.2", 230+i) }

// netRun measures one round of one path: iperf3 from a to b, then pings.
func netRun(j joined, addr string, o NetPathOptions) (NetRun, error) {
	srv, err := probe.StartIperfServer(j.b)
	if err != nil {
		return NetRun{}, err
	}
	defer srv.Close()
	ip, err := probe.Iperf(j.a, addr, o.Duration)
	if err != nil {
		return NetRun{}, err
	}
	if ip.ReceivedBytes <= 0 {
		return NetRun{}, fmt.Errorf("iperf3: the server received nothing")
	}
	pg, err := probe.Ping(j.a, addr, o.Pings, 10*time.Millisecond)
	if err != nil {
		return NetRun{}, err
	}
	if pg.Lost() {
		return NetRun{}, fmt.Errorf("ping: %d of %d answered\n%s", pg.Received, pg.Sent, pg.Output)
	}
	return NetRun{Bps: ip.ReceivedBps, Retransmits: ip.Retransmits, RTT: pg.Median()}, nil
}

func (res *NetResults) summarize() {
	bps := func(r NetRun) float64 { return r.Bps }
	rtt := func(r NetRun) float64 { return float64(r.RTT) }
	for _, s := range res.Series {
		s.Bps, s.RTT = harness.StatOf(harness.MetricOf(s.Runs, bps)), harness.StatOf(harness.MetricOf(s.Runs, rtt))
	}
	subj := res.Series[0]
	for _, base := range res.Series[1:] {
		cmp := harness.Comparison{Subject: subj.Path, Baseline: base.Path}
		res.Ratios = append(res.Ratios,
			harness.RatioOf(cmp, MetricNetBps, harness.MetricOf(subj.Runs, bps), harness.MetricOf(base.Runs, bps)),
			harness.RatioOf(cmp, MetricNetRTT, harness.MetricOf(subj.Runs, rtt), harness.MetricOf(base.Runs, rtt)))
	}
}

// Ratio returns the ratio of the subject to baseline on metric, or nil.
func (res *NetResults) Ratio(baseline, metric string) *harness.Ratio {
	for i := range res.Ratios {
		if r := &res.Ratios[i]; r.Baseline == baseline && r.Metric == metric {
			return r
		}
	}
	return nil
}
