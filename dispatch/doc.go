// Package dispatch owns the dispatch policies of SPEC §3: the policy
// interface with its hooks, a registry by number, the hop limit, and the
// policies shipped with ipn.
//
// A policy decides, for each message, who receives it. Dispatch runs in
// the sender's process, inside its send step, on state the policy keeps in
// the segment's policy area (Net.Area), so every sender sees the same
// switch. Only NewPort and Dispatch are required; the other hooks of IPN's
// struct ipn_protocol are optional interfaces a policy may implement:
//
//	NetStarter   new network         (ipn_p_newnet)
//	Resizer      network resize      (ipn_p_resizenet)
//	NetEnder     network end         (ipn_p_delnet)
//	PortStarter  after a port is live (ipn_p_postnewport)
//	PortStopper  before a port goes  (ipn_p_predelport)
//	PortEnder    port end            (ipn_p_delport)
//	Optioner     policy options      (ipn_p_setsockopt, _getsockopt)
//	Controller   control calls       (ipn_p_ioctl)
//
// Numbers: hub 1, Ethernet switch 2, layer-3 switch 3 (IPN's own), and 16
// up for policies of users' own, registered with Register in every program
// that uses them (the coordinator's, and each member's).
//
// Writing a policy: implement NewPort (pick a port, usually the lowest free
// one, or the one asked for) and Dispatch (read d.Data(), call d.To with
// the ports that get the message as it is, and d.Variant for ports that
// need other bytes). Dispatch must not wait and must not keep d. Keep
// shared state in the area with atomic words only: other senders run the
// same code on it at the same time, in other processes.
package dispatch
