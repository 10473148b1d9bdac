package listen_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/listen"
)

func TestParseCIDRs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, err string
	}{
		{"empty", "", "[]", ""},
		{"blanks", " , ,", "[]", ""},
		{"v4 and v6", "127.0.0.0/8, ::1/128", "[127.0.0.0/8 ::1/128]", ""},
		{"host bits are masked", "10.1.2.3/8", "[10.0.0.0/8]", ""},
		{"single addresses", "10.0.0.7,fe80::1", "[10.0.0.7/32 fe80::1/128]", ""},
		{"v4-mapped", "::ffff:10.0.0.0/104,::ffff:10.0.0.9", "[10.0.0.0/8 10.0.0.9/32]", ""},
		{"bad prefix length", "10.0.0.0/33", "", `"10.0.0.0/33" is not a network`},
		{"a host name", "localhost", "", `"localhost" is not a network`},
		{"a zone", "fe80::1%eth0", "", `"fe80::1%eth0" is not a network`},
		{"a zone in a prefix", "fe80::%eth0/64", "", `"fe80::%eth0/64"`},
		{"one bad among good", "127.0.0.0/8,300.0.0.1", "", `"300.0.0.1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := listen.ParseCIDRs(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := fmt.Sprint(got); s != tt.want && !(tt.want == "[]" && got == nil) {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
}

func TestAllows(t *testing.T) {
	t.Parallel()
	nets, _ := listen.ParseCIDRs("127.0.0.0/8,::1/128,10.1.0.0/16")
	a := listen.NewAllow(nets)
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "127.9.9.9": true, "::1": true, "::ffff:127.0.0.1": true, "10.1.200.3": true,
		"10.2.0.1": false, "192.168.1.1": false, "::2": false, "fe80::1%eth0": false,
	} {
		if got := a.Allows(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Allows(%s) = %v, want %v", addr, got, want)
		}
	}
	if n := a.Refused(); n != 4 {
		t.Errorf("Refused = %d, want 4", n)
	}
	var none *listen.Allow = listen.NewAllow(nil)
	if none != nil || !none.Allows(netip.MustParseAddr("192.0.2.1")) || none.Refused() != 0 {
		t.Error("an empty list is not nil, or refuses")
	}
}

// A connection from a client off the list is reset at accept: the client
// sees its first read fail, and the server never sees it.
func TestAcceptRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cidrs string
		ok    bool
	}{
		{"loopback allowed", "127.0.0.0/8", true},
		{"loopback not on the list", "10.0.0.0/8,::1/128", false},
		{"no list", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newListener(t)
			nets, err := listen.ParseCIDRs(tt.cidrs)
			if err != nil {
				t.Fatal(err)
			}
			l.SetAllow(listen.NewAllow(nets))
			if (l.Admit() == nil) != (tt.cidrs == "") {
				t.Errorf("Admit() nil = %v with list %q", l.Admit() == nil, tt.cidrs)
			}
			body, err := fetch(l.Addr().String())
			if tt.ok && (err != nil || body != "ok") {
				t.Fatalf("allowed client: %q, %v", body, err)
			}
			if !tt.ok {
				if err == nil {
					t.Fatalf("refused client got %q", body)
				}
				if l.Refused() != 1 {
					t.Errorf("Refused = %d, want 1", l.Refused())
				}
				// The listener still accepts, and refuses the next
				// client too. (A refused dial may itself fail with the
				// reset, when it comes before connect returns.)
				if _, err := fetch(l.Addr().String()); err == nil {
					t.Fatal("second refused client got an answer")
				}
				if l.Refused() != 2 {
					t.Errorf("Refused = %d after two clients, want 2", l.Refused())
				}
			}
		})
	}
}

// FuzzParseCIDRs: any text gives prefixes or an error naming the entry,
// never a panic; what parses is canonical and parses again to itself.
func FuzzParseCIDRs(f *testing.F) {
	for _, s := range []string{"127.0.0.0/8,::1/128", "10.0.0.7", "::ffff:1.2.3.4/120", "fe80::1%x", "/", ",", "1.2.3.4/-1", "::/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := listen.ParseCIDRs(s)
		if err != nil {
			if !strings.Contains(err.Error(), `"`) {
				t.Errorf("error %q names no entry", err)
			}
			return
		}
		var parts []string
		for _, p := range got {
			if p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Errorf("%q gave a non-canonical %v", s, p)
			}
			parts = append(parts, p.String())
		}
		again, err := listen.ParseCIDRs(strings.Join(parts, ","))
		if err != nil || fmt.Sprint(again) != fmt.Sprint(got) {
			t.Errorf("%q: %v parses again to %v, %v", s, got, again, err)
		}
	})
}
