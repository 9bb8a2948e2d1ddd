package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for ipn when the demo re-executes
// itself as a member process.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "member" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestDemo(t *testing.T) {
	for _, lossless := range []bool{true, false} {
		var out bytes.Buffer
		if err := runDemo(&out, 3, 5000, 200, 64, lossless); err != nil {
			t.Fatalf("demo (lossless %v): %v\n%s", lossless, err, out.String())
		}
		for _, want := range []string{"every message delivered was intact and in order", "slots free after all members left"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("demo output lacks %q:\n%s", want, out.String())
			}
		}
		if lossless && strings.Count(out.String(), " 5000 ") < 3 {
			t.Errorf("lossless demo: want 5000 messages at each of 3 receivers:\n%s", out.String())
		}
	}
}
