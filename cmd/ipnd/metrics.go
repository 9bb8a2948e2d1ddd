package main

import (
	"errors"
	"fmt"
	"github.com/ipn-project/ipn/wire"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ipn-project/ipn/coordinator"
)

// The metrics ipnd serves with --metrics, in Prometheus's text format at
// /metrics. Each scrape reads the coordinator's state afresh
// (coordinator.Server.Snapshot): the counters live in shared memory and
// the coordinator's registry, and nothing is kept here between scrapes. A
// port's counters start again from zero when another node takes the port
// number, which Prometheus reads as a counter reset.

var (
	netLabels  = []string{"network"}
	portLabels = []string{"network", "port"}
)

func desc(name, help string, labels []string) *prometheus.Desc {
	return prometheus.NewDesc("ipn_"+name, help, labels, nil)
}

// portMetric is one per-port series and how to read it from a port.
type portMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(p *wire.PortInfo) float64
}

var portMetrics = []portMetric{
	{desc("port_sent_messages_total", "Messages the node on the port sent.", portLabels), prometheus.CounterValue,
		func(p *wire.PortInfo) float64 { return float64(p.Sent) }},
	{desc("port_sent_bytes_total", "Bytes of the messages the node on the port sent.", portLabels), prometheus.CounterValue,
		func(p *wire.PortInfo) float64 { return float64(p.SentBytes) }},
	{desc("port_received_messages_total", "Messages queued to the port.", portLabels), prometheus.CounterValue,
		func(p *wire.PortInfo) float64 { return float64(p.Received) }},
	{desc("port_received_bytes_total", "Bytes of the messages the node on the port received.", portLabels), prometheus.CounterValue,
		func(p *wire.PortInfo) float64 { return float64(p.ReceivedBytes) }},
	{desc("port_dropped_messages_total", "Messages to the port dropped because its ring was full (lossy networks).", portLabels), prometheus.CounterValue,
		func(p *wire.PortInfo) float64 { return float64(p.Dropped) }},
	{desc("port_blocked_sends_total", "Sends from the port that found no room and waited or failed with EAGAIN.", portLabels), prometheus.CounterValue,
		func(p *wire.PortInfo) float64 { return float64(p.Blocked) }},
	{desc("port_hop_dropped_messages_total", "Messages from the port dropped past the hop limit (a loop of cables).", portLabels), prometheus.CounterValue,
		func(p *wire.PortInfo) float64 { return float64(p.HopDrops) }},
	{desc("port_queued_messages", "Messages waiting in the port's ring now.", portLabels), prometheus.GaugeValue,
		func(p *wire.PortInfo) float64 { return float64(p.Queued) }},
}

// netMetric is one per-network series.
type netMetric struct {
	desc  *prometheus.Desc
	value func(n *wire.NetInfo) float64
}

var netMetrics = []netMetric{
	{desc("network_ports_in_use", "Ports of the network in use.", netLabels),
		func(n *wire.NetInfo) float64 { return float64(n.Ports) }},
	{desc("network_ports", "Ports the network has room for.", netLabels),
		func(n *wire.NetInfo) float64 { return float64(n.Opts.NumNodes) }},
	{desc("network_readers", "Nodes of the network that may receive.", netLabels),
		func(n *wire.NetInfo) float64 { return float64(n.Readers) }},
	{desc("network_writers", "Nodes of the network that may send.", netLabels),
		func(n *wire.NetInfo) float64 { return float64(n.Writers) }},
	{desc("network_bound", "Nodes bound to the network for management.", netLabels),
		func(n *wire.NetInfo) float64 { return float64(n.Bound) }},
	{desc("network_pool_in_use", "Message slots of the network's pool someone holds.", netLabels),
		func(n *wire.NetInfo) float64 { return float64(n.PoolInUse) }},
}

var (
	networksDesc      = desc("networks", "Networks the coordinator serves.", nil)
	membersDesc       = desc("members", "Control connections to the coordinator: nodes bound, connected, or joining.", nil)
	reclaimsDesc      = desc("reclaims_total", "Ports of departed or dead members reclaimed.", nil)
	reclaimedRefsDesc = desc("reclaimed_references_total", "Slot references released by those reclaims.", nil)
	requestErrorsDesc = desc("request_errors_total", "Control requests the coordinator refused or failed.", nil)
)

// collector is a prometheus.Collector over a coordinator. It is safe for
// concurrent use, as Snapshot is.
type collector struct{ srv *coordinator.Server }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range portMetrics {
		ch <- m.desc
	}
	for _, m := range netMetrics {
		ch <- m.desc
	}
	for _, d := range []*prometheus.Desc{networksDesc, membersDesc, reclaimsDesc, reclaimedRefsDesc, requestErrorsDesc} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	snap := c.srv.Snapshot()
	ch <- prometheus.MustNewConstMetric(networksDesc, prometheus.GaugeValue, float64(len(snap.Nets)))
	ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, float64(snap.Members))
	ch <- prometheus.MustNewConstMetric(reclaimsDesc, prometheus.CounterValue, float64(snap.Reclaims))
	ch <- prometheus.MustNewConstMetric(reclaimedRefsDesc, prometheus.CounterValue, float64(snap.ReclaimedRefs))
	ch <- prometheus.MustNewConstMetric(requestErrorsDesc, prometheus.CounterValue, float64(snap.RequestErrors))
	for i := range snap.Nets {
		n := &snap.Nets[i]
		for _, m := range netMetrics {
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, m.value(&n.Info), n.Info.Path)
		}
		for j := range n.Ports {
			p := &n.Ports[j]
			port := strconv.Itoa(p.Port)
			for _, m := range portMetrics {
				ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(p), n.Info.Path, port)
			}
		}
	}
}

// serveMetrics serves srv's metrics at http://addr/metrics until the
// returned server is closed. Besides ipn's own, the registry has the Go
// runtime's and the process's collectors, as Prometheus exporters do.
func serveMetrics(log *slog.Logger, srv *coordinator.Server, addr string) (*http.Server, net.Addr, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{srv}, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--metrics %s: %w", addr, err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return hs, ln.Addr(), nil
}
