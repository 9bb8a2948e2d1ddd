package vxlan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// freePort finds a UDP port free on loopback.
func freePort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

// pair is two endpoints on loopback, 127.0.0.1 and 127.0.0.2, each the
// other's peer, on one port as two hosts' VXLAN devices would be.
func pair(t *testing.T, vni uint32, hops bool) (a, b *Endpoint) {
	t.Helper()
	port := freePort(t)
	l1, l2 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	a, err := Listen(Config{Remote: l2, Local: l1, Port: port, VNI: vni, Hops: hops})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err = Listen(Config{Remote: l1, Local: l2, Port: port, VNI: vni, Hops: hops})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// ethFrames fills b with n frames of seeded content from src, each of its
// own length, the sequence number after the Ethernet header.
func ethFrames(b *Batch, n int, rng *rand.Rand, src byte) {
	for i := range n {
		f := b.Room(i)
		size := 60 + rng.IntN(1400)
		copy(f, []byte{2, 0, 0, 0, 0, 0xee, 2, 0, 0, 0, 0, src, 0x88, 0xb5})
		binary.BigEndian.PutUint32(f[14:], uint32(i))
		for j := 18; j < size; j++ {
			f[j] = byte(rng.Uint32())
		}
		b.Lens[i] = size
		b.Hops[i] = uint8(i)
	}
	b.N = n
}

// readAll reads batches from e until it has n frames or time runs out.
func readAll(t *testing.T, e *Endpoint, n, size int) [][]byte {
	t.Helper()
	var got [][]byte
	b := NewBatch(8, size)
	e.f.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer e.f.SetReadDeadline(time.Time{})
	for len(got) < n {
		if err := e.ReadBatch(b); err != nil {
			t.Fatalf("after %d frames of %d: %v", len(got), n, err)
		}
		for i := 0; i < b.N; i++ {
			got = append(got, append([]byte{b.Hops[i]}, b.Frame(i)...))
		}
	}
	return got
}

// TestEndpointsCarryBatches: a batch of frames of many sizes goes from one
// endpoint to the other intact and in order, with the hop depth when both
// carry it and without when neither does.
func TestEndpointsCarryBatches(t *testing.T) {
	for _, hops := range []bool{false, true} {
		a, b := pair(t, 4242, hops)
		const n = 20
		out := NewBatch(32, 1500)
		ethFrames(out, n, rand.New(rand.NewPCG(1, 2)), 1)
		if err := a.WriteBatch(out); err != nil {
			t.Fatal(err)
		}
		got := readAll(t, b, n, 1500)
		for i, g := range got {
			want := out.Frame(i)
			if !bytes.Equal(g[1:], want) {
				t.Fatalf("hops %v: frame %d: got %d bytes, want %d, or they differ", hops, i, len(g)-1, len(want))
			}
			if wantHop := map[bool]byte{false: 0, true: byte(i)}[hops]; g[0] != wantHop {
				t.Errorf("hops %v: frame %d carried hop %d, want %d", hops, i, g[0], wantHop)
			}
		}
		if s := a.Stats(); s.Sent != n {
			t.Errorf("sender's stats %+v, want %d sent", s, n)
		}
		if s := b.Stats(); s.Received != n || s.Malformed+s.OtherVNI+s.Strangers != 0 {
			t.Errorf("receiver's stats %+v, want %d received, none dropped", s, n)
		}
	}
}

// TestEndpointDrops: datagrams of another VNI, without the VNI flag, too
// short, or from an address other than the peer's are dropped and counted;
// a good one after them still arrives.
func TestEndpointDrops(t *testing.T) {
	a, b := pair(t, 7, false)
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: int(b.LocalAddr().Port())}
	send := func(from string, d []byte) {
		c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(from)}, to)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	hdr := func(vni uint32) []byte { d := make([]byte, HeaderLen); Header{VNI: vni}.Put(d); return d }
	send("127.0.0.1", append(hdr(8), frame60...))                  // another VNI
	send("127.0.0.1", append(make([]byte, HeaderLen), frame60...)) // no flag
	send("127.0.0.1", hdr(7))                                      // too short
	send("127.0.0.3", append(hdr(7), frame60...))                  // a stranger
	send("127.0.0.1", append(hdr(7), frame60...))                  // good, from the peer's address, another port
	got := readAll(t, b, 1, 1500)
	if !bytes.Equal(got[0][1:], frame60) {
		t.Errorf("got %x, want the good frame", got[0])
	}
	if s := b.Stats(); s != (Stats{Received: 1, Malformed: 2, OtherVNI: 1, Strangers: 1}) {
		t.Errorf("stats %+v, want 1 received, 2 malformed, 1 of another VNI, 1 stranger", s)
	}
	_ = a
}

// TestEndpointAllocatesNothing: moving a batch each way allocates nothing.
func TestEndpointAllocatesNothing(t *testing.T) {
	a, b := pair(t, 1, true)
	out, in := NewBatch(32, 1500), NewBatch(32, 1500)
	ethFrames(out, 32, rand.New(rand.NewPCG(3, 4)), 1)
	allocs := testing.AllocsPerRun(50, func() {
		if err := a.WriteBatch(out); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < 32; got += in.N {
			if err := b.ReadBatch(in); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per batch each way, want 0", allocs)
	}
}

// TestEndpointClose: Close ends a ReadBatch waiting meanwhile.
func TestEndpointClose(t *testing.T) {
	_, b := pair(t, 1, false)
	done := make(chan error, 1)
	go func() { done <- b.ReadBatch(NewBatch(4, 1500)) }()
	time.Sleep(20 * time.Millisecond)
	b.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("ReadBatch after Close: %v, want os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end ReadBatch")
	}
}

func TestListenRefuses(t *testing.T) {
	for _, c := range []Config{
		{},
		{Remote: netip.IPv4Unspecified()},
		{Remote: netip.MustParseAddr("127.0.0.1"), VNI: MaxVNI + 1},
		{Remote: netip.MustParseAddr("127.0.0.1"), Local: netip.MustParseAddr("::1")},
	} {
		if e, err := Listen(c); err == nil {
			e.Close()
			t.Errorf("Listen(%+v) took it, want EINVAL", c)
		}
	}
}
