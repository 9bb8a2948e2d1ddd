// Package dispatch will own the dispatch policies of SPEC §3: the policy
// interface with its hooks (new network, resize, network end, new port,
// port live, port going, port end, dispatch of one message, options and
// control calls), a registry by number, and the policies shipped with ipn:
// hub (1), Ethernet switch with VLANs (2) and layer-3 switch (3).
//
// Dispatch runs in the sender's process on state kept in the segment's
// policy area (shm.Layout.Policy), and hands ring.Port.Submit the bitmap of
// recipients. Today every sender uses the hub's rule: every reader but
// itself.
package dispatch
