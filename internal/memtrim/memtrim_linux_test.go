package memtrim

import (
	"bufio"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestReadOnlyMappings(t *testing.T) {
	t.Parallel()
	const maps = `00400000-01230000 r-xp 00000000 08:01 123 /usr/bin/decoy
01230000-02506000 r--p 00e30000 08:01 123 /usr/bin/decoy
02506000-0260f000 rw-p 02106000 08:01 123 /usr/bin/decoy
0260f000-04690000 rw-p 00000000 00:00 0
7f0000000000-7f0000001000 r--p 00000000 08:01 456 /usr/lib/other.so
7f0000002000-7f0000001000 r--p 00000000 08:01 123 /usr/bin/decoy
zz-7f0000003000 r--p 00000000 08:01 123 /usr/bin/decoy
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]
`
	got := readOnlyMappings(strings.NewReader(maps), "/usr/bin/decoy")
	want := []mapping{{0x400000, 0x1230000}, {0x1230000, 0x2506000}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %x, want %x", got, want)
	}
}

// TestReleaseCode: the test binary's code pages leave the process (its
// file-backed resident memory falls) and the process goes on running the
// code, which comes back from the page cache.
func TestReleaseCode(t *testing.T) {
	before := rssFile(t)
	n, err := ReleaseCode()
	if err != nil || n == 0 {
		t.Fatalf("ReleaseCode = %d, %v", n, err)
	}
	after := rssFile(t)
	if after >= before {
		t.Errorf("RssFile %d kB before, %d kB after: nothing was released", before, after)
	}
	// Code runs again after the release.
	if s := strconv.Itoa(12345); s != "12345" {
		t.Fatal(s)
	}
}

func rssFile(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

func TestResidentPages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"453527 4968 2353 3666 0 37926 0\n", 4968, false},
		{"1 2", 2, false},
		{"", 0, true},
		{"453527", 0, true},
		{"453527 x 2353", 0, true},
		{"453527 -4 2353", 0, true},
	}
	for _, tt := range tests {
		got, err := residentPages([]byte(tt.in))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("residentPages(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
