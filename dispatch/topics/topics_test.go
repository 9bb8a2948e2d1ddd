package topics_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/dispatch/topics"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/ring/ringtest"
	"github.com/ipn-project/ipn/shm"
)

func TestMain(m *testing.M) { ringtest.Main(m) }

func TestTopics(t *testing.T) {
	pol, err := dispatch.Lookup(topics.Number)
	if err != nil {
		t.Fatal(err)
	}
	g := shm.Derive(shm.Options{MTU: 256, Ports: 4, Pool: 8, Policy: pol.(dispatch.AreaSizer).AreaSize(4)})
	n := ringtest.NewNet(t, g)
	dn := dispatch.NetOf(n.N, func() int { return 4 })
	var ports []*ring.Port
	for p := 0; p < 4; p++ {
		ports = append(ports, n.Open(p, shm.RoleRead|shm.RoleWrite))
	}
	opt := pol.(dispatch.Optioner)
	for p, subs := range map[int]string{1: "video/, meta/", 2: "audio/", 3: "*"} {
		if err := opt.SetOption(dn, p, topics.OptSubscribe, []byte(subs)); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := opt.Option(dn, 1, topics.OptSubscribe); string(got) != "video/,meta/" {
		t.Errorf("subscriptions of port 1 = %q", got)
	}
	fn := dispatch.Func(pol, dn)
	for _, m := range []string{"video/frame 1", "audio/chunk", "meta/title", "other"} {
		if _, err := ports[0].SendWith([]byte(m), 0, true, time.Time{}, fn); err != nil {
			t.Fatal(err)
		}
	}
	want := map[int][]string{
		0: nil,
		1: {"video/frame 1", "meta/title"},
		2: {"audio/chunk"},
		3: {"video/frame 1", "audio/chunk", "meta/title", "other"},
	}
	buf := make([]byte, 256)
	for p, w := range want {
		var got []string
		for {
			k, _, err := ports[p].TryRecv(buf)
			if errors.Is(err, ring.ErrAgain) {
				break
			}
			got = append(got, string(buf[:k]))
		}
		if len(got) != len(w) {
			t.Errorf("port %d got %q, want %q", p, got, w)
			continue
		}
		for i := range w {
			if got[i] != w[i] {
				t.Errorf("port %d got %q, want %q", p, got, w)
			}
		}
	}
	if err := opt.SetOption(dn, 1, "nope", nil); err == nil {
		t.Errorf("unknown option accepted")
	}
}
