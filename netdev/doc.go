// Package netdev will own the interface nodes of SPEC §4: TAP and TUN
// nodes, GRAB of real interfaces, and the packet pumps that move frames
// between them and a network in batches.
package netdev
