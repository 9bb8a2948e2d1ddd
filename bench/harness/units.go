package harness

import (
	"fmt"
	"math"
	"strconv"
)

// A unit scales a figure for display: value/Div, then Suffix.
type Unit struct {
	Div    float64
	Suffix string
}

func RateUnit(x float64) Unit {
	switch {
	case x >= 1e6:
		return Unit{1e6, " M"}
	case x >= 1e3:
		return Unit{1e3, " k"}
	}
	return Unit{1, ""}
}

func NsUnit(x float64) Unit {
	switch {
	case x >= 1e6:
		return Unit{1e6, " ms"}
	case x >= 1e3:
		return Unit{1e3, " µs"}
	}
	return Unit{1, " ns"}
}

func MbUnit(float64) Unit { return Unit{1e6, ""} }

// FmtStat formats the median in the unit its size calls for and, with
// spread, the range in the same unit: "1.23 M (1.10–1.31)".
func FmtStat(s Stat, unitOf func(float64) Unit, spread bool) string {
	if s.N == 0 {
		return "—"
	}
	u := unitOf(s.Median)
	out := sig3(s.Median/u.Div) + u.Suffix
	if spread && s.N > 1 {
		out += " (" + sig3(s.Min/u.Div) + "–" + sig3(s.Max/u.Div) + ")"
	}
	return out
}

func FmtRatioStat(r *Ratio, spread bool) string {
	if r == nil || r.N == 0 {
		return "—"
	}
	out := FmtRatio(r.Median) + "×"
	if spread && r.N > 1 {
		out += " (" + FmtRatio(r.Min) + "–" + FmtRatio(r.Max) + ")"
	}
	return out
}

// FmtRatio formats a ratio with two decimals, or two significant digits
// when it is below 0.1, so that a small ratio never reads as zero.
func FmtRatio(x float64) string {
	switch a := math.Abs(x); {
	case a >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	case a >= 0.1 || a == 0:
		return strconv.FormatFloat(x, 'f', 2, 64)
	default:
		return strconv.FormatFloat(x, 'f', 1-int(math.Floor(math.Log10(a))), 64)
	}
}

// sig3 formats x with three significant digits and no exponent (x ≥ 100
// keeps all its integer digits).
func sig3(x float64) string {
	switch a := max(x, -x); {
	case a >= 99.95:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case a >= 9.995:
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

func FmtRate(x float64) string      { return FmtStat(Stat{Median: x, N: 1}, RateUnit, false) }
func FmtNs(x float64) string        { return FmtStat(Stat{Median: x, N: 1}, NsUnit, false) }
func FmtBytesRate(x float64) string { return sig3(x/1e6) + " MB/s" }

// FmtPayload writes a payload size as "64 B", "1500 B" or "64 KiB".
func FmtPayload(p int) string {
	if p >= 1024 && p%1024 == 0 {
		return fmt.Sprintf("%d KiB", p/1024)
	}
	return fmt.Sprintf("%d B", p)
}

func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
