package vxlan

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
)

// frame60 is a minimal Ethernet frame: broadcast, from 02:00:00:00:00:01.
var frame60 = append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5}, make([]byte, 46)...)

func TestHeaderRoundTrip(t *testing.T) {
	for _, h := range []Header{{VNI: 0}, {VNI: 42}, {VNI: MaxVNI, Hop: 255}, {VNI: 0x123456, Hop: 3}} {
		d := make([]byte, HeaderLen, HeaderLen+len(frame60))
		h.Put(d)
		if d[0] != 0x08 || d[1]|d[2]|d[3] != 0 {
			t.Errorf("%+v: flags and first reserved field %x, want 08 000000", h, d[:4])
		}
		got, frame, err := Decode(append(d, frame60...))
		if err != nil || got != h || !bytes.Equal(frame, frame60) {
			t.Errorf("Decode(Put(%+v)) = %+v, %d bytes, %v; want it back with the frame", h, got, len(frame), err)
		}
	}
}

// TestDecodeKernelHeader: a header as the kernel's vxlan device writes it
// (RFC 7348's figure: I flag, VNI, reserved bytes zero) carries hop 0, and
// reserved bits a sender set anyway are ignored.
func TestDecodeKernelHeader(t *testing.T) {
	d := append([]byte{0x08, 0, 0, 0, 0x00, 0x00, 0x2a, 0}, frame60...)
	if h, _, err := Decode(d); err != nil || h != (Header{VNI: 42}) {
		t.Errorf("the kernel's header: got %+v, %v; want VNI 42, hop 0", h, err)
	}
	d[0], d[2] = 0x88, 0x7f
	if h, _, err := Decode(d); err != nil || h.VNI != 42 {
		t.Errorf("reserved flags set: got %+v, %v; want them ignored", h, err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		d    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"header alone", []byte{0x08, 0, 0, 0, 0, 0, 1, 0}, ErrShort},
		{"frame shorter than an Ethernet header", append([]byte{0x08, 0, 0, 0, 0, 0, 1, 0}, frame60[:13]...), ErrShort},
		{"no VNI flag", append([]byte{0x00, 0, 0, 0, 0, 0, 1, 0}, frame60...), ErrNoVNI},
	} {
		_, _, err := Decode(c.d)
		if !errors.Is(err, c.want) || !errors.Is(err, syscall.EPROTO) {
			t.Errorf("%s: got %v, want %v (EPROTO)", c.name, err, c.want)
		}
	}
}

// FuzzDecode: whatever arrives from UDP, Decode neither panics nor reads
// outside the datagram, and what it accepts is a header Put writes back
// the same, before the rest of the datagram.
func FuzzDecode(f *testing.F) {
	f.Add(append([]byte{0x08, 0, 0, 0, 0, 0, 0x2a, 0}, frame60...))
	f.Add([]byte{0x08, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, d []byte) {
		h, frame, err := Decode(d)
		if err != nil {
			if h != (Header{}) || frame != nil {
				t.Fatalf("refused with %v but returned %+v and %d bytes", err, h, len(frame))
			}
			return
		}
		if h.VNI > MaxVNI || len(frame) != len(d)-HeaderLen || len(frame) < ethHeaderLen {
			t.Fatalf("accepted %+v with a frame of %d bytes from %d", h, len(frame), len(d))
		}
		var back [HeaderLen]byte
		h.Put(back[:])
		if back[4] != d[4] || back[5] != d[5] || back[6] != d[6] || back[7] != d[7] || d[0]&0x08 == 0 {
			t.Fatalf("Put(%+v) = %x, want the VNI word of %x", h, back, d[:HeaderLen])
		}
		if !bytes.Equal(frame, d[HeaderLen:]) {
			t.Fatal("the frame is not the rest of the datagram")
		}
	})
}
