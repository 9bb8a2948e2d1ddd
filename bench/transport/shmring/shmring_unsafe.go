package shmring

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// word64 returns the shared 64-bit word at mem[off:off+8] as a typed atomic.
// The word must be inside mem and 8-byte aligned; mem is a shared mapping,
// never Go heap memory.
func word64(mem []byte, off int) (*atomic.Uint64, error) {
	if off < 0 || off > len(mem)-8 {
		return nil, fmt.Errorf("%w: word at %d outside a mapping of %d bytes", errDamaged, off, len(mem))
	}
	p := unsafe.Pointer(&mem[off])
	if uintptr(p)%8 != 0 {
		return nil, fmt.Errorf("%w: word at %d is not 8-byte aligned", errDamaged, off)
	}
	return (*atomic.Uint64)(p), nil
}
