package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/matrix"
	"github.com/ipn-project/ipn/bench/transport"
)

// ResultsCommand is the command that writes bench/RESULTS.md.
const ResultsCommand = "go test ./bench/ -run '^TestWriteResults$' -v -timeout 1h -results=RESULTS.md"

// Markdown writes m as a Markdown document: how to read it, the
// machine, the settings, and the fan-out and ping-pong tables with their
// ratios.
func Markdown(w io.Writer, m *matrix.Matrix) error { return page{m}.writeMarkdown(w) }

// page is a matrix being written out.
type page struct{ *matrix.Matrix }

func (m page) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	m.writeIntro(&b)
	m.writeMachine(&b)
	m.writeSettings(&b)
	m.writeFanout(&b)
	m.writeLossy(&b)
	m.writePing(&b)
	matrix.WritePolicies(&b, m.Policies)
	matrix.WritePairs(&b, m.Pairs)
	_, err := io.WriteString(w, b.String())
	return err
}

func (m page) writeIntro(b *strings.Builder) {
	s := m.Settings
	fmt.Fprintf(b, "# Benchmark results\n\n")
	fmt.Fprintf(b, "Written by `%s` (package bench, RunMatrix); do not edit by hand.\n\n", ResultsCommand)
	if s.Quick {
		fmt.Fprintf(b, "> **Quick run:** %d round of small message counts, a smoke test of the harness. Do not quote these figures.\n\n", s.Rounds)
	}
	fmt.Fprintf(b, "## How to read these figures\n\n")
	fmt.Fprintf(b, "- **Medians of %s.** Every figure is the median over the rounds; \"(a–b)\" is the lowest and the highest round.\n",
		harness.Plural(s.Rounds, "round", "rounds"))
	fmt.Fprintf(b, "- **Same run, side by side.** In each round every fan-out cell (receivers × payload) runs every transport once, back to back, "+
		"and then every pair plays ping-pong once; the order rotates by one from round to round, so no transport always goes first. "+
		"Before the first round, each cell and the ping-pong run every transport once more and discard the figures (warm-up).\n")
	fmt.Fprintf(b, "- **Ratios pair by pair.** A ratio such as ipn ÷ seqpacket divides ipn's figure by seqpacket's *from the same round* "+
		"(runs seconds apart, under the same conditions), then takes the median of those %s: it is not the ratio of the medians. "+
		"For throughput, above 1 means ipn is faster; for latency, below 1 means ipn is faster.\n", harness.Plural(s.Rounds, "ratio", "ratios"))
	fmt.Fprintf(b, "- **Why absolute figures vary.** On a shared virtual machine, other tenants, the hypervisor's steal time "+
		"(%.1f%% of CPU time during this run) and frequency changes move absolute times from one run to the next and from one day to the next; "+
		"ratios taken within a round move much less. Quote ratios, and absolute figures only with the machine they came from.\n", 100*m.Steal)
	if maxRcv := m.maxReceivers(); maxRcv > 0 && 1+maxRcv > m.Machine.CPUs {
		fmt.Fprintf(b, "- **More processes than CPUs.** This machine has %d CPUs and a fan-out to N receivers runs 1+N processes, "+
			"so from %d receivers on the figures include the scheduler, and a transport that spins (shmring; ipn while it polls) "+
			"loses most when it shares a CPU.\n", m.Machine.CPUs, max(1, m.Machine.CPUs))
	}
	fmt.Fprintf(b, "- **Every figure was checked.** Every run, warm-ups included, passed its check: every receiver got every message, "+
		"in order, with the CRC-32C that the sender's payloads give, and every ping came back intact. A run that fails stops the matrix; it never becomes a figure.\n")
	if len(m.Lossy) > 0 {
		fmt.Fprintf(b, "- **Lossless and lossy are separate tables.** A transport that may drop a message when a receiver falls behind "+
			"(vde_switch, ZeroMQ PUB, SOCK_DGRAM without waiting, a lossy ipn network) is measured in the lossy table, where the sender never waits; "+
			"there, every message that arrived was compared byte for byte with what was sent, and none arrived twice or out of order. "+
			"In the lossless tables such a transport reads \"lossy only\".\n")
	}
	fmt.Fprintf(b, "- **Nothing is left out silently.** A baseline whose program or library is missing reads \"skipped\", "+
		"a payload a transport cannot carry \"n/a\"; the reasons are listed under the first fan-out table.\n")
	fmt.Fprintf(b, "- **Fair settings.** The shared-memory transports buffer the same number of messages per receiver (the ring slots below); "+
		"ZeroMQ's high-water marks add up to the same number per subscriber; the socket baselines and vde_switch keep the kernel's default "+
		"socket buffers, which is what their users get. ipn's receivers poll for a moment before they sleep (the adaptive spin budget), "+
		"as a socket reader cannot; ipn-sleep shows ipn with no spin at all, and shmring spins without limit as the machine's bound.\n\n")
}

func (m page) maxReceivers() int {
	n := 0
	for _, c := range m.Fanout {
		n = max(n, c.Receivers)
	}
	return n
}

func (m page) writeMachine(b *strings.Builder) {
	mc := m.Machine
	fmt.Fprintf(b, "## Machine\n\n| | |\n|---|---|\n")
	row := func(k, v string) {
		if v == "" {
			v = "unknown"
		}
		fmt.Fprintf(b, "| %s | %s |\n", k, v)
	}
	row("CPU", mc.CPU)
	row("CPUs", fmt.Sprintf("%d (GOMAXPROCS %d)", mc.CPUs, mc.GOMAXPROCS))
	row("Kernel", strings.TrimSpace(mc.Kernel+" "+mc.Arch))
	row("Go", mc.GoVersion)
	date := ""
	if !mc.Date.IsZero() {
		date = mc.Date.Format("2006-01-02 15:04 MST")
	}
	row("Date", date)
	row("Wall time", fmt.Sprintf("%s (steal %.1f%%)", m.Wall.Round(time.Second), 100*m.Steal))
	b.WriteString("\n")
}

func (m page) writeSettings(b *strings.Builder) {
	s := m.Settings
	has := func(names []string, name string) bool { return slices.Contains(names, name) }
	fmt.Fprintf(b, "## Settings\n\n")
	fmt.Fprintf(b, "- Rounds: %d, after one discarded warm-up run per cell, transport and pair.\n", s.Rounds)
	if len(m.Fanout) > 0 {
		var counts []string
		for _, c := range m.Fanout {
			if c.Receivers == m.Fanout[0].Receivers {
				counts = append(counts, fmt.Sprintf("%s × %d", harness.FmtPayload(c.Payload), c.Messages))
			}
		}
		fmt.Fprintf(b, "- Fan-out: one sender process, N receiver processes. Messages per run: %s.\n", strings.Join(counts, ", "))
		fmt.Fprintf(b, "- Every receiver computes CRC-32C over every byte of every payload, whatever the transport, so reading in place is not mistaken for not reading.\n")
	}
	var slots []string
	for _, rs := range s.RingSlots {
		slots = append(slots, fmt.Sprintf("%s: %d", harness.FmtPayload(rs.Payload), rs.Slots))
	}
	if s.IPNPool != "" {
		pool := s.IPNPool
		if len(slots) > 0 && pool == "as many slots as the bare ring" {
			pool += " (" + strings.Join(slots, ", ") + ")"
		}
		fmt.Fprintf(b, "- ipn: one lossless network, sender on port 0; message pool of %s. "+
			"The sender copies each message into a slot once; each receiver reads the slot in place and releases it.", pool)
		if has(s.Pairs, "ipn-sleep") {
			fmt.Fprintf(b, " ipn-sleep is ipn whose readers never poll: they sleep on their eventfd at once.")
		}
		b.WriteString("\n")
	}
	if has(s.Transports, "shmring") && len(slots) > 0 {
		fmt.Fprintf(b, "- shmring: the bare spinning broadcast ring (the machine's limit), slots %s; written once by the sender, read in place, no wake-ups.\n",
			strings.Join(slots, ", "))
	}
	if has(s.Transports, "seqpacket") || has(s.Transports, "dgram") {
		fmt.Fprintf(b, "- seqpacket, dgram: one AF_UNIX socketpair per receiver with the kernel's default buffer sizes; "+
			"the sender makes one blocking send per receiver per message (one copy into the kernel per receiver). "+
			"dgram-lossy sends with MSG_DONTWAIT and drops a message for a receiver whose queue is full.\n")
	}
	if has(s.Transports, "zmq") || has(s.Lossy, "zmq-lossy") {
		var hwm []string
		for _, h := range s.ZMQHWM {
			hwm = append(hwm, fmt.Sprintf("%s: %d", harness.FmtPayload(h.Payload), h.Slots))
		}
		fmt.Fprintf(b, "- zmq: libzmq XPUB bound on ipc://, one SUB per receiver subscribed to everything; the sender starts once it has seen every subscription. "+
			"ZMQ_SNDHWM = ZMQ_RCVHWM = half the ring slots (%s), so a subscriber queues as many messages as an ipn receiver. "+
			"Lossless uses ZMQ_XPUB_NODROP (the sender waits at the high-water mark); zmq-lossy leaves it off (PUB's drop). libzmq's own I/O thread moves the bytes, batched.\n",
			strings.Join(hwm, ", "))
	}
	if has(s.Transports, "vde") || has(s.Lossy, "vde") {
		fmt.Fprintf(b, "- vde: one vde_switch --hub per run; the sender and each receiver plug a port (its client protocol, version 3) and exchange Ethernet frames "+
			"(a 14-byte header, then the payload; at most %d bytes of payload). The switch forwards with non-blocking sends and drops when a receiver's "+
			"socket is full, so it is lossy only. Kernel default socket buffers.\n", transport.VdeMaxData)
	}
	if has(s.Lossy, "ipn-lossy") {
		fmt.Fprintf(b, "- ipn-lossy: the same network as ipn but lossy: a message that finds no free slot or a full ring is dropped for that receiver.\n")
	}
	if len(m.PingPong.Series) > 0 {
		fmt.Fprintf(b, "- Ping-pong: %s messages (eventfd pairs carry only their 8-byte counter), %d timed round trips per run after %d untimed ones. "+
			"eventfd wakes its peer through Go's poller, eventfd-blocking with the thread blocked in read(2).\n",
			harness.FmtPayload(s.PingPayload), s.PingCount, s.PingWarmup)
	}
	fmt.Fprintf(b, "- msgs/s/rcv is each receiver's messages over its own time from the start signal to the end of its stream, mean over receivers. "+
		"Aggregate MB/s is the bytes delivered to all receivers over the slowest receiver's time (1 MB = 10⁶ bytes). "+
		"CPU is the user and system time of the whole process, all threads, during its stream.\n\n")
}

func (m page) writeFanout(b *strings.Builder) {
	if len(m.Fanout) == 0 {
		return
	}
	names := m.Settings.Transports
	var cmps []harness.Comparison
	for _, cmp := range m.Settings.Fanout {
		if slices.Contains(names, cmp.Subject) && slices.Contains(names, cmp.Baseline) {
			cmps = append(cmps, cmp)
		}
	}
	spread := m.Settings.Rounds > 1

	fmt.Fprintf(b, "## Fan-out: messages per second per receiver\n\n")
	fmt.Fprintf(b, "Median msgs/s/rcv per transport, then ratios of the subject's msgs/s to the baseline's, round by round (above 1: the subject is faster).\n\n")
	head := []string{"receivers", "payload"}
	head = append(head, names...)
	for _, cmp := range cmps {
		head = append(head, cmp.Subject+" ÷ "+cmp.Baseline)
	}
	tableHead(b, head)
	for _, c := range m.Fanout {
		row := []string{strconv.Itoa(c.Receivers), harness.FmtPayload(c.Payload)}
		for _, name := range names {
			row = append(row, seriesCell(c.SeriesOf(name), func(s *matrix.FanoutSeries) string {
				return harness.FmtStat(s.MsgsPerSec, harness.RateUnit, spread)
			}))
		}
		for _, cmp := range cmps {
			row = append(row, harness.FmtRatioStat(harness.FindRatio(c.Ratios, cmp, harness.MetricMsgs), spread))
		}
		tableRow(b, row)
	}
	b.WriteString("\n")
	m.writeNotRun(b)
	if m.Plot != "" {
		fmt.Fprintf(b, "![msgs/s per receiver against receivers, one panel per payload](%s)\n\n", m.Plot)
	}

	fmt.Fprintf(b, "## Fan-out: loss and order\n\n")
	fmt.Fprintf(b, "Messages lost / received out of sequence, summed over receivers, the most in any round. "+
		"Both must be zero in this lossless matrix: a run with either fails its check and stops the matrix.\n\n")
	tableHead(b, append([]string{"receivers", "payload"}, names...))
	for _, c := range m.Fanout {
		row := []string{strconv.Itoa(c.Receivers), harness.FmtPayload(c.Payload)}
		for _, name := range names {
			row = append(row, seriesCell(c.SeriesOf(name), func(s *matrix.FanoutSeries) string {
				var lost, ooo uint64
				for _, r := range s.Runs {
					lost, ooo = max(lost, r.Lost), max(ooo, r.OutOfOrder)
				}
				return fmt.Sprintf("%d / %d", lost, ooo)
			}))
		}
		tableRow(b, row)
	}
	b.WriteString("\n")

	fmt.Fprintf(b, "## Fan-out: aggregate throughput\n\n")
	fmt.Fprintf(b, "Median MB/s delivered to all receivers together.\n\n")
	tableHead(b, append([]string{"receivers", "payload"}, names...))
	for _, c := range m.Fanout {
		row := []string{strconv.Itoa(c.Receivers), harness.FmtPayload(c.Payload)}
		for _, name := range names {
			row = append(row, seriesCell(c.SeriesOf(name), func(s *matrix.FanoutSeries) string { return harness.FmtStat(s.BytesPerSec, harness.MbUnit, false) }))
		}
		tableRow(b, row)
	}
	b.WriteString("\n")

	fmt.Fprintf(b, "## Fan-out: CPU per message\n\n")
	fmt.Fprintf(b, "Median CPU time per message of the sender / of one receiver (mean over receivers). "+
		"A transport that spins spends CPU while it waits, so on a machine with spare cores its CPU can exceed what the work needs.\n\n")
	tableHead(b, append([]string{"receivers", "payload"}, names...))
	for _, c := range m.Fanout {
		row := []string{strconv.Itoa(c.Receivers), harness.FmtPayload(c.Payload)}
		for _, name := range names {
			row = append(row, seriesCell(c.SeriesOf(name), func(s *matrix.FanoutSeries) string {
				return harness.FmtStat(s.SenderCPU, harness.NsUnit, false) + " / " + harness.FmtStat(s.ReceiverCPU, harness.NsUnit, false)
			}))
		}
		tableRow(b, row)
	}
	b.WriteString("\n")
}

func (m page) writePing(b *strings.Builder) {
	pt := &m.PingPong
	if len(pt.Series) == 0 {
		return
	}
	spread := m.Settings.Rounds > 1
	fmt.Fprintf(b, "## Ping-pong: round-trip latency\n\n")
	fmt.Fprintf(b, "Median over rounds of each run's percentiles of the round trip; pinger CPU is its CPU time per round trip.\n\n")
	tableHead(b, []string{"pair", "payload", "p50", "p99", "p99.9", "pinger CPU"})
	for _, s := range pt.Series {
		if s.Status != "" {
			tableRow(b, []string{s.Pair, harness.FmtPayload(s.Payload), s.Status, s.Status, s.Status, s.Status})
			continue
		}
		tableRow(b, []string{s.Pair, harness.FmtPayload(s.Payload),
			harness.FmtStat(s.P50, harness.NsUnit, spread), harness.FmtStat(s.P99, harness.NsUnit, spread), harness.FmtStat(s.P999, harness.NsUnit, spread),
			harness.FmtStat(s.PingerCPU, harness.NsUnit, false)})
	}
	b.WriteString("\n")
	var cmps []harness.Comparison
	for _, cmp := range m.Settings.Ping {
		if pt.SeriesOf(cmp.Subject) != nil && pt.SeriesOf(cmp.Baseline) != nil {
			cmps = append(cmps, cmp)
		}
	}
	if len(cmps) == 0 {
		return
	}
	fmt.Fprintf(b, "Ratios of the subject's latency to the baseline's, round by round (below 1: the subject is faster).\n\n")
	tableHead(b, []string{"ratio", "p50", "p99", "p99.9"})
	for _, cmp := range cmps {
		row := []string{cmp.Subject + " ÷ " + cmp.Baseline}
		for _, metric := range []string{harness.MetricP50, harness.MetricP99, harness.MetricP999} {
			row = append(row, harness.FmtRatioStat(harness.FindRatio(pt.Ratios, cmp, metric), spread))
		}
		tableRow(b, row)
	}
	b.WriteString("\n")
}

// seriesCell formats a series' figure with format, or says why it has none.
func seriesCell(s *matrix.FanoutSeries, format func(*matrix.FanoutSeries) string) string {
	if s == nil {
		return statusCell("—", nil)
	}
	return statusCell(s.Status, func() string { return format(s) })
}

// statusCell is status when a series did not run, format() when it did.
func statusCell(status string, format func() string) string {
	if status != "" {
		return status
	}
	return format()
}

// writeNotRun lists, under the first fan-out table, every transport with
// cells that did not run and why, once per reason.
func (m page) writeNotRun(b *strings.Builder) {
	type why struct{ name, status, reason string }
	var whys []why
	seen := map[why]bool{}
	add := func(name, status, reason string) {
		if w := (why{name, status, reason}); status != "" && !seen[w] {
			seen[w] = true
			whys = append(whys, w)
		}
	}
	for _, c := range m.Fanout {
		for _, s := range c.Series {
			add(s.Transport, s.Status, s.Reason)
		}
	}
	for _, c := range m.Lossy {
		for _, s := range c.Series {
			add(s.Transport, s.Status, s.Reason)
		}
	}
	for _, s := range m.PingPong.Series {
		add(s.Pair, s.Status, s.Reason)
	}
	if len(whys) == 0 {
		return
	}
	fmt.Fprintf(b, "Not run:\n\n")
	for _, w := range whys {
		fmt.Fprintf(b, "- **%s** (%s): %s.\n", w.name, w.status, w.reason)
	}
	b.WriteString("\n")
}

func tableHead(b *strings.Builder, cols []string) {
	tableRow(b, cols)
	b.WriteString("|")
	for i := range cols {
		if i < 2 {
			b.WriteString("---|")
		} else {
			b.WriteString("--:|")
		}
	}
	b.WriteString("\n")
}

func tableRow(b *strings.Builder, cols []string) {
	b.WriteString("| " + strings.Join(cols, " | ") + " |\n")
}

// writeLossy writes the lossy matrix: delivered rate and drop rate per
// receiver, then the offered rate.
func (m page) writeLossy(b *strings.Builder) {
	if len(m.Lossy) == 0 {
		return
	}
	names := m.Settings.Lossy
	spread := m.Settings.Rounds > 1
	cell := func(s *matrix.LossySeries, format func(*matrix.LossySeries) string) string {
		if s == nil {
			return statusCell("—", nil)
		}
		return statusCell(s.Status, func() string { return format(s) })
	}
	fmt.Fprintf(b, "## Fan-out at an offered rate above capacity (lossy)\n\n")
	fmt.Fprintf(b, "The same fan-out over transports that may drop, the sender sending as fast as it can and never waiting for a receiver. "+
		"Each cell: median messages per second delivered to each receiver, and (in brackets) the median share of the messages sent that a receiver did not get. "+
		"Every message that arrived was compared byte for byte with what the sender generated, and none arrived twice or out of order; "+
		"a drop rate near 0%% means the sender could not outrun the receivers there.\n\n")
	tableHead(b, append([]string{"receivers", "payload"}, names...))
	for _, c := range m.Lossy {
		row := []string{strconv.Itoa(c.Receivers), harness.FmtPayload(c.Payload)}
		for _, name := range names {
			row = append(row, cell(c.SeriesOf(name), func(s *matrix.LossySeries) string {
				return harness.FmtStat(s.Delivered, harness.RateUnit, spread) + " (" + fmtPercent(s.DropRate.Median) + ")"
			}))
		}
		tableRow(b, row)
	}
	b.WriteString("\n")
	fmt.Fprintf(b, "Median offered rate: messages the sender sent per second of its sending time.\n\n")
	tableHead(b, append([]string{"receivers", "payload"}, names...))
	for _, c := range m.Lossy {
		row := []string{strconv.Itoa(c.Receivers), harness.FmtPayload(c.Payload)}
		for _, name := range names {
			row = append(row, cell(c.SeriesOf(name), func(s *matrix.LossySeries) string { return harness.FmtStat(s.Offered, harness.RateUnit, false) }))
		}
		tableRow(b, row)
	}
	b.WriteString("\n")
}

// fmtPercent formats a share as a percentage with one decimal.
func fmtPercent(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" }
