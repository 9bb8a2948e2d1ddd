package matrix

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/plane"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/shm"
)

// PolicyCost is what one dispatch policy costs per message, measured in
// one process: a 1500-byte message sent through the policy to a network
// of four ports and read back, so that the figure is the policy's
// decision plus the data plane's send and receive.
type PolicyCost struct {
	Name     string  `json:"name"`
	NsPerMsg float64 `json:"ns_per_msg"` // median over rounds
	Allocs   int64   `json:"allocs_per_msg"`
}

// policyCases are the policies and messages measured.
func policyCases() []struct {
	name string
	num  int
	msg  func(learned bool) []byte
} {
	eth := func(dst byte) []byte {
		f := []byte{2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, 1, 0x08, 0x00}
		if dst == 0xff {
			copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		}
		return append(f, make([]byte, 1500-len(f))...)
	}
	ip := func() []byte {
		p := make([]byte, 1500)
		p[0], p[2], p[3] = 0x45, 1500>>8, 1500&0xff
		copy(p[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
		return p
	}
	return []struct {
		name string
		num  int
		msg  func(bool) []byte
	}{
		{"hub", dispatch.Hub, func(bool) []byte { return eth(0xff) }},
		{"switch, known unicast", dispatch.Switch, func(bool) []byte { return eth(2) }},
		{"switch, broadcast", dispatch.Switch, func(bool) []byte { return eth(0xff) }},
		{"l3, known unicast", dispatch.L3, func(bool) []byte { return ip() }},
	}
}

// MeasurePolicies measures each policy over rounds and returns the medians.
func MeasurePolicies(rounds int) ([]PolicyCost, error) {
	var out []PolicyCost
	for _, c := range policyCases() {
		pol, err := dispatch.Lookup(c.num)
		if err != nil {
			return nil, err
		}
		var ns []float64
		var allocs int64
		for r := 0; r < rounds; r++ {
			res, err := measurePolicy(pol, c.msg(true))
			if err != nil {
				return nil, fmt.Errorf("policy %s: %w", c.name, err)
			}
			ns = append(ns, float64(res.NsPerOp()))
			allocs = max(allocs, res.AllocsPerOp())
		}
		sort.Float64s(ns)
		out = append(out, PolicyCost{Name: c.name, NsPerMsg: ns[len(ns)/2], Allocs: allocs})
	}
	return out, nil
}

var policySeq int

func measurePolicy(pol dispatch.Policy, msg []byte) (testing.BenchmarkResult, error) {
	area := 0
	if as, ok := pol.(dispatch.AreaSizer); ok {
		area = as.AreaSize(4)
	}
	policySeq++
	g := shm.Derive(shm.Options{MTU: 1518, Ports: 4, Pool: 64, Policy: area})
	d, err := plane.Create("", fmt.Sprintf("ipn-bench-policy-%d-%d", time.Now().UnixNano(), policySeq), g)
	if err != nil {
		return testing.BenchmarkResult{}, err
	}
	rn := d.Net
	defer d.Close()
	var ports []*ring.Port
	for p := 0; p < 4; p++ {
		if err := rn.OpenPort(p, 0, shm.RoleRead|shm.RoleWrite); err != nil {
			return testing.BenchmarkResult{}, err
		}
		pt, err := rn.Port(p)
		if err != nil {
			return testing.BenchmarkResult{}, err
		}
		ports = append(ports, pt)
	}
	fn := dispatch.Func(pol, dispatch.NetOf(rn, func() int { return 4 }))
	buf := make([]byte, 2048)
	drain := func() {
		for _, p := range ports {
			for {
				if _, _, err := p.TryRecv(buf); err != nil {
					break
				}
			}
		}
	}
	// Let the switches learn the destination (host 2 behind port 2,
	// 10.0.0.2 behind port 2).
	hello := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2, 0x08, 0x00}, make([]byte, 46)...)
	if pol.Name() == "l3" {
		hello = make([]byte, 20)
		hello[0], hello[3] = 0x45, 20
		copy(hello[12:], []byte{10, 0, 0, 2, 10, 0, 0, 1})
	}
	dispatch.Send(ports[2], fn, hello, 0, true, time.Time{})
	drain()
	return testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			dispatch.Send(ports[1], fn, msg, 0, true, time.Time{})
			drain()
		}
	}), nil
}

// WritePolicies renders policy costs as a Markdown section.
func WritePolicies(b *strings.Builder, costs []PolicyCost) {
	if len(costs) == 0 {
		return
	}
	fmt.Fprintf(b, "## Dispatch policies: cost per message\n\n")
	fmt.Fprintf(b, "One 1500-byte message sent through each policy on a network of 4 ports and read back by every port it reaches, "+
		"in one process (the policy's decision plus the data plane's send and receive); median of the rounds. "+
		"Learning and lookup must not allocate.\n\n")
	fmt.Fprintf(b, "| policy, message | ns per message | allocations per message |\n|---|--:|--:|\n")
	for _, c := range costs {
		fmt.Fprintf(b, "| %s | %.0f | %d |\n", c.Name, c.NsPerMsg, c.Allocs)
	}
	b.WriteString("\n")
}
