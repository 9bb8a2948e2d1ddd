package harness

import (
	"math"
	"slices"
)

// Stat summarises one metric over the rounds of a matrix: the median and
// the range. A Stat of no samples has N == 0 and is shown as missing, never
// as a measured zero.
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"` // samples (rounds)
}

// StatOf summarises xs, which it leaves unchanged.
func StatOf(xs []float64) Stat {
	if len(xs) == 0 {
		return Stat{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return Stat{Median: median(s), Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// median returns the median of sorted, a non-empty ascending slice: the
// middle value, or the mean of the two middle values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Ratios returns subject[i]/baseline[i] for every round i where both are
// measured and the baseline is not zero: each ratio compares two runs of
// the same round, under the same conditions.
func Ratios(subject, baseline []float64) []float64 {
	var rs []float64
	for i := range min(len(subject), len(baseline)) {
		if baseline[i] != 0 && !math.IsNaN(subject[i]) && !math.IsNaN(baseline[i]) {
			rs = append(rs, subject[i]/baseline[i])
		}
	}
	return rs
}
