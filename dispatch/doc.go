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
// Which process runs each hook, and when. Dispatch runs in the sender's
// process, at once with other senders' Dispatch in other processes: a
// member's, or the coordinator's for frames it pumps from a persistent
// interface. Every other hook runs in the coordinator (ipnd), under the
// network's lock, so one at a time per network and never during another
// hook of the same network (Dispatch excepted), in IPN's order:
//
//	NewNet       at creation, before any node can join; an error fails it
//	AreaSize     at creation, before NewNet
//	NewPort      when a node connects, to pick its port
//	PostNewPort  once that port is open and the node holds it
//	ResizeNet    on ChangeNumNodes, before it takes effect (Ports still
//	             reports the old number); an error refuses the change
//	PreDelPort   when the port's node closed or died (SIGKILL included),
//	             before the coordinator reclaims what it held
//	DelPort      after the reclaim, before the port can be taken again
//	DelNet       when the network ends, after every live port's DelPort
//	Optioner     on SetPolicyOption (bound nodes) and PolicyOption
//	Controller   on Node.Control and ipn port --control (bound nodes with
//	             execute permission on the network's file, checked at the
//	             call; port is -1 when the call is about no port)
//	Describer    on ipn stat
//
// Each port gets PostNewPort, PreDelPort and DelPort once per life; a
// persistent interface node keeps its port (and gets no port hook) while
// its controller changes between a process and the coordinator's pump.
// State a hook needs in senders belongs in the area, since Dispatch runs
// in other processes; state only the coordinator's hooks use may live in
// the policy value, but is lost with the coordinator.
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
