package netns

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// link finds the link called name in n.
func (n *NS) link(name string) (netlink.Link, error) {
	l, err := n.nl.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("netns: link %s in %s: %w", name, n, err)
	}
	return l, nil
}

// add creates l in n.
func (n *NS) add(l netlink.Link) error {
	if err := n.nl.LinkAdd(l); err != nil {
		return fmt.Errorf("netns: add %s %s in %s: %w", l.Type(), l.Attrs().Name, n, err)
	}
	return nil
}

// AddVeth makes a veth pair name–peer in n, both ends down.
func (n *NS) AddVeth(name, peer string) error {
	return n.add(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer})
}

// AddBridge makes a Linux bridge called name in n, down.
func (n *NS) AddBridge(name string) error {
	return n.add(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}})
}

// AddVLAN makes the 802.1Q subinterface parent.id of parent in n, down,
// and returns its name.
func (n *NS) AddVLAN(parent string, id int) (string, error) {
	p, err := n.link(parent)
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("%s.%d", parent, id)
	attrs := netlink.LinkAttrs{Name: name, ParentIndex: p.Attrs().Index}
	return name, n.add(&netlink.Vlan{LinkAttrs: attrs, VlanId: id, VlanProtocol: netlink.VLAN_PROTOCOL_8021Q})
}

// DelLink deletes the link called name in n (a veth pair goes as a whole).
func (n *NS) DelLink(name string) error {
	l, err := n.link(name)
	if err != nil {
		return err
	}
	if err := n.nl.LinkDel(l); err != nil {
		return fmt.Errorf("netns: delete %s in %s: %w", name, n, err)
	}
	return nil
}

// Move moves the link called name from n into to.
func (n *NS) Move(name string, to *NS) error {
	l, err := n.link(name)
	if err != nil {
		return err
	}
	if err := n.nl.LinkSetNsFd(l, int(to.h)); err != nil {
		return fmt.Errorf("netns: move %s from %s to %s: %w", name, n, to, err)
	}
	return nil
}

// SetMaster enslaves the link called name to the bridge called master.
func (n *NS) SetMaster(name, master string) error {
	l, err := n.link(name)
	if err != nil {
		return err
	}
	m, err := n.link(master)
	if err != nil {
		return err
	}
	if err := n.nl.LinkSetMaster(l, m); err != nil {
		return fmt.Errorf("netns: set master of %s to %s in %s: %w", name, master, n, err)
	}
	return nil
}

// SetMTU sets the MTU of the link called name.
func (n *NS) SetMTU(name string, mtu int) error {
	l, err := n.link(name)
	if err != nil {
		return err
	}
	if err := n.nl.LinkSetMTU(l, mtu); err != nil {
		return fmt.Errorf("netns: set the MTU of %s to %d in %s: %w", name, mtu, n, err)
	}
	return nil
}

// Up sets the named links up.
func (n *NS) Up(names ...string) error {
	for _, name := range names {
		l, err := n.link(name)
		if err != nil {
			return err
		}
		if err := n.nl.LinkSetUp(l); err != nil {
			return fmt.Errorf("netns: set %s up in %s: %w", name, n, err)
		}
	}
	return nil
}

// AddAddr gives the link called name the address cidr ("10.0.0.1/24").
func (n *NS) AddAddr(name, cidr string) error {
	l, err := n.link(name)
	if err != nil {
		return err
	}
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		return fmt.Errorf("netns: address %q: %w", cidr, err)
	}
	if err := n.nl.AddrAdd(l, a); err != nil {
		return fmt.Errorf("netns: add %s to %s in %s: %w", cidr, name, n, err)
	}
	return nil
}

// Adopt moves the link called name from the namespace from into n, gives
// it the address cidr unless that is empty, and sets it up: what a host
// on a network needs.
func (n *NS) Adopt(from *NS, name, cidr string) error {
	if err := from.Move(name, n); err != nil {
		return err
	}
	if cidr != "" {
		if err := n.AddAddr(name, cidr); err != nil {
			return err
		}
	}
	return n.Up(name)
}

// Has reports whether n has a link called name.
func (n *NS) Has(name string) bool {
	_, err := n.nl.LinkByName(name)
	return err == nil
}
