package shm

import "testing"

// FuzzReadGeometry feeds arbitrary headers to the decoder: it must never
// panic, and whatever it accepts must be a geometry that validates and
// whose layout stays within the limits.
func FuzzReadGeometry(f *testing.F) {
	s, err := Create(f.TempDir(), "seed", Derive(Options{Ports: 4}))
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Add(append([]byte(nil), s.Bytes(0, HeaderSize)...))
	f.Add(make([]byte, HeaderSize))
	f.Add([]byte("IPNSEGM"))
	f.Fuzz(func(t *testing.T, h []byte) {
		g, err := ReadGeometry(h)
		if err != nil {
			return
		}
		if err := g.Validate(); err != nil {
			t.Fatalf("accepted geometry fails validation: %v", err)
		}
		if l := LayoutOf(g); l.Size <= l.Slots || l.Size > 1<<40 {
			t.Fatalf("accepted geometry has layout %+v", l)
		}
	})
}
