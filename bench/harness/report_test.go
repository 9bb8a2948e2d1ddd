package harness

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i + 1)
	}
	tests := []struct {
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{hundred, 50, 50},
		{hundred, 99, 99},
		{hundred, 99.9, 100},
		{hundred, 100, 100},
		{hundred, 1, 1},
		{[]time.Duration{7}, 50, 7},
		{[]time.Duration{1, 2}, 50, 1},
		{[]time.Duration{1, 2}, 99, 2},
	}
	for _, tt := range tests {
		if got := Percentile(tt.sorted, tt.q); got != tt.want {
			t.Errorf("Percentile(%d samples, %v) = %d, want %d", len(tt.sorted), tt.q, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	l := Summarize([]time.Duration{5, 1, 3, 2, 4})
	want := Latency{Samples: 5, Min: 1, P50: 3, P99: 5, P999: 5, Max: 5}
	if *l != want {
		t.Errorf("Summarize = %+v, want %+v", *l, want)
	}
	if got := Summarize(nil); got.Samples != 0 {
		t.Errorf("Summarize(nil).Samples = %d, want 0", got.Samples)
	}
}
