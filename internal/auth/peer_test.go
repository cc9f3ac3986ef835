package auth

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
)

func TestSocketOwnerFindsTheConnectionsOtherEnd(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the tables below are written as a little-endian kernel writes them")
	}
	// /proc/net/tcp and tcp6 as Linux writes them: a listener on
	// 127.0.0.1:8000 (0x1F40), the browser's end (port 0xD431 = 54321, uid
	// 1000), the server's end of it (uid 4000 here, so that finding it in
	// place of the browser's shows), and another user's connection (port
	// 0xD432).
	const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:D431 0100007F:1F40 01 00000000:00000000 00:00000000 00000000  1000        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:1F40 0100007F:D431 01 00000000:00000000 00:00000000 00000000  4000        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:D432 0100007F:1F40 01 00000000:00000000 00:00000000 00000000  1001        0 4 1 0000000000000000 20 4 30 10 -1
`
	const tcp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:D433 00000000000000000000000001000000:1F40 01 00000000:00000000 00:00000000 00000000  1002        0 5 1 0000000000000000 20 4 30 10 -1
   1: 0000000000000000FFFF00000100007F:D434 0000000000000000FFFF00000100007F:1F40 01 00000000:00000000 00:00000000 00000000     0        0 6 1 0000000000000000 20 4 30 10 -1
`
	listener := netip.MustParseAddrPort("127.0.0.1:8000")
	tests := []struct {
		name   string
		table  string
		local  netip.AddrPort
		remote string
		uid    uint32
		found  bool
	}{
		{"the browser", tcp, listener, "127.0.0.1:54321", 1000, true},
		{"another user", tcp, listener, "127.0.0.1:54322", 1001, true},
		{"no such connection", tcp, listener, "127.0.0.1:54323", 0, false},
		{"another listener", tcp, netip.MustParseAddrPort("127.0.0.1:8001"), "127.0.0.1:54321", 0, false},
		{"IPv6 loopback", tcp6, netip.MustParseAddrPort("[::1]:8000"), "[::1]:54323", 1002, true},
		{"IPv4 on a dual-stack socket", tcp6, listener, "127.0.0.1:54324", 0, true},
		{"an empty table", "", listener, "127.0.0.1:54321", 0, false},
		{"a broken table", "header\n 0: zz:1F40 0100007F:1F40 01 x x x x 1000\n", listener, "127.0.0.1:54321", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uid, err := socketOwner(strings.NewReader(tt.table), tt.local, netip.MustParseAddrPort(tt.remote))
			if (err == nil) != tt.found || uid != tt.uid {
				t.Fatalf("socketOwner = %d, %v; want %d, found %v", uid, err, tt.uid, tt.found)
			}
		})
	}
}

// TestPeerOwnersNamesThisUsersConnection asks the real socket table who
// opened a real loopback connection.
func TestPeerOwnersNamesThisUsersConnection(t *testing.T) {
	owner := peerOwners()
	if owner == nil {
		t.Skip("this system offers no socket owners, so SignOut sends no hint here")
	}
	var got struct {
		uid uint32
		err error
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local, remote, err := requestPeer(r)
		if err == nil {
			got.uid, got.err = owner(local, remote)
		} else {
			got.err = err
		}
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got.err != nil || got.uid != uint32(os.Getuid()) {
		t.Fatalf("owner = %d, %v; want this process's uid", got.uid, got.err)
	}
}

func TestOpenedByThisUser(t *testing.T) {
	listener := netip.MustParseAddrPort("127.0.0.1:8000")
	uids := map[uint16]uint32{1: 1000, 2: 0, 3: 1001}
	owner := func(_, remote netip.AddrPort) (uint32, error) {
		if uid, ok := uids[remote.Port()]; ok {
			return uid, nil
		}
		return 0, errPeerUnknown
	}
	tests := []struct {
		name  string
		owner peerOwner
		port  int
		local bool
		want  bool
	}{
		{"this user", owner, 1, true, true},
		{"root", owner, 2, true, true},
		{"another user", owner, 3, true, false},
		{"not in the table", owner, 4, true, false},
		{"no local address", owner, 1, false, false},
		{"no socket table on this system", nil, 1, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &signOutHandler{owner: tt.owner, uid: 1000}
			r := httptest.NewRequest("GET", "/sign-out/x", nil)
			r.RemoteAddr = fmt.Sprintf("127.0.0.1:%d", tt.port)
			if tt.local {
				r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, net.TCPAddrFromAddrPort(listener)))
			}
			if got := h.openedByThisUser(r); got != tt.want {
				t.Fatalf("openedByThisUser = %v, want %v", got, tt.want)
			}
		})
	}
}
