package netdev

import (
	"fmt"
	"net"

	"github.com/songgao/water"
)

// Device is a kernel network interface that carries one frame per call.
// Read and Write may run concurrently; Close ends both.
type Device interface {
	Name() string
	Read(frame []byte) (int, error)
	Write(frame []byte) (int, error)
	Close() error
}

// tap is a TAP or TUN interface.
type tap struct{ *water.Interface }

var _ Device = tap{}

// NewTAP creates a TAP interface named name, or ipnN (the first free N)
// when name is empty. The kernel checks CAP_NET_ADMIN.
func NewTAP(name string) (Device, error) { return newWater(water.TAP, "tap", "ipn", name) }

// NewTUN creates a TUN interface (IP packets, no Ethernet header, for
// layer-3 networks) named name, or ipntunN when name is empty.
func NewTUN(name string) (Device, error) { return newWater(water.TUN, "tun", "ipntun", name) }

func newWater(kind water.DeviceType, what, prefix, name string) (Device, error) {
	if name == "" {
		name = freeName(prefix)
	}
	ifc, err := water.New(water.Config{DeviceType: kind, PlatformSpecificParams: water.PlatformSpecificParams{Name: name}})
	if err != nil {
		return nil, fmt.Errorf("netdev: %s %s: %w", what, name, err)
	}
	return tap{ifc}, nil
}

// freeName returns prefix followed by the lowest number no interface has.
func freeName(prefix string) string {
	for i := 0; ; i++ {
		n := fmt.Sprintf("%s%d", prefix, i)
		if _, err := net.InterfaceByName(n); err != nil {
			return n
		}
	}
}
