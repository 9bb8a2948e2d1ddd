// Package netnstest gives tests namespaces that go away with the test.
package netnstest

import (
	"testing"

	"github.com/ipn-project/ipn/internal/netns"
)

// New makes a network namespace called name that is deleted at the test's
// end.
func New(t testing.TB, name string) *netns.NS {
	t.Helper()
	ns, err := netns.New(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Error(err)
		}
	})
	return ns
}

// Host is the test process's own namespace, released at the test's end.
func Host(t testing.TB) *netns.NS {
	t.Helper()
	h, err := netns.Host()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}
