// Package netns makes the network namespaces and links that the root-only
// tests and benchmarks need, and configures the interfaces of ipn tap and
// tun, over netlink (github.com/vishvananda/netlink), without running ip: named namespaces, veth pairs, VLAN subinterfaces,
// Linux bridges, addresses, links moved between namespaces and set up. It
// also starts programs (ping, iperf3) inside a namespace.
//
// # Threads and namespaces
//
// A network namespace belongs to an OS thread, not to a process or a
// goroutine. Whatever must run inside a namespace (making it, starting a
// program in it) runs in a fresh goroutine locked to its thread that never
// unlocks it: when that goroutine returns, the Go runtime ends the thread
// instead of handing it, still in the foreign namespace, to other
// goroutines. Everything else goes through a netlink socket opened inside
// the namespace (netlink.NewHandleAt), which needs no thread at all.
//
// Programs are started by forking from such a locked thread (the child
// inherits its namespace) rather than through ip netns exec: the namespace
// is already a handle here, so tests need neither iproute2 nor a second
// program in between, and the *exec.Cmd is the real program, so killing
// and waiting act on it directly.
package netns
