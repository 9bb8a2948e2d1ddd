package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// writeLossy writes the lossy matrix: delivered rate and drop rate per
// receiver, then the offered rate.
func (m *Matrix) writeLossy(b *strings.Builder) {
	if len(m.Lossy) == 0 {
		return
	}
	names := m.Settings.Lossy
	spread := m.Settings.Rounds > 1
	cell := func(s *LossySeries, format func(*LossySeries) string) string {
		if s == nil {
			return statusCell("—", nil)
		}
		return statusCell(s.Status, func() string { return format(s) })
	}
	fmt.Fprintf(b, "## Fan-out at an offered rate above capacity (lossy)\n\n")
	fmt.Fprintf(b, "The same fan-out over transports that may drop, the sender sending as fast as it can and never waiting for a receiver. "+
		"Each cell: median messages per second delivered to each receiver, and (in brackets) the median share of the messages sent that a receiver did not get. "+
		"Every message that arrived was compared byte for byte with what the sender generated, and none arrived twice or out of order; "+
		"a drop rate near 0%% means the sender could not outrun the receivers there.\n\n")
	tableHead(b, append([]string{"receivers", "payload"}, names...))
	for _, c := range m.Lossy {
		row := []string{strconv.Itoa(c.Receivers), fmtPayload(c.Payload)}
		for _, name := range names {
			row = append(row, cell(c.series(name), func(s *LossySeries) string {
				return fmtStat(s.Delivered, rateUnit, spread) + " (" + fmtPercent(s.DropRate.Median) + ")"
			}))
		}
		tableRow(b, row)
	}
	b.WriteString("\n")
	fmt.Fprintf(b, "Median offered rate: messages the sender sent per second of its sending time.\n\n")
	tableHead(b, append([]string{"receivers", "payload"}, names...))
	for _, c := range m.Lossy {
		row := []string{strconv.Itoa(c.Receivers), fmtPayload(c.Payload)}
		for _, name := range names {
			row = append(row, cell(c.series(name), func(s *LossySeries) string { return fmtStat(s.Offered, rateUnit, false) }))
		}
		tableRow(b, row)
	}
	b.WriteString("\n")
}

// fmtPercent formats a share as a percentage with one decimal.
func fmtPercent(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" }
