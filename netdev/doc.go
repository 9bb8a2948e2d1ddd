// Package netdev owns the interface nodes of SPEC §4: network interfaces of
// the kernel that join an ipn network as nodes, and the pump that moves
// frames between an interface and a node.
//
// The kinds are TAP interfaces for Ethernet networks and TUN interfaces for
// layer-3 networks (D1), created with the caller's own credentials so the
// kernel checks CAP_NET_ADMIN, and GRAB of an existing interface through a
// raw AF_PACKET socket bound to it (D2), which the kernel checks for
// CAP_NET_RAW. Every kind is one descriptor, so an interface can be handed
// to the coordinator and back (FromFile) for persistence (D3); Identify
// tells the coordinator what a descriptor handed to it really is.
//
// Frames move in batches (Batch): a pump's read from the interface takes
// every frame that is ready, up to the batch size, in one wake-up (one
// recvmmsg for a grabbed interface), and its write to the interface sends
// every frame the node had waiting. With a node that lends its slots
// (SlotPort), a TAP or TUN pump moves each frame between the interface and
// shared memory with no copy of its own. Buffers are allocated once per
// pump; nothing is allocated per frame.
//
// Offload: TAP and TUN nodes on a network whose MTU is at least OffloadMTU
// move TCP segments of up to 64 KiB whole, with a virtio-net header, and a
// grabbed interface always speaks that header, since the kernel hands its
// packet socket coalesced segments with checksums left to fill. The pump
// completes those checksums, so what travels on the network is always a
// plain, valid frame; a segment longer than the network's MTU is cut in
// software (SegmentTCP), and one longer than an interface's MTU is handed
// to the kernel to cut.
//
// The package is a leaf, importing none of the project's: the pump talks
// to a node through the small Port interface, which *ipn.Node satisfies,
// and SlotPort, which the coordinator's own port (when it pumps a
// persistent interface) and cmd/ipn's adapter of a node implement.
package netdev
