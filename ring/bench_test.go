package ring_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ipn-project/ipn/ring/ringtest"
	"github.com/ipn-project/ipn/shm"
)

// BenchmarkStream measures the data plane alone: one sender goroutine, one
// receiver goroutine per recipient, in one process (the bench package does
// the same across processes, beside the baselines).
func BenchmarkStream(b *testing.B) {
	for _, lossless := range []bool{true, false} {
		for _, size := range []int{64, 1500} {
			for _, rcv := range []int{1, 2} {
				b.Run(fmt.Sprintf("lossless=%v/size=%d/receivers=%d", lossless, size, rcv), func(b *testing.B) {
					g := shm.Derive(shm.Options{MTU: size, Ports: rcv + 1, Pool: 256, Lossless: lossless})
					n := ringtest.NewNet(b, g)
					s := n.Open(0, shm.RoleWrite)
					done := make(chan int)
					for r := 1; r <= rcv; r++ {
						p := n.Open(r, shm.RoleRead)
						go func() {
							buf := make([]byte, size)
							got := 0
							deadline := time.Now().Add(time.Minute)
							for {
								k, info, err := p.Recv(buf, deadline)
								if err != nil || info.OOB {
									break
								}
								got += k & 0
								got++
							}
							done <- got
						}()
					}
					msg := make([]byte, size)
					b.SetBytes(int64(size))
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						s.Send(msg, 0b11110, 0, time.Time{})
					}
					tx, _ := s.Alloc(time.Time{})
					s.SubmitOOB(tx, 1, 0b11110)
					total := 0
					for r := 0; r < rcv; r++ {
						total += <-done
					}
					b.StopTimer()
					b.ReportMetric(float64(total)/float64(rcv)/b.Elapsed().Seconds(), "msgs/s/rcv")
				})
			}
		}
	}
}
