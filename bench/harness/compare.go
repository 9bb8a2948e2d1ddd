package harness

// Comparison names a ratio: Subject's figure divided by Baseline's, both
// taken from the same round.
type Comparison struct {
	Subject  string `json:"subject"`
	Baseline string `json:"baseline"`
}

// Ratio is Subject's Metric divided by Baseline's, round by round, and the
// median and range of those per-round ratios.
type Ratio struct {
	Subject  string    `json:"subject"`
	Baseline string    `json:"baseline"`
	Metric   string    `json:"metric"`
	PerRound []float64 `json:"per_round"`
	Stat
}

// Ratio metrics.
const (
	MetricMsgs = "msgs/s"
	MetricP50  = "p50"
	MetricP99  = "p99"
	MetricP999 = "p99.9"
)

func RatioOf(cmp Comparison, metric string, subject, baseline []float64) Ratio {
	rs := Ratios(subject, baseline)
	return Ratio{Subject: cmp.Subject, Baseline: cmp.Baseline, Metric: metric, PerRound: rs, Stat: StatOf(rs)}
}

// MetricOf returns one metric of every run, in round order.
func MetricOf[R any](runs []R, get func(R) float64) []float64 {
	xs := make([]float64, len(runs))
	for i, r := range runs {
		xs[i] = get(r)
	}
	return xs
}

// FindRatio returns the ratio of cmp for metric among rs, or nil.
func FindRatio(rs []Ratio, cmp Comparison, metric string) *Ratio {
	for i, r := range rs {
		if r.Subject == cmp.Subject && r.Baseline == cmp.Baseline && r.Metric == metric {
			return &rs[i]
		}
	}
	return nil
}
