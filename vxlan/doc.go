// Package vxlan is a VXLAN tunnel endpoint (RFC 7348) for ipn's cables: the
// 8-byte VXLAN header, and a UDP endpoint that moves Ethernet frames in
// batches (recvmmsg, sendmmsg) to and from a peer, which may be the kernel's
// own vxlan device (ip link add NAME type vxlan id N remote ADDR dstport
// 4789), vdeplug4's vxlan plug, or another ipn cable.
//
//	network ── ipn cable ──▶ Batch ──▶ Endpoint.WriteBatch: a VXLAN header
//	                                   before each frame, one sendmmsg to the
//	                                   peer, the group, or the endpoint that
//	                                   a frame's destination was learned at
//	network ◀─ ipn cable ◀── Batch ◀── Endpoint.ReadBatch: one recvmmsg;
//	                                   frames of another VNI, from a
//	                                   stranger or with a bad header dropped
//	                                   and counted
//
// The remote is a unicast peer or a multicast group. With a peer, every
// frame goes to it and only its datagrams are taken. With a group, the
// endpoint joins it and learns, as the kernel's vxlan device does, the
// endpoint behind each source address it hears from; a frame for a learned
// address goes to that endpoint alone, any other (broadcast, multicast,
// unknown) to the group.
//
// # Hop depth
//
// VXLAN has no field for ipn's hop depth, which ends loops between cables
// (SPEC P3). By default a frame arriving from UDP enters the network with a
// hop depth of one, as a frame from a local cable one hop away does, and
// the depth is lost on the way out: a loop through the kernel's VXLAN, as
// through any Ethernet bridge, is not ended by ipn. Between two ipn cables,
// Config.Hops carries the depth in the header's last reserved byte, so a
// cycle of cables through VXLAN ends as one of local cables does. The
// kernel drops packets whose reserved bits are set, so Hops is for links
// whose both ends are ipn.
package vxlan
