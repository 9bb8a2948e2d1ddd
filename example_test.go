package ipn_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ipn-project/ipn"
)

// Two nodes on one hub network: a message sent by one reaches every other.
func Example() {
	dir, _ := os.MkdirTemp("", "ipn-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "net")

	a := ipn.NewNode(ipn.Hub)
	defer a.Close()
	a.SetLossless(true)
	if err := a.Bind(path); err != nil { // creates the network
		fmt.Println(err)
		return
	}
	a.Connect(path)

	b := ipn.NewNode(ipn.Hub)
	defer b.Close()
	b.Connect(path)

	a.Send([]byte("hello, network"))
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1514)
	n, err := b.Recv(buf)
	fmt.Println(string(buf[:n]), err)
	// Output: hello, network <nil>
}

// Zero copy: fill a slot of the network's shared memory in place, and read
// a message where it lies.
func ExampleNode_Alloc() {
	dir, _ := os.MkdirTemp("", "ipn-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "net")

	a, b := ipn.NewNode(ipn.Hub), ipn.NewNode(ipn.Hub)
	defer a.Close()
	defer b.Close()
	a.Bind(path)
	a.Connect(path)
	b.Connect(path)

	tx, _ := a.Alloc()
	n := copy(tx.Buf, "written once, read in place")
	a.Submit(tx, n)

	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	v, err := b.RecvView()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(v.Data))
	b.Release(v)
	// Output: written once, read in place
}
