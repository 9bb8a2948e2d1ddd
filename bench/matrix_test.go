package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipn-project/ipn/bench/report"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/matrix"
	"github.com/ipn-project/ipn/bench/transport"
)

func TestStatOf(t *testing.T) {
	tests := []struct {
		xs   []float64
		want harness.Stat
	}{
		{nil, harness.Stat{}},
		{[]float64{7}, harness.Stat{Median: 7, Min: 7, Max: 7, N: 1}},
		{[]float64{3, 1, 2}, harness.Stat{Median: 2, Min: 1, Max: 3, N: 3}},
		{[]float64{4, 1, 3, 2}, harness.Stat{Median: 2.5, Min: 1, Max: 4, N: 4}},
		{[]float64{5, 100, 1, 2, 3}, harness.Stat{Median: 3, Min: 1, Max: 100, N: 5}},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.xs)
		if got := harness.StatOf(tt.xs); got != tt.want {
			t.Errorf("statOf(%v) = %+v, want %+v", in, got, tt.want)
		}
		if !slices.Equal(tt.xs, in) {
			t.Errorf("statOf changed its input to %v, want %v", tt.xs, in)
		}
	}
}

func TestRatios(t *testing.T) {
	got := harness.Ratios([]float64{2, 3, 4, 5}, []float64{1, 0, 8})
	if want := []float64{2, 0.5}; !slices.Equal(got, want) {
		t.Errorf("ratios = %v, want %v (round with a zero baseline and unmatched round left out)", got, want)
	}
}

func TestRotation(t *testing.T) {
	const n = 4
	first := map[int]int{}
	for r := range n {
		order := matrix.Rotation(n, r)
		sorted := slices.Sorted(slices.Values(order))
		if !slices.Equal(sorted, []int{0, 1, 2, 3}) {
			t.Errorf("rotation(%d, %d) = %v, want a permutation of 0…%d", n, r, order, n-1)
		}
		first[order[0]]++
	}
	for i := range n {
		if first[i] != 1 {
			t.Errorf("contender %d ran first in %d of %d rounds, want 1", i, first[i], n)
		}
	}
}

func TestDefaultMessages(t *testing.T) {
	tests := []struct{ payload, want int }{
		{64, 200_000},
		{1500, 64 << 20 / 1500},
		{65536, 1024},
	}
	for _, tt := range tests {
		if got := matrix.DefaultMessages(tt.payload); got != tt.want {
			t.Errorf("defaultMessages(%d) = %d, want %d", tt.payload, got, tt.want)
		}
		if got := matrix.DefaultMessages(tt.payload) * tt.payload; got > 100<<20 {
			t.Errorf("defaultMessages(%d) sends %d bytes per run, want at most 100 MiB", tt.payload, got)
		}
	}
}

// syntheticMatrix is a matrix of three rounds, as RunMatrix would leave it
// before summarize, with figures chosen so that the median of the per-round
// ratios (1) differs from the ratio of the medians (200/300).
func syntheticMatrix() *matrix.Matrix {
	fan := func(name string, msgs ...float64) matrix.FanoutSeries {
		s := matrix.FanoutSeries{Transport: name}
		for r, x := range msgs {
			s.Runs = append(s.Runs, matrix.FanoutRun{Round: r, MsgsPerSec: x, BytesPerSec: 2 * x * 1500, SenderCPU: 1000, ReceiverCPU: 500})
		}
		return s
	}
	ping := func(name string, payload int, p50 ...time.Duration) matrix.PingSeries {
		s := matrix.PingSeries{Pair: name, Payload: payload}
		for r, d := range p50 {
			s.Runs = append(s.Runs, matrix.PingRun{Round: r, P50: d, P99: 2 * d, P999: 4 * d, PingerCPU: d / 2})
		}
		return s
	}
	return &matrix.Matrix{
		Machine: harness.Machine{CPU: "Test CPU @ 1 GHz", CPUs: 2, Kernel: "6.1.0", Arch: "x86_64", GoVersion: "go1.26", GOMAXPROCS: 2,
			Date: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
		Settings: matrix.MatrixSettings{
			Rounds: 3, Transports: []string{"seqpacket", "ipn"}, Pairs: []string{"eventfd", "ipn"},
			PingPayload: 64, PingCount: 100, PingWarmup: 10,
			RingSlots: []matrix.RingSlots{{Payload: 1500, Slots: 1024}}, IPNPool: "as many slots as the bare ring",
			Fanout: matrix.DefaultFanoutRatios, Ping: matrix.DefaultPingRatios,
		},
		Fanout: []matrix.FanoutCell{{
			Receivers: 2, Payload: 1500, Messages: 1000,
			Series: []matrix.FanoutSeries{fan("seqpacket", 50e3, 300e3, 400e3), fan("ipn", 100e3, 300e3, 200e3)},
		}},
		PingPong: matrix.PingTable{Series: []matrix.PingSeries{
			ping("eventfd", 8, 10*time.Microsecond, 20*time.Microsecond, 40*time.Microsecond),
			ping("ipn", 64, 5*time.Microsecond, 30*time.Microsecond, 30*time.Microsecond),
		}},
		Wall:  90 * time.Second,
		Steal: 0.012,
	}
}

func TestMatrixSummarize(t *testing.T) {
	m := syntheticMatrix()
	m.Summarize()
	c := &m.Fanout[0]
	if got, want := c.SeriesOf("ipn").MsgsPerSec, (harness.Stat{Median: 200e3, Min: 100e3, Max: 300e3, N: 3}); got != want {
		t.Errorf("ipn msgs/s = %+v, want %+v", got, want)
	}
	if got, want := c.SeriesOf("seqpacket").BytesPerSec.Median, 2*300e3*1500.0; got != want {
		t.Errorf("seqpacket bytes/s median = %v, want %v", got, want)
	}
	// Only ipn ÷ seqpacket has both sides in the cell.
	if len(c.Ratios) != 1 {
		t.Fatalf("got %d fan-out ratios (%+v), want 1", len(c.Ratios), c.Ratios)
	}
	r := harness.FindRatio(c.Ratios, harness.Comparison{Subject: "ipn", Baseline: "seqpacket"}, harness.MetricMsgs)
	if r == nil {
		t.Fatal("no ipn ÷ seqpacket ratio")
	}
	if !slices.Equal(r.PerRound, []float64{2, 1, 0.5}) {
		t.Errorf("ipn ÷ seqpacket per round = %v, want [2 1 0.5]", r.PerRound)
	}
	if want := (harness.Stat{Median: 1, Min: 0.5, Max: 2, N: 3}); r.Stat != want {
		t.Errorf("ipn ÷ seqpacket = %+v, want %+v (median of per-round ratios, not ratio of medians)", r.Stat, want)
	}

	pt := &m.PingPong
	if got, want := pt.SeriesOf("eventfd").P99.Median, float64(40*time.Microsecond); got != want {
		t.Errorf("eventfd p99 median = %v, want %v", got, want)
	}
	// ipn ÷ eventfd per round: 0.5, 1.5, 0.75.
	r = harness.FindRatio(pt.Ratios, harness.Comparison{Subject: "ipn", Baseline: "eventfd"}, harness.MetricP50)
	if r == nil {
		t.Fatalf("no ipn ÷ eventfd p50 ratio in %+v", pt.Ratios)
	}
	if want := (harness.Stat{Median: 0.75, Min: 0.5, Max: 1.5, N: 3}); r.Stat != want {
		t.Errorf("ipn ÷ eventfd p50 = %+v, want %+v", r.Stat, want)
	}
	if got := len(pt.Ratios); got != 3 {
		t.Errorf("got %d ping ratios, want 3 (ipn ÷ eventfd at three percentiles)", got)
	}
}

func TestMatrixMarkdown(t *testing.T) {
	m := syntheticMatrix()
	m.Summarize()
	var b bytes.Buffer
	if err := report.Markdown(&b, m); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"Medians of 3 rounds",
		"median of those 3 ratios",
		"steal time (1.2% of CPU time",
		"More processes than CPUs",
		"| CPU | Test CPU @ 1 GHz |",
		"| CPUs | 2 (GOMAXPROCS 2) |",
		"| Kernel | 6.1.0 x86_64 |",
		"| Date | 2025-01-02 03:04 UTC |",
		"1500 B × 1000",
		"message pool of as many slots as the bare ring (1500 B: 1024)",
		"| receivers | payload | seqpacket | ipn | ipn ÷ seqpacket |",
		"| 2 | 1500 B | 300 k (50.0–400) | 200 k (100–300) | 1.00× (0.50–2.00) |",
		"| 2 | 1500 B | 900 | 600 |", // MB/s
		"| 2 | 1500 B | 1.00 µs / 500 ns | 1.00 µs / 500 ns |",
		"| eventfd | 8 B | 20.0 µs (10.0–40.0) | 40.0 µs (20.0–80.0) | 80.0 µs (40.0–160) | 10.0 µs |",
		"| ipn ÷ eventfd | 0.75× (0.50–1.50) | 0.75× (0.50–1.50) | 0.75× (0.50–1.50) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q; got:\n%s", want, md)
		}
	}
	for _, bad := range []string{"Quick run", "ipn ÷ dgram", "ipn-sleep ÷", "NaN", "Inf"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown has %q; got:\n%s", bad, md)
		}
	}

	m.Settings.Quick, m.Settings.Rounds = true, 1
	b.Reset()
	if err := report.Markdown(&b, m); err != nil {
		t.Fatal(err)
	}
	if md := b.String(); !strings.Contains(md, "Quick run") || !strings.Contains(md, "Medians of 1 round.") {
		t.Errorf("quick markdown lacks its warning or says rounds wrongly; got:\n%s", md)
	}
}

func TestMatrixJSON(t *testing.T) {
	m := syntheticMatrix()
	m.Summarize()
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got matrix.Matrix
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	r := harness.FindRatio(got.Fanout[0].Ratios, harness.Comparison{Subject: "ipn", Baseline: "seqpacket"}, harness.MetricMsgs)
	if r == nil || r.Median != 1 {
		t.Errorf("ipn ÷ seqpacket after a JSON round trip = %+v, want median 1", r)
	}
	if got.Machine.CPU != m.Machine.CPU || got.PingPong.Series[1].Runs[2].P50 != 30*time.Microsecond {
		t.Errorf("JSON round trip lost figures: %s", js)
	}
	for _, key := range []string{`"msgs_per_sec_per_receiver"`, `"per_round"`, `"p999_ns"`, `"machine"`} {
		if !bytes.Contains(js, []byte(key)) {
			t.Errorf("JSON lacks %s: %s", key, js)
		}
	}
}

// TestRunOfRejectsFailedCheck: a run that fails its check never becomes a
// figure.
func TestRunOfRejectsFailedCheck(t *testing.T) {
	o := matrix.FanoutOptions{Receivers: 1, Payload: 64, Count: 10, Seed: 1}
	gen, err := harness.NewGen(o.Seed, o.Payload)
	if err != nil {
		t.Fatal(err)
	}
	crc := harness.ExpectedCRC(gen, o.Count)
	rcv := harness.Report{Msgs: 10, Bytes: 640, CRC: crc, Elapsed: time.Millisecond, CPU: time.Millisecond}
	good := &matrix.FanoutResult{Options: o, Sender: harness.Report{Msgs: 10, CPU: 2 * time.Millisecond}, Receivers: []harness.Report{rcv}}
	fr, err := matrix.FanoutRunOf(good)
	if err != nil {
		t.Fatalf("fanoutRunOf(intact run) = %v, want no error", err)
	}
	if fr.MsgsPerSec != 10_000 || fr.BytesPerSec != 640_000 || fr.SenderCPU != 200_000 || fr.ReceiverCPU != 100_000 {
		t.Errorf("fanoutRunOf(intact run) = %+v, want 10000 msgs/s, 640000 B/s, 200 µs and 100 µs CPU per message", fr)
	}
	bad := *good
	bad.Receivers = []harness.Report{rcv}
	bad.Receivers[0].CRC ^= 1
	if _, err := matrix.FanoutRunOf(&bad); err == nil || !strings.Contains(err.Error(), "CRC-32C") {
		t.Errorf("fanoutRunOf(damaged run) = %v, want a CRC-32C check failure", err)
	}

	po := matrix.PingOptions{Payload: 64, Count: 10, Seed: 1}
	ping := &matrix.PingResult{
		Options: po,
		Pinger:  harness.Report{Msgs: 10, Bytes: 640, CRC: crc, Elapsed: time.Millisecond, Latency: &harness.Latency{Samples: 9}},
		Ponger:  harness.Report{Msgs: 10},
	}
	if _, err := matrix.PingRunOf(ping); err == nil || !strings.Contains(err.Error(), "latency samples") {
		t.Errorf("pingRunOf(short latency summary) = %v, want a check failure", err)
	}
	ping.Pinger.Latency.Samples = 10
	if _, err := matrix.PingRunOf(ping); err != nil {
		t.Errorf("pingRunOf(intact run) = %v, want no error", err)
	}
}

func TestFmtRatio(t *testing.T) {
	tests := []struct {
		x    float64
		want string
	}{
		{1, "1.00"}, {0.5, "0.50"}, {0.1, "0.10"}, {0.0045, "0.0045"}, {0.04, "0.040"},
		{0.000123, "0.00012"}, {12.345, "12.3"}, {250, "250"}, {0, "0.00"},
	}
	for _, tt := range tests {
		if got := harness.FmtRatio(tt.x); got != tt.want {
			t.Errorf("fmtRatio(%v) = %q, want %q", tt.x, got, tt.want)
		}
	}
}

func TestCPUModel(t *testing.T) {
	info := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nflags\t: fpu\n\nprocessor\t: 1\nmodel name\t: other\n"
	if got, want := harness.CpuModel([]byte(info)), "Intel(R) Xeon(R) CPU @ 2.20GHz"; got != want {
		t.Errorf("cpuModel = %q, want %q", got, want)
	}
	if got := harness.CpuModel([]byte("processor : 0\n")); got != "" {
		t.Errorf("cpuModel(no model name) = %q, want empty", got)
	}
}

func TestParseCPUStat(t *testing.T) {
	then, err := harness.ParseCPUStat([]byte("cpu  100 0 50 800 0 0 0 50 7 0\ncpu0 1 2 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	now, err := harness.ParseCPUStat([]byte("cpu  200 0 100 1600 0 0 0 100 9 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := now.StealSince(then), 50.0/1000; math.Abs(got-want) > 1e-12 {
		t.Errorf("stealSince = %v, want %v", got, want)
	}
	if _, err := harness.ParseCPUStat([]byte("intr 1 2 3\n")); err == nil {
		t.Error("parseCPUStat(no cpu line) succeeded, want an error")
	}
}

func TestDescribeMachine(t *testing.T) {
	m := harness.DescribeMachine()
	if m.CPUs < 1 || m.GOMAXPROCS < 1 || m.GoVersion == "" || m.Kernel == "" || m.Date.IsZero() {
		t.Errorf("DescribeMachine = %+v, want CPUs, GOMAXPROCS, Go version, kernel and date", m)
	}
}

// TestRunMatrixSmall runs a tiny matrix end to end with real processes: two
// rounds in rotated order, every figure summarised, every ratio present.
func TestRunMatrixSmall(t *testing.T) {
	checkLeaks(t)
	var progress bytes.Buffer
	o := matrix.MatrixOptions{
		Receivers:  []int{2},
		Payloads:   []int{64},
		Transports: []harness.Transport{transport.SeqPacket{}, transport.IPN{}},
		Pairs:      []harness.Pair{harness.PairOf(transport.SeqPacket{}), transport.Eventfd{}},
		Rounds:     2,
		Messages:   func(int) int { return 300 },

		LossyTransports: []harness.Transport{transport.Dgram{Lossy: true}},
		LossyMessages:   func(int) int { return 300 },
		PingCount:       100,
		Timeout:         testTimeout,
		Progress:        &progress,
	}
	m, err := matrix.RunMatrix(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	c := m.Fanout[0]
	for i, s := range c.Series {
		if s.MsgsPerSec.N != 2 || s.MsgsPerSec.Median <= 0 {
			t.Errorf("%s msgs/s = %+v, want 2 positive rounds", s.Transport, s.MsgsPerSec)
		}
		for r, run := range s.Runs {
			if want := (i - r + 2) % 2; run.Round != r || run.Order != want {
				t.Errorf("%s round %d: got round %d order %d, want order %d", s.Transport, r, run.Round, run.Order, want)
			}
		}
	}
	if r := harness.FindRatio(c.Ratios, harness.Comparison{Subject: "ipn", Baseline: "seqpacket"}, harness.MetricMsgs); r == nil || r.N != 2 {
		t.Errorf("ipn ÷ seqpacket = %+v, want 2 rounds", r)
	}
	for _, s := range m.PingPong.Series {
		if s.P50.N != 2 || s.P50.Median <= 0 {
			t.Errorf("%s p50 = %+v, want 2 positive rounds", s.Pair, s.P50)
		}
	}
	if s := m.PingPong.SeriesOf("eventfd"); s == nil || s.Payload != harness.SeqSize {
		t.Errorf("eventfd series = %+v, want payload %d", s, harness.SeqSize)
	}
	if len(m.Lossy) != 1 {
		t.Fatalf("got %d lossy cells, want 1", len(m.Lossy))
	}
	if s := m.Lossy[0].SeriesOf("dgram-lossy"); s == nil || s.Delivered.N != 2 || s.Delivered.Median <= 0 || s.Offered.Median <= 0 {
		t.Errorf("dgram-lossy series = %+v, want 2 rounds of positive delivered and offered rates", s)
	}
	// Warm-up: one run per transport and pair before round 1; then 2 rounds.
	lines := strings.Count(progress.String(), "\n")
	if want := 3 * (2 + 2 + 1); lines != want {
		t.Errorf("got %d progress lines, want %d:\n%s", lines, want, progress.String())
	}
	if got := strings.Count(progress.String(), "warm-up"); got != 5 {
		t.Errorf("got %d warm-up runs, want 5", got)
	}
}
