package listen_test

import (
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/decoy-dev/decoy/internal/listen"
	"golang.org/x/sys/unix"
)

// kernelList reads one of the kernel's congestion control settings
// (tcp_congestion_control, tcp_available_congestion_control, ...).
func kernelList(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/ipv4/" + name)
	if err != nil {
		t.Skipf("cannot read the kernel's %s: %v", name, err)
	}
	return strings.Fields(string(b))
}

func kernelDefault(t *testing.T) string {
	t.Helper()
	d := kernelList(t, "tcp_congestion_control")
	if len(d) != 1 {
		t.Fatalf("tcp_congestion_control = %q", d)
	}
	return d[0]
}

// accepted connects to ln and returns the congestion control of the
// connection ln accepts.
func accepted(t *testing.T, ln net.Listener) string {
	t.Helper()
	var name string
	var err error
	onAccepted(t, ln, func(fd int) { name, err = unix.GetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION) })
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// TestCongestionNamed: every algorithm the kernel has, set on the
// listening socket, is the one of the connections it accepts (reno is
// always built in; the kernel's default is some other algorithm on most
// hosts, which a connection would get otherwise).
func TestCongestionNamed(t *testing.T) {
	t.Parallel()
	avail := kernelList(t, "tcp_available_congestion_control")
	if !slices.Contains(avail, "reno") {
		t.Fatalf("reno is not among the available algorithms %q", avail)
	}
	allowed := kernelList(t, "tcp_allowed_congestion_control")
	def := kernelDefault(t)
	for _, name := range avail {
		if unix.Geteuid() != 0 && !slices.Contains(allowed, name) && name != def {
			continue // refused without root: see TestCongestionRefused
		}
		for _, shared := range []bool{false, true} {
			ln, err := listen.OpenWith("127.0.0.1:0", listen.Options{Shared: shared, Congestion: name})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got := accepted(t, ln); got != name {
				t.Errorf("shared=%v: an accepted connection has %q, want %q (the kernel's default: %s)", shared, got, name, def)
			}
			if got := listen.CongestionOf(ln); got != name {
				t.Errorf("CongestionOf = %q, want %q", got, name)
			}
			_ = ln.Close()
		}
	}
}

// TestCongestionAuto: auto replaces a BBR default with cubic (reno when
// cubic cannot be set) and keeps any other; system and "" keep the
// default.
func TestCongestionAuto(t *testing.T) {
	t.Parallel()
	def := kernelDefault(t)
	auto := def
	if strings.HasPrefix(def, "bbr") {
		auto = "reno"
		avail := kernelList(t, "tcp_available_congestion_control")
		allowed := kernelList(t, "tcp_allowed_congestion_control")
		if slices.Contains(avail, "cubic") && (unix.Geteuid() == 0 || slices.Contains(allowed, "cubic")) {
			auto = "cubic"
		}
	}
	for setting, want := range map[string]string{listen.CongestionAuto: auto, listen.CongestionSystem: def, "": def} {
		ln, err := listen.OpenWith("127.0.0.1:0", listen.Options{Congestion: setting})
		if err != nil {
			t.Fatalf("%q: %v", setting, err)
		}
		if got := accepted(t, ln); got != want {
			t.Errorf("%q: an accepted connection has %q, want %q (the kernel's default: %s)", setting, got, want, def)
		}
		_ = ln.Close()
	}
}

// TestCongestionRefused: an algorithm the kernel lacks stops the listen
// with an error that lists the available ones and says what to do.
func TestCongestionRefused(t *testing.T) {
	t.Parallel()
	const name = "nosuchcc"
	avail := strings.Join(kernelList(t, "tcp_available_congestion_control"), " ")
	if strings.Contains(" "+avail+" ", " "+name+" ") {
		t.Skipf("the kernel has an algorithm named %s", name)
	}
	ln, err := listen.OpenWith("127.0.0.1:0", listen.Options{Congestion: name})
	if err == nil {
		_ = ln.Close()
		t.Fatalf("listening with congestion control %q succeeded", name)
	}
	var ce *listen.CongestionError
	if !errors.As(err, &ce) || !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("err = %v (%T), want a *CongestionError for ENOENT", err, err)
	}
	for _, w := range []string{avail, "modprobe tcp_" + name, "auto"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
	if unix.Geteuid() != 0 {
		// Without root an algorithm off the allowed list is refused too.
		allowed := kernelList(t, "tcp_allowed_congestion_control")
		for _, a := range kernelList(t, "tcp_available_congestion_control") {
			if slices.Contains(allowed, a) || a == kernelDefault(t) {
				continue
			}
			ln, err := listen.OpenWith("127.0.0.1:0", listen.Options{Congestion: a})
			if err == nil {
				_ = ln.Close()
				t.Fatalf("%s, not allowed without root, was set", a)
			}
			if !errors.Is(err, syscall.EPERM) || !strings.Contains(err.Error(), "only root") {
				t.Errorf("%s: %v, want EPERM and what to do", a, err)
			}
		}
	}
}

// TestCongestionResume: a listener paused and resumed listens again with
// its congestion control.
func TestCongestionResume(t *testing.T) {
	t.Parallel()
	want := "reno"
	if kernelDefault(t) == want {
		want = "cubic"
		if !slices.Contains(kernelList(t, "tcp_available_congestion_control"), want) {
			t.Skip("reno is the kernel's default and cubic is not available: nothing to tell apart")
		}
	}
	for _, shared := range []bool{false, true} {
		o := listen.Options{Shared: shared, Congestion: want}
		ln, err := listen.OpenWith("127.0.0.1:0", o)
		if err != nil {
			t.Fatal(err)
		}
		l := listen.NewWith("http", ln, o)
		if err := l.Pause(); err != nil {
			t.Fatal(err)
		}
		if err := l.Resume(); err != nil {
			t.Fatal(err)
		}
		if got := accepted(t, l); got != want {
			t.Errorf("shared=%v: after resume an accepted connection has %q, want %q", shared, got, want)
		}
		_ = l.Close()
	}
}
