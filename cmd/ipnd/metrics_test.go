package main

import (
	"bufio"
	"github.com/ipn-project/ipn/wire"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ipn-project/ipn"
)

// startIPND runs the test binary as ipnd with args on a socket of its own,
// points this process's client at it, and returns its standard error as
// lines, read as they come.
func startIPND(t *testing.T, args ...string) <-chan string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "ipnd.sock")
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--socket", sock}, args...)...)
	cmd.Env = append(os.Environ(), "IPND_TEST_DAEMON=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // nobody reads any more
			}
		}
	}()
	t.Setenv(wire.EnvSocket, sock)
	t.Setenv(ipn.EnvNoAutostart, "1")
	return lines
}

var metricsURL = regexp.MustCompile(`url=(http://\S+/metrics)`)

// waitURL waits for ipnd to say where it serves its metrics.
func waitURL(t *testing.T, lines <-chan string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("ipnd ended before it served metrics")
			}
			if m := metricsURL.FindStringSubmatch(l); m != nil {
				return m[1]
			}
		case <-timeout:
			t.Fatal("ipnd never said where it serves metrics")
		}
	}
}

// scrape fetches url and parses it as Prometheus's text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: not Prometheus text: %v", url, err)
	}
	return fams
}

// value is the value of the series of family name whose labels are
// labels, and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		for _, l := range m.Label {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		}
	}
	return 0, false
}

// TestMetrics runs ipnd with --metrics, sends known traffic through one of
// its networks, and checks the scrape: it parses as Prometheus text, and
// the counters of both ports and of the coordinator match what was done.
func TestMetrics(t *testing.T) {
	lines := startIPND(t, "--metrics", "127.0.0.1:0")
	url := waitURL(t, lines)
	path := filepath.Join(t.TempDir(), "net")
	if err := ipn.Create(path, ipn.Hub, ipn.Options{Lossless: true, Pool: 64}); err != nil {
		t.Fatal(err)
	}
	tx, rx := ipn.NewNode(ipn.Hub), ipn.NewNode(ipn.Hub)
	for _, n := range []*ipn.Node{tx, rx} {
		defer n.Close()
		if err := n.Connect(path); err != nil {
			t.Fatal(err)
		}
	}
	const count, size = 40, 300
	msg := make([]byte, size)
	buf := make([]byte, 1514)
	for i := range count {
		if err := tx.Send(msg); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if _, err := rx.Recv(buf); err != nil {
			t.Fatalf("receive %d: %v", i, err)
		}
	}
	// A refused request: a network with policy Any cannot be made.
	if err := ipn.NewNode(ipn.Any).Bind(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("bind with policy Any made a network")
	}
	// ...and one the coordinator refuses: a stat of a path that is no network.
	if _, _, err := ipn.Stat(t.TempDir()); err == nil {
		t.Fatal("stat of a directory succeeded")
	}

	fams := scrape(t, url)
	txPort, rxPort := strconv.Itoa(tx.Port()), strconv.Itoa(rx.Port())
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"ipn_port_sent_messages_total", map[string]string{"network": path, "port": txPort}, count},
		{"ipn_port_sent_bytes_total", map[string]string{"network": path, "port": txPort}, count * size},
		{"ipn_port_received_messages_total", map[string]string{"network": path, "port": rxPort}, count},
		{"ipn_port_received_bytes_total", map[string]string{"network": path, "port": rxPort}, count * size},
		{"ipn_port_sent_messages_total", map[string]string{"network": path, "port": rxPort}, 0},
		{"ipn_port_received_messages_total", map[string]string{"network": path, "port": txPort}, 0},
		{"ipn_port_dropped_messages_total", map[string]string{"network": path, "port": rxPort}, 0},
		{"ipn_port_hop_dropped_messages_total", map[string]string{"network": path, "port": txPort}, 0},
		{"ipn_port_queued_messages", map[string]string{"network": path, "port": rxPort}, 0},
		{"ipn_network_readers", map[string]string{"network": path}, 2},
		{"ipn_network_writers", map[string]string{"network": path}, 2},
		{"ipn_network_ports_in_use", map[string]string{"network": path}, 2},
		{"ipn_network_pool_in_use", map[string]string{"network": path}, 0},
		{"ipn_networks", nil, 1},
	} {
		got, ok := value(fams, c.name, c.labels)
		if !ok {
			t.Errorf("%s%v: no such series in the scrape", c.name, c.labels)
		} else if got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, c := range []struct {
		name string
		min  float64
	}{
		{"ipn_members", 2},
		{"ipn_request_errors_total", 1},
		{"ipn_reclaims_total", 0},
		{"go_goroutines", 1},
	} {
		if got, ok := value(fams, c.name, nil); !ok || got < c.min {
			t.Errorf("%s = %v (present %v), want at least %v", c.name, got, ok, c.min)
		}
	}

	// A node that leaves has its port reclaimed, and the count says so.
	before, _ := value(fams, "ipn_reclaims_total", nil)
	rx.Close()
	var after float64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if after, _ = value(scrape(t, url), "ipn_reclaims_total", nil); after > before {
			break
		}
	}
	if after != before+1 {
		t.Errorf("ipn_reclaims_total after a node left: %v, want %v", after, before+1)
	}
}

// TestMetricsOff checks that ipnd serves no metrics unless asked: it never
// says it does.
func TestMetricsOff(t *testing.T) {
	lines := startIPND(t)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l := <-lines:
			if strings.Contains(l, "metrics") {
				t.Fatalf("ipnd without --metrics: %s", l)
			}
			if strings.Contains(l, "coordinator listening") {
				return
			}
		case <-timeout:
			t.Fatal("ipnd never said it listens")
		}
	}
}

// TestVersion runs ipnd --version.
func TestVersion(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--version")
	cmd.Env = append(os.Environ(), "IPND_TEST_DAEMON=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ipnd --version: %v", err)
	}
	if s := string(out); !strings.HasPrefix(s, "ipnd ") || !strings.Contains(s, "go1.") {
		t.Errorf("ipnd --version = %q, want ipnd VERSION (… go1.N…)", s)
	}
}
