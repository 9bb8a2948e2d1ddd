package matrix

import (
	"fmt"
	"io"
)

// Rotation returns the order in which round r runs n contenders: the
// indices 0…n-1 started at r mod n, so that each runs first in turn.
func Rotation(n, r int) []int {
	order := make([]int, n)
	for k := range order {
		order[k] = (k + r) % n
	}
	return order
}

// runRotated runs the n contenders of round r (but those skip names) in
// the order rotation gives, each through run with its place in that order;
// round 0 starts with a warm-up pass whose place is -1 (figures discarded).
func runRotated(n, r int, skip func(i int) bool, run func(i, order int, what string) error) error {
	if r == 0 {
		for _, i := range Rotation(n, r) {
			if skip(i) {
				continue
			}
			if err := run(i, -1, "warm-up"); err != nil {
				return err
			}
		}
	}
	for k, i := range Rotation(n, r) {
		if skip(i) {
			continue
		}
		if err := run(i, k, fmt.Sprintf("round %d", r+1)); err != nil {
			return err
		}
	}
	return nil
}

// Progress writes one line of progress to w, if any.
func Progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
