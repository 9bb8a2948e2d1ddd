package transport

import (
	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/transport/shmring"
)

// Transports lists the fan-out transports of the lossless matrix, which
// BenchmarkFanout and TestFanout run, baselines first. A new transport plugs
// in by being appended here (children find it by Name). A transport that
// Drops is listed so that the lossless table says "lossy only" rather than
// leave it out; it runs in LossyTransports.
func Transports() []harness.Transport {
	return []harness.Transport{SeqPacket{}, Dgram{}, shmring.ShmRing{}, IPN{}, IPNAPI{}, ZMQ{}, VDE{}}
}

// LossyTransports lists the transports of the lossy matrix: each may drop a
// message for a receiver that falls behind instead of making the sender
// wait, and TestFanoutLossy checks that what does arrive is intact.
func LossyTransports() []harness.Transport {
	return []harness.Transport{Dgram{Lossy: true}, IPN{Lossy: true}, ZMQ{Lossy: true}, VDE{}}
}

// Pairs lists the ping-pong pairs that BenchmarkPingPong and TestPingPong run.
// PairOf turns any Transport into a Pair.
func Pairs() []harness.Pair {
	return []harness.Pair{harness.PairOf(SeqPacket{}), Eventfd{}, Eventfd{Blocking: true}, harness.PairOf(shmring.ShmRing{}),
		harness.PairOf(IPN{}), harness.PairOf(IPN{Spin: SpinNone})}
}

// All lists every transport a child may be asked to run: Transports, then
// LossyTransports.
func All() []harness.Transport { return append(Transports(), LossyTransports()...) }
