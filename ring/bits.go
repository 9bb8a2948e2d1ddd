package ring

import "math/bits"

func trailingZeros(w uint64) int { return bits.TrailingZeros64(w) }

func onesCount(w uint64) int { return bits.OnesCount64(w) }
