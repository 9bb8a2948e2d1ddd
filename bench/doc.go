// Package bench owns ipn's benchmarks against its anchors: the baselines any
// inter-process transport has to beat or approach, run the same way every
// time, in the same process run as the transport under test.
//
// # Packages
//
// Imports flow one way, from the bottom up:
//
//   - harness: what every run shares: the Transport and Pair interfaces,
//     launching child processes and the child's side of a run, the payload
//     generator (Gen) and the receivers' tally, the machine's description,
//     statistics and ratios, the coordinator the runs through the public API
//     talk to;
//   - transport/shmring: the bare spinning shared-memory ring;
//   - transport: the transports and pairs (sockets, ipn, eventfd, ZeroMQ
//     over purego, vde_switch) and the lists the matrix runs;
//   - matrix: single runs (RunFanout, RunPingPong, the policies, the process
//     pairs on a switch) and the whole matrix (RunMatrix);
//   - netpath: the network paths between namespaces (ipn bench --net);
//   - report: the matrix and the network paths as Markdown, the plot, and
//     the results files;
//   - bench, this package: the entry points of child processes (IsChild,
//     RunChild), the tests of the whole, and RESULTS.md with results.svg.
//
// The command ipn-bench (which "ipn bench" runs) links them; the ipn
// command links none of them.
//
// # What it measures
//
//   - Fan-out (BenchmarkFanout): one sender process sends messages, each to
//     N receiver processes, over each Transport in Transports, for
//     N ∈ {1, 2, 4} and payloads of 64, 1500 and 65536 bytes. ns/op is per
//     message sent (delivered to all receivers), MB/s counts bytes delivered
//     to all receivers, msgs/s/rcv is each receiver's own rate (mean), and
//     snd-allocs/op, rcv-allocs/op count heap allocations in the children.
//
//   - Round trips (BenchmarkPingPong): a pinger process sends a 64-byte
//     message, a ponger process echoes it, over each Pair in Pairs;
//     reported as p50-ns, p99-ns and p99.9-ns.
//
//   - Lossy fan-out (RunMatrix's lossy table, TestFanoutLossy): the same
//     fan-out over transports that may drop (LossyTransports), the sender
//     never waiting: offered rate, delivered rate per receiver, drop rate.
//
//   - Network paths (RunNetPaths, root only): real TCP (iperf3) and ping
//     between two network namespaces through an ipn switch with TAP nodes
//     (ipn tap, segmentation offload on), a Linux bridge with veth pairs
//     and vde_switch with TAP ports (NetPaths), round by round.
//
// The baselines are AF_UNIX SOCK_SEQPACKET and SOCK_DGRAM socketpairs (one
// per receiver, one blocking send per receiver per message), ZeroMQ XPUB/SUB
// over ipc:// (ZMQ; Debian's libzmq, loaded at run time with purego so that
// the module builds without it), vde_switch in hub mode (VDE; Debian's vde2,
// spoken to through its client protocol, lossy only), a bare eventfd round
// trip (Eventfd: the floor of an eventfd wake-up, through the Go runtime
// poller and, as "eventfd-blocking", with the thread blocked in read), and a
// bare spinning shared-memory broadcast ring (ShmRing: the machine's limit).
//
// # Optional abilities, and what is not run
//
// A transport that needs a program or library implements Prober; where
// Available fails (vde_switch or libzmq missing) the matrix marks its
// series "skipped" with the reason, in progress, Markdown and JSON, and the
// tests skip saying what is missing. One that may drop implements Dropper:
// it runs in the lossy table and reads "lossy only" in the lossless one.
// One that carries only small payloads implements PayloadLimiter: "n/a"
// above its limit (vde_switch: 1504 bytes after the Ethernet header).
//
// # Settings, and why they are fair
//
//   - ipn and shmring buffer the same number of messages per receiver: up
//     to 1024 slots, within 16 MiB (ringLayout; ipn's pool gets as many).
//   - zmq: ZMQ_SNDHWM and ZMQ_RCVHWM are each half of those slots, so a
//     subscriber queues as many messages in libzmq as an ipn receiver in its
//     ring (kernel socket buffers come on top, to zmq's advantage).
//     Lossless uses ZMQ_XPUB_NODROP, whose send waits at the high-water mark
//     (back-pressure, as a blocking socket); the sender starts only once
//     XPUB has shown it every subscription (ZMQ_XPUB_VERBOSE), so no
//     subscriber joins late.
//   - seqpacket, dgram and vde keep the kernel's default socket buffers:
//     what their users get.
//   - ipn's receivers poll adaptively before they sleep (ring.Port.SetSpin);
//     ipn-sleep never polls, shmring polls without limit.
//   - Every receiver reads every byte (CRC-32C; lossy receivers also compare
//     every byte with what was sent), so copying transports and zero-copy
//     ones do the same work per message.
//
// # How a run works
//
// The parent (the test or benchmark) calls Transport.Setup, then re-executes
// the test binary once per child with RoleEnv and SpecEnv in the environment
// and the plan's files as exec.Cmd.ExtraFiles; the package's TestMain sees
// RoleEnv and calls RunChild. Children open their endpoints, say they are
// ready, and start together when the parent closes a shared start pipe. The
// sender derives every payload from a seed and the sequence number in its
// first 8 bytes (Gen); every receiver folds every byte of every payload into
// a running CRC-32C and counts messages out of sequence (Tally), whatever
// the transport, so zero-copy is not mistaken for not reading. Each child
// prints a JSON Report; Check compares them with what the seed implies.
//
// # Adding a transport
//
// Implement Transport (Setup in the parent; OpenSender and OpenReceiver in
// the children, which find it by Name) and append it to Transports (or, if
// it Drops, to LossyTransports too); append PairOf(it), or a native Pair, to
// Pairs. TestFanout, TestFanoutLossy and TestPingPong then check it end to
// end and the benchmarks run it beside the baselines.
//
// # Running
//
// Correctness of every transport, end to end with real processes:
//
//	go test ./bench/
//
// Benchmarks (a quick pass: add -benchtime=20000x; the ping-pong and fan-out
// message counts per run are capped, so the default benchtime finishes in a
// few minutes on two cores):
//
//	go test -run '^$' -bench . ./bench/
//
// The figures in RESULTS.md come from RunMatrix: every transport and pair,
// Rounds times, in the same process run and in rotating order, reported as
// medians with ratios taken round by round (report.Markdown). It takes
// minutes and wants a quiet machine, so it runs only when asked for (add
// -quick for a one-round smoke run, -results-json=FILE for the raw figures);
// the plot of msgs/s per receiver against receivers and payload goes beside
// it as results.svg (gonum.org/v1/plot), linked from it:
//
//	go test ./bench/ -run '^TestWriteResults$' -v -timeout 1h -results=RESULTS.md
//
// The network-path section of RESULTS.md, kept by the run above, comes from
// its own run (as root, with iperf3 and vde2):
//
//	go test ./bench/ -run '^TestWriteNetResults$' -v -netresults=RESULTS.md -netrounds=5
//
// The shared-memory ring spins, so its figures depend on having a core per
// process; on a machine with fewer cores than 1+N processes it falls back to
// yielding the thread and measures the scheduler instead.
package bench
