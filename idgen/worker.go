package idgen

import (
	"fmt"
	"net"
	"net/netip"
)

// WorkerFromIP returns the low bits of the IPv4 address ip as a worker ID
// for a layout with the given worker bits, as sony/sonyflake does with 16
// bits: hosts in one /22 get distinct IDs with 10 bits. Its error wraps
// ErrWorkerRange when ip is not IPv4 or bits is outside 0..32.
func WorkerFromIP(ip netip.Addr, bits int) (int64, error) {
	ip = ip.Unmap()
	if !ip.Is4() {
		return 0, fmt.Errorf("%w: %v is not an IPv4 address", ErrWorkerRange, ip)
	}
	if bits < 0 || bits > 32 {
		return 0, fmt.Errorf("%w: %d worker bits; want 0 to 32", ErrWorkerRange, bits)
	}
	b := ip.As4()
	v := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
	return int64(v & (1<<bits - 1)), nil
}

// HostWorker returns a worker ID from the host's first private IPv4 address
// (RFC 1918, or shared 100.64.0.0/10) with WorkerFromIP. It returns
// ErrNoPrivateIP when there is none. Two hosts get the same ID when their
// addresses agree in the low bits: use it only where addresses are assigned
// from one subnet no larger than the worker bits.
func HostWorker(bits int) (int64, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return 0, fmt.Errorf("idgen: interface addresses: %w", err)
	}
	ip, ok := privateIPv4(addrs)
	if !ok {
		return 0, ErrNoPrivateIP
	}
	return WorkerFromIP(ip, bits)
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func privateIPv4(addrs []net.Addr) (netip.Addr, bool) {
	for _, a := range addrs {
		var ip net.IP
		switch v := a.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		default:
			continue
		}
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			continue
		}
		addr = addr.Unmap()
		if addr.Is4() && (addr.IsPrivate() || cgnat.Contains(addr)) {
			return addr, true
		}
	}
	return netip.Addr{}, false
}
