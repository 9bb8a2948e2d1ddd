package bench

import "fmt"

// Transports lists the fan-out transports that BenchmarkFanout and
// TestFanout run, baselines first. A new transport plugs in by being
// appended here (children find it by Name).
func Transports() []Transport {
	return []Transport{SeqPacket{}, Dgram{}, ShmRing{}, IPN{}, IPNAPI{}}
}

// Pairs lists the ping-pong pairs that BenchmarkPingPong and TestPingPong run.
// PairOf turns any Transport into a Pair.
func Pairs() []Pair {
	return []Pair{PairOf(SeqPacket{}), Eventfd{}, Eventfd{Blocking: true}, PairOf(ShmRing{}),
		PairOf(IPN{}), PairOf(IPN{Spin: SpinNone})}
}

func lookupTransport(name string) (Transport, error) {
	for _, t := range Transports() {
		if t.Name() == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("bench: no transport %q in Transports", name)
}

func lookupPair(name string) (Pair, error) {
	for _, p := range Pairs() {
		if p.Name() == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("bench: no pair %q in Pairs", name)
}
