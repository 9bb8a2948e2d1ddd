package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/matrix"
)

// Plot draws the lossless fan-out as an SVG: one panel per payload,
// messages per second per receiver (median, log scale) against the number
// of receivers, one line per transport that ran.
func Plot(w io.Writer, m *matrix.Matrix) error { return page{m}.writePlot(w) }

func (m page) writePlot(w io.Writer) error {
	payloads, receivers := m.fanoutAxes()
	if len(payloads) == 0 {
		return errors.New("bench: plot: no fan-out cells")
	}
	row := make([]*plot.Plot, len(payloads), len(payloads)+1)
	// The legend gets a panel of its own: beside the lines, it would hide
	// some of them.
	key := plot.New()
	key.HideAxes()
	key.Legend.Top, key.Legend.Left = true, true
	key.Legend.TextStyle.Font.Size = vg.Points(10)
	for j, payload := range payloads {
		p := plot.New()
		p.Title.Text = harness.FmtPayload(payload)
		p.X.Label.Text = "receivers"
		p.Y.Label.Text = "msgs/s per receiver"
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.X.Tick.Marker = receiverTicks(receivers)
		for i, name := range m.Settings.Transports {
			var xys plotter.XYs
			for _, c := range m.Fanout {
				if s := c.SeriesOf(name); c.Payload == payload && s != nil && s.Status == "" && s.MsgsPerSec.Median > 0 {
					xys = append(xys, plotter.XY{X: float64(c.Receivers), Y: s.MsgsPerSec.Median})
				}
			}
			if len(xys) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(xys)
			if err != nil {
				return fmt.Errorf("bench: plot %s at %s: %w", name, harness.FmtPayload(payload), err)
			}
			line.Color, points.Color = plotutil.Color(i), plotutil.Color(i)
			line.Dashes = plotutil.Dashes(i)
			points.Shape = plotutil.Shape(i)
			p.Add(line, points)
			if j == 0 {
				key.Legend.Add(name, line, points)
			}
		}
		row[j] = p
	}
	row = append(row, key)
	const panel = 3.2 * vg.Inch
	img := vgsvg.New(vg.Length(len(row))*panel, panel+0.4*vg.Inch)
	tiles := draw.Tiles{Rows: 1, Cols: len(row), PadX: vg.Millimeter, PadY: vg.Millimeter,
		PadTop: vg.Millimeter, PadBottom: vg.Millimeter, PadLeft: vg.Millimeter, PadRight: vg.Millimeter}
	canvases := plot.Align([][]*plot.Plot{row}, tiles, draw.New(img))
	for j, p := range row {
		p.Draw(canvases[0][j])
	}
	_, err := img.WriteTo(w)
	return err
}

// fanoutAxes lists the payloads and receiver counts of the fan-out cells,
// in the order they first appear.
func (m page) fanoutAxes() (payloads, receivers []int) {
	seenP, seenR := map[int]bool{}, map[int]bool{}
	for _, c := range m.Fanout {
		if !seenP[c.Payload] {
			seenP[c.Payload] = true
			payloads = append(payloads, c.Payload)
		}
		if !seenR[c.Receivers] {
			seenR[c.Receivers] = true
			receivers = append(receivers, c.Receivers)
		}
	}
	return payloads, receivers
}

// receiverTicks puts a labelled tick at each receiver count.
func receiverTicks(receivers []int) plot.ConstantTicks {
	var ticks plot.ConstantTicks
	for _, n := range receivers {
		ticks = append(ticks, plot.Tick{Value: float64(n), Label: fmt.Sprint(n)})
	}
	return ticks
}

// WriteResults writes m as Markdown to mdPath and its plot beside it (the
// same name in lower case, ending in .svg: RESULTS.md gets results.svg),
// linked from the Markdown. It returns the Markdown.
func WriteResults(m *matrix.Matrix, mdPath string) ([]byte, error) {
	base := filepath.Base(mdPath)
	plotName := strings.ToLower(strings.TrimSuffix(base, filepath.Ext(base))) + ".svg"
	var svg strings.Builder
	if err := Plot(&svg, m); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(mdPath), plotName), []byte(svg.String()), 0o644); err != nil {
		return nil, err
	}
	m.Plot = plotName
	var md strings.Builder
	if err := Markdown(&md, m); err != nil {
		return nil, err
	}
	// Keep the network-path section, which TestWriteNetResults writes.
	out := keepNetSection(mdPath, []byte(md.String()))
	return out, os.WriteFile(mdPath, out, 0o644)
}
