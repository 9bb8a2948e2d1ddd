package shm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func newSeg(t *testing.T, g Geometry) *Segment {
	t.Helper()
	s, err := Create(t.TempDir(), "seg", g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCreateAttach(t *testing.T) {
	g := Derive(Options{MTU: 9000, Ports: 8, Pool: 16})
	s := newSeg(t, g)
	f, err := os.OpenFile(s.File().Name(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Attach(f)
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	defer a.Close()
	if a.Geometry != g || a.Layout != s.Layout {
		t.Errorf("attached geometry %+v, want %+v", a.Geometry, g)
	}
	s.Uint64(OffReaders).Store(0x5)
	if got := a.Uint64(OffReaders).Load(); got != 0x5 {
		t.Errorf("write through one mapping not seen in the other: %#x", got)
	}
}

func TestCreateErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create(dir, "x", Geometry{}); !errors.Is(err, ErrGeometry) || !errors.Is(err, syscall.EINVAL) {
		t.Errorf("zero geometry: %v, want ErrGeometry", err)
	}
	if _, err := Create(dir, "../escape", Derive(Options{})); err == nil {
		t.Errorf("name with a slash accepted")
	}
	g := Derive(Options{Ports: 65})
	if err := g.Validate(); !errors.Is(err, ErrGeometry) {
		t.Errorf("65 ports: %v, want ErrGeometry", err)
	}
	s := newSeg(t, Derive(Options{}))
	if _, err := Create(filepath.Dir(s.File().Name()), "seg", Derive(Options{})); !errors.Is(err, os.ErrExist) {
		t.Errorf("create over an existing segment: %v, want ErrExist", err)
	}
}

func TestNoSpace(t *testing.T) {
	// A geometry far larger than any tmpfs here must fail at creation with
	// ENOSPC, before anything is mapped.
	g := Derive(Options{MTU: MaxMTU, Ports: 64, Pool: 4096})
	_, err := Create(t.TempDir(), "huge", g)
	if !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("huge segment: %v, want ErrNoSpace", err)
	}
}

// corrupt writes a copy of a valid segment with one change and attaches it.
func corrupt(t *testing.T, change func(b []byte) []byte) error {
	t.Helper()
	s := newSeg(t, Derive(Options{Ports: 4}))
	b, err := os.ReadFile(s.File().Name())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(p, change(b), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := Open(p)
	if err == nil {
		a.Close()
	}
	return err
}

func TestAttachRefusesDamage(t *testing.T) {
	le := binary.LittleEndian
	for _, c := range []struct {
		name   string
		change func([]byte) []byte
		want   error
	}{
		{"empty", func(b []byte) []byte { return nil }, ErrDamaged},
		{"truncated header", func(b []byte) []byte { return b[:100] }, ErrDamaged},
		{"truncated body", func(b []byte) []byte { return b[:len(b)-64] }, ErrDamaged},
		{"longer", func(b []byte) []byte { return append(b, make([]byte, 4096)...) }, ErrDamaged},
		{"magic", func(b []byte) []byte { b[0] ^= 1; return b }, ErrForeign},
		{"version", func(b []byte) []byte { le.PutUint32(b[OffVersion:], 99); return b }, ErrVersion},
		{"mtu", func(b []byte) []byte { le.PutUint32(b[OffMTU:], 0); return b }, ErrDamaged},
		{"ports", func(b []byte) []byte { le.PutUint32(b[OffPorts:], 65); return b }, ErrDamaged},
		{"ring cap", func(b []byte) []byte { le.PutUint32(b[OffRingCap:], 12); return b }, ErrDamaged},
		{"size", func(b []byte) []byte { le.PutUint64(b[OffSize:], 1); return b }, ErrDamaged},
		{"slots", func(b []byte) []byte { le.PutUint32(b[OffSlots:], 3); return b }, ErrDamaged},
		{"flags", func(b []byte) []byte { le.PutUint32(b[OffFlags:], 0x80); return b }, ErrDamaged},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := corrupt(t, c.change); !errors.Is(err, c.want) {
				t.Errorf("attach: %v, want %v", err, c.want)
			}
		})
	}
}

func TestAttachNotRegular(t *testing.T) {
	f, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Attach(f); !errors.Is(err, ErrForeign) {
		t.Errorf("attach a directory: %v, want ErrForeign", err)
	}
}

func TestDerive(t *testing.T) {
	g := Derive(Options{})
	if g.MTU != 1514 || g.Ports != 32 || g.Pool != 8 || g.Lossless() {
		t.Errorf("defaults = %+v, want IPN's: MTU 1514, 32 nodes, pool 8, lossy", g)
	}
	if err := g.Validate(); err != nil {
		t.Error(err)
	}
	l := Derive(Options{Pool: 10, Lossless: true})
	if l.Slots != 10 || l.RingCap != 16 {
		t.Errorf("lossless pool 10: slots %d ring %d, want 10 and 16", l.Slots, l.RingCap)
	}
	if err := l.Validate(); err != nil {
		t.Error(err)
	}
}

func ExampleDerive() {
	g := Derive(Options{Ports: 4, Pool: 8})
	fmt.Println(g.MTU, g.Ports, g.Pool, g.Slots, g.RingCap, g.Lossless())
	// Output: 1514 4 8 104 8 false
}
