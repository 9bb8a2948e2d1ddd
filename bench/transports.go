package bench

// Transports lists the fan-out transports of the lossless matrix, which
// BenchmarkFanout and TestFanout run, baselines first. A new transport plugs
// in by being appended here (children find it by Name). A transport that
// Drops is listed so that the lossless table says "lossy only" rather than
// leave it out; it runs in LossyTransports.
func Transports() []Transport {
	return []Transport{SeqPacket{}, Dgram{}, ShmRing{}, IPN{}, IPNAPI{}, ZMQ{}, VDE{}}
}

// LossyTransports lists the transports of the lossy matrix: each may drop a
// message for a receiver that falls behind instead of making the sender
// wait, and TestFanoutLossy checks that what does arrive is intact.
func LossyTransports() []Transport {
	return []Transport{Dgram{Lossy: true}, IPN{Lossy: true}, ZMQ{Lossy: true}, VDE{}}
}

// Pairs lists the ping-pong pairs that BenchmarkPingPong and TestPingPong run.
// PairOf turns any Transport into a Pair.
func Pairs() []Pair {
	return []Pair{PairOf(SeqPacket{}), Eventfd{}, Eventfd{Blocking: true}, PairOf(ShmRing{}),
		PairOf(IPN{}), PairOf(IPN{Spin: SpinNone})}
}

// All lists every transport a child may be asked to run: Transports, then
// LossyTransports.
func All() []Transport { return append(Transports(), LossyTransports()...) }
