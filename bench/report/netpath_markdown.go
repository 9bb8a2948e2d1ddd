package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/netpath"
)

// The network-path section of RESULTS.md lies between these markers, so
// that its writer (TestWriteNetResults) and the matrix's (TestWriteResults)
// each replace only their own part.
const (
	NetSectionBegin = "<!-- netpath:begin -->"
	NetSectionEnd   = "<!-- netpath:end -->"
)

// NetResultsCommand is the command that writes the network-path section.
const NetResultsCommand = "go test ./bench/ -run '^TestWriteNetResults$' -v -netresults=RESULTS.md"

// WithSection returns doc with the text between the markers replaced by
// section (markers included), or with section appended when doc has none.
func WithSection(doc []byte, section string) []byte {
	i := bytes.Index(doc, []byte(NetSectionBegin))
	j := bytes.Index(doc, []byte(NetSectionEnd))
	if i < 0 || j < i {
		out := bytes.TrimRight(doc, "\n")
		if len(out) > 0 {
			out = append(out, "\n\n"...)
		}
		return append(append(out, section...), '\n')
	}
	out := append([]byte{}, doc[:i]...)
	out = append(out, section...)
	return append(out, doc[j+len(NetSectionEnd):]...)
}

// SectionOf returns the network-path section of doc, markers included, or
// "" when it has none.
func SectionOf(doc []byte) string {
	i := bytes.Index(doc, []byte(NetSectionBegin))
	j := bytes.Index(doc, []byte(NetSectionEnd))
	if i < 0 || j < i {
		return ""
	}
	return string(doc[i : j+len(NetSectionEnd)])
}

// NetMarkdown writes res as the network-path section of RESULTS.md,
// between its markers.
func NetMarkdown(w io.Writer, res *netpath.NetResults) error { return netPage{res}.writeMarkdown(w) }

// netPage is a network-path comparison being written out.
type netPage struct{ *netpath.NetResults }

func (res netPage) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	o := res.Options
	fmt.Fprintf(&b, "%s\n## Network paths: ipn switch, Linux bridge, vde_switch\n\n", NetSectionBegin)
	fmt.Fprintf(&b, "Written by `%s` (package bench, RunNetPaths) as root; do not edit by hand.\n\n", NetResultsCommand)
	fmt.Fprintf(&b, "Two network namespaces per path, real traffic: an iperf3 TCP test of %v from the first to the second, "+
		"then %d pings 10 ms apart, in each of %s; the paths take turns, the order rotating by one each round, after a discarded warm-up. "+
		"Figures are medians over the rounds, \"(a–b)\" the lowest and highest; ratios are taken round by round, then their median. "+
		"Every run was checked: iperf3 ended without error with bytes received, and every ping was answered.\n\n",
		o.Duration, o.Pings, harness.Plural(o.Rounds, "round", "rounds"))
	m := res.Machine
	fmt.Fprintf(&b, "Machine: %s, %d CPUs, kernel %s, %s, %s; wall time %v, steal %.1f%%.\n\n",
		m.CPU, m.CPUs, m.Kernel, m.GoVersion, m.Date.Format("2006-01-02 15:04 UTC"), res.Wall, 100*res.Steal)
	for _, s := range res.Series {
		fmt.Fprintf(&b, "- **%s**: %s.\n", s.Path, s.Setup)
	}
	b.WriteString("\nWhat the paths do per frame: the Linux bridge forwards inside the kernel, and veth pairs hand over TCP's " +
		"segmentation-offloaded packets (up to 64 KiB) whole. vde_switch moves every frame (at most 1514 bytes) through TAP " +
		"file descriptors in user space, reading it from one TAP and writing it to the other in one process. ipn's TAP nodes " +
		"take offloaded segments of up to 64 KiB whole too (the network's MTU carries them): the sender's ipn tap process " +
		"reads one into a slot of shared memory and completes its checksum, and the receiver's ipn tap process writes it from " +
		"the slot with a header that asks the kernel to cut it into frames; a second process and a wake-up on the way, which " +
		"is what the round trip pays.\n\n")
	res.writeTables(&b)
	res.writeTargets(&b)
	if res.CrossHost != nil {
		netPage{res.CrossHost}.writeCrossHost(&b)
	}
	fmt.Fprintf(&b, "%s", NetSectionEnd)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTables writes the table of the paths' figures and the table of the
// subject's ratios to the others.
func (res netPage) writeTables(b *strings.Builder) {
	tableHead(b, []string{"path", "iperf3 TCP throughput", "ping round trip (p50)", "retransmits (median)"})
	for _, s := range res.Series {
		retr := harness.StatOf(harness.MetricOf(s.Runs, func(r netpath.NetRun) float64 { return float64(r.Retransmits) }))
		tableRow(b, []string{s.Path, harness.FmtStat(s.Bps, gbitUnit, true), harness.FmtStat(s.RTT, harness.NsUnit, true), fmt.Sprint(retr.Median)})
	}
	b.WriteString("\n")
	tableHead(b, []string{"ratio", "throughput (above 1: subject faster)", "round trip (below 1: subject faster)"})
	for _, s := range res.Series[1:] {
		subj := res.Series[0].Path
		tableRow(b, []string{subj + " ÷ " + s.Path,
			harness.FmtRatioStat(res.Ratio(s.Path, netpath.MetricNetBps), true), harness.FmtRatioStat(res.Ratio(s.Path, netpath.MetricNetRTT), true)})
	}
	b.WriteString("\n")
}

// writeTargets says whether the targets were met: throughput at
// least 3× vde_switch's and within 2× of the Linux bridge's.
func (res netPage) writeTargets(b *strings.Builder) {
	subj := res.Series[0].Path
	for _, t := range []struct {
		base string
		want float64
		text string
	}{{netpath.VDETaps{}.Name(), 3, "at least 3× vde_switch's throughput"}, {netpath.Bridge{}.Name(), 0.5, "within 2× of the Linux bridge's throughput"}} {
		r := res.Ratio(t.base, netpath.MetricNetBps)
		if r == nil || r.N == 0 {
			continue
		}
		verdict := "met"
		if r.Median < t.want {
			verdict = "**not met**"
		}
		fmt.Fprintf(b, "- Target, %s %s: %s (median ratio %s×).\n", subj, t.text, verdict, harness.FmtRatio(r.Median))
	}
	b.WriteString("\n")
}

// gbitUnit shows bits per second in Gbit/s or Mbit/s.
func gbitUnit(x float64) harness.Unit {
	if x >= 1e9 {
		return harness.Unit{Div: 1e9, Suffix: " Gbit/s"}
	}
	return harness.Unit{Div: 1e6, Suffix: " Mbit/s"}
}

// keepNetSection returns md, a new RESULTS.md from the matrix, with the
// network-path section of the file at path carried over, if it has one.
func keepNetSection(path string, md []byte) []byte {
	old, err := os.ReadFile(path)
	if sec := SectionOf(old); err == nil && sec != "" {
		return WithSection(md, sec)
	}
	return md
}

// WriteNetResults writes res's section into the Markdown file at path
// (made if missing), between its markers, leaving the rest of the file as
// it is, and returns the section.
func WriteNetResults(res *netpath.NetResults, path string) ([]byte, error) {
	var md strings.Builder
	if err := NetMarkdown(&md, res); err != nil {
		return nil, err
	}
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	return []byte(md.String()), os.WriteFile(path, WithSection(old, md.String()), 0o644)
}
