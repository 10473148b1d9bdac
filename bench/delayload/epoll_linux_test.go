package main

import (
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cmsg builds one control message of level and typ carrying data.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestArrival(t *testing.T) {
	t.Parallel()
	ts := unix.NsecToTimespec(time.Date(2026, 11, 28, 10, 0, 0, 123456789, time.UTC).UnixNano())
	stamp := unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts))
	want := time.Unix(ts.Unix())
	cases := []struct {
		name string
		oob  []byte
		want time.Time
	}{
		{"none", nil, time.Time{}},
		{"timestamp", cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, stamp), want},
		{"after another message", append(cmsg(unix.SOL_IP, unix.IP_TTL, []byte{64, 0, 0, 0}), cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, stamp)...), want},
		{"another message only", cmsg(unix.SOL_IP, unix.IP_TTL, []byte{64, 0, 0, 0}), time.Time{}},
		{"too short", cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, stamp[:8]), time.Time{}},
		{"truncated header", []byte{1, 2, 3}, time.Time{}},
	}
	for _, c := range cases {
		if got := arrival(c.oob); !got.Equal(c.want) {
			t.Errorf("%s: arrival %v, want %v", c.name, got, c.want)
		}
	}
}
