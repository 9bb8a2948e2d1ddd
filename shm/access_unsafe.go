package shm

import (
	"sync/atomic"
	"unsafe"
)

// Typed views of shared words. The offset is checked against the mapping and
// against the word's alignment; the conversions below are the only place
// where the package turns mapped bytes into atomics.

// Uint64 returns the shared 64-bit word at off.
func (s *Object) Uint64(off int) *atomic.Uint64 {
	if off < 0 || off+8 > len(s.mem) || off&7 != 0 {
		panic(badOffset(off, 8, len(s.mem)))
	}
	return (*atomic.Uint64)(unsafe.Pointer(&s.mem[off]))
}

// Uint32 returns the shared 32-bit word at off.
func (s *Object) Uint32(off int) *atomic.Uint32 {
	if off < 0 || off+4 > len(s.mem) || off&3 != 0 {
		panic(badOffset(off, 4, len(s.mem)))
	}
	return (*atomic.Uint32)(unsafe.Pointer(&s.mem[off]))
}

// Uint64s returns n consecutive shared 64-bit words starting at off.
func (s *Object) Uint64s(off, n int) []atomic.Uint64 {
	if off < 0 || n < 0 || off+8*n > len(s.mem) || off&7 != 0 {
		panic(badOffset(off, 8*n, len(s.mem)))
	}
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*atomic.Uint64)(unsafe.Pointer(&s.mem[off])), n)
}
