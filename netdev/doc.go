// Package netdev owns the interface nodes of SPEC §4: network interfaces of
// the kernel that join an ipn network as nodes, and the pump that moves
// frames between an interface and a node.
//
// Today: TAP interfaces (D1), created with the caller's own credentials, so
// the kernel checks CAP_NET_ADMIN. To come: TUN nodes for layer-3
// networks, GRAB of real interfaces, persistence.
//
// The package is a leaf: the pump talks to a node through the small Port
// interface, which *ipn.Node satisfies.
package netdev
