package auth

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// errPeerUnknown means the user who opened a loopback connection cannot be
// found: the system offers no way (peerOwners is nil), or the connection
// is in no socket table.
var errPeerUnknown = errors.New("cannot tell which user opened this connection")

// peerOwner finds the user id owning the other end of a loopback TCP
// connection: the socket whose local address is remote and whose remote
// address is local.
type peerOwner func(local, remote netip.AddrPort) (uint32, error)

// requestPeer is r's two ends, as the server sees them.
func requestPeer(r *http.Request) (local, remote netip.AddrPort, err error) {
	la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return local, remote, errPeerUnknown
	}
	local, err = netip.ParseAddrPort(la.String())
	if err != nil {
		return local, remote, fmt.Errorf("%w: %v", errPeerUnknown, err)
	}
	remote, err = netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return local, remote, fmt.Errorf("%w: %v", errPeerUnknown, err)
	}
	return local, remote, nil
}

// socketOwner reads a Linux socket table (/proc/net/tcp or tcp6) and
// returns the uid of the other end of a connection this server accepted
// on local from remote: the socket whose own address is remote and whose
// peer is local (not the server's own socket, the reverse). The table is
// readable by every user and lists every socket of the network namespace
// with its owner.
func socketOwner(table io.Reader, local, remote netip.AddrPort) (uint32, error) {
	sc := bufio.NewScanner(table)
	sc.Scan() // the header line
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		l, err1 := parseProcAddr(f[1])
		r, err2 := parseProcAddr(f[2])
		if err1 != nil || err2 != nil || !sameAddrPort(l, remote) || !sameAddrPort(r, local) {
			continue
		}
		uid, err := strconv.ParseUint(f[7], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("%w: the socket table's uid %q", errPeerUnknown, f[7])
		}
		return uint32(uid), nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("%w: %v", errPeerUnknown, err)
	}
	return 0, errPeerUnknown
}

// parseProcAddr reads an address of /proc/net/tcp ("0100007F:1F90") or
// tcp6: the address as 32-bit words in the host's byte order, in hex, and
// the port in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || (len(a) != 8 && len(a) != 32) {
		return netip.AddrPort{}, fmt.Errorf("not a socket table address: %q", s)
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return netip.AddrPort{}, err
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, err
	}
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// sameAddrPort compares with IPv4-mapped IPv6 addresses unmapped: a
// dual-stack socket lists 127.0.0.1 as ::ffff:127.0.0.1.
func sameAddrPort(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().Unmap() == b.Addr().Unmap()
}
