// Package probe runs the real traffic tools, ping and iperf3, inside a
// network namespace (see package netns) and reads their results: packet
// loss and round-trip times, bytes moved and throughput. The namespace
// tests assert on them and the network-path benchmark reports them.
package probe
