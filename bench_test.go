package ipn_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ipn-project/ipn"
)

// BenchmarkNodeStream streams 64-byte messages from one node to another
// through the public API, in one process (the bench package does it across
// processes, beside the baselines).
func BenchmarkNodeStream(b *testing.B) {
	path := filepath.Join(b.TempDir(), "net")
	if err := ipn.Create(path, ipn.Hub, ipn.Options{MTU: 64, NumNodes: 2, Pool: 1024, Lossless: true}); err != nil {
		b.Fatal(err)
	}
	defer ipn.Destroy(path)
	s, r := ipn.NewNode(ipn.Hub), ipn.NewNode(ipn.Hub)
	defer s.Close()
	defer r.Close()
	if err := s.Connect(path); err != nil {
		b.Fatal(err)
	}
	if err := r.Connect(path); err != nil {
		b.Fatal(err)
	}
	done := make(chan int)
	go func() {
		got := 0
		r.SetReadDeadline(time.Now().Add(time.Minute))
		for got < b.N {
			v, err := r.RecvView()
			if err != nil {
				break
			}
			r.Release(v)
			got++
		}
		done <- got
	}()
	msg := make([]byte, 64)
	b.SetBytes(64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Send(msg); err != nil {
			b.Fatal(err)
		}
	}
	if got := <-done; got != b.N {
		b.Fatalf("received %d of %d", got, b.N)
	}
}
