package doctor_test

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/decoy-dev/decoy/internal/doctor"
)

// healthy is a host tuned as the brief asks: every check passes.
func healthy() map[string]string {
	return map[string]string{
		"proc/sys/kernel/osrelease":                            "6.1.0-18-amd64\n",
		"proc/sys/net/core/somaxconn":                          "4096\n",
		"proc/sys/net/ipv4/tcp_max_syn_backlog":                "4096\n",
		"proc/sys/net/ipv4/ip_local_port_range":                "10000\t65535\n",
		"proc/sys/net/ipv4/tcp_window_scaling":                 "1\n",
		"proc/sys/net/ipv4/tcp_tw_reuse":                       "1\n",
		"proc/sys/net/ipv4/tcp_congestion_control":             "cubic\n",
		"proc/sys/net/core/netdev_max_backlog":                 "1000\n",
		"proc/sys/net/netfilter/nf_conntrack_max":              "262144\n",
		"proc/sys/net/netfilter/nf_conntrack_count":            "12\n",
		"proc/net/softnet_stat":                                "0000a1b2 00000000 00000001\n0000a1b3 00000000 00000000\n",
		"proc/net/netstat":                                     "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 0 0 0\nIpExt: InNoRoutes\nIpExt: 0\n",
		"proc/self/status":                                     "Name:\tdecoy\nCpus_allowed:\tf\nCpus_allowed_list:\t0-3\n",
		"proc/loadavg":                                         "0.10 0.20 0.30 1/100 4242\n",
		"proc/77/limits":                                       "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1048576              1048576              files\n",
		"proc/77/comm":                                         "bash\n",
		"sys/devices/system/cpu/online":                        "0-3\n",
		"sys/devices/system/cpu/cpu0/cpufreq/scaling_governor": "performance\n",
		"sys/devices/system/cpu/cpu1/cpufreq/scaling_governor": "performance\n",
	}
}

func host(files map[string]string, soft, hard uint64) doctor.Host {
	m := fstest.MapFS{}
	for k, v := range files {
		m[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return doctor.Host{FS: m, GOOS: "linux", PPID: 77,
		NoFile: func() (uint64, uint64, error) { return soft, hard, nil }}
}

func find(t *testing.T, r doctor.Report, check string) doctor.Finding {
	t.Helper()
	for _, f := range r.Findings {
		if f.Check == check {
			return f
		}
	}
	t.Fatalf("no finding %q in %+v", check, r.Findings)
	return doctor.Finding{}
}

func TestHealthyHostNeedsNoFix(t *testing.T) {
	t.Parallel()
	r := doctor.Check(host(healthy(), 1048576, 1048576), doctor.Options{})
	for _, f := range r.Findings {
		// Pinning advice stays a warning on a host where nothing is pinned.
		if f.Level != doctor.OK && f.Check != "cpu-pinning" {
			t.Errorf("%s: %s (%s)", f.Check, f.Level, f.Found)
		}
	}
	if r.NeedsFix() {
		t.Error("a healthy host needs fixing")
	}
	if r.Options.Connections != doctor.DefaultConnections || r.Options.Workers != 1 {
		t.Errorf("defaults not applied: %+v", r.Options)
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		files      map[string]string // replacing healthy()'s; "" removes
		soft, hard uint64            // 0: 1048576
		opts       doctor.Options
		check      string
		level      doctor.Level
		found, fix []string // substrings of Found and of the joined Fix
	}{
		{name: "hard limit too low", soft: 1024, hard: 20000, check: "open-files", level: doctor.Fix,
			found: []string{"hard limit 20000", "51024 needed"},
			fix:   []string{"LimitNOFILE=1048576", "ulimit -Hn 1048576", "decoy serve --workers 3", "--ulimit nofile=1048576:1048576"}},
		{name: "hard limit enough with workers", soft: 1024, hard: 20000, opts: doctor.Options{Connections: 50000, Workers: 3},
			check: "open-files", level: doctor.OK, found: []string{"17691 needed per process", "over 3 process(es)"}},
		{name: "limit enough for fewer connections", hard: 5000, opts: doctor.Options{Connections: 3000},
			check: "open-files", level: doctor.OK},
		{name: "unlimited", soft: 1 << 63, hard: 1 << 63, check: "open-files", level: doctor.OK, found: []string{"hard limit unlimited"}},
		{name: "shell soft limit low, hard enough", files: map[string]string{"proc/77/limits": "Max open files            1024                 1048576              files\n"},
			check: "client-open-files", level: doctor.Fix, found: []string{"bash (pid 77)", "soft limit 1024"}, fix: []string{"ulimit -n 1048576"}},
		{name: "shell hard limit low", files: map[string]string{"proc/77/limits": "Max open files            1024                 4096                 files\n"},
			check: "client-open-files", level: doctor.Fix, fix: []string{"* hard nofile 1048576", "limits.d"}},
		{name: "shell limit with remote clients", files: map[string]string{"proc/77/limits": "Max open files            1024                 4096                 files\n"},
			opts: doctor.Options{RemoteClients: true}, check: "client-open-files", level: doctor.Skip},
		{name: "shell limits unreadable", files: map[string]string{"proc/77/limits": ""}, check: "client-open-files", level: doctor.Skip},
		{name: "somaxconn 128", files: map[string]string{"proc/sys/net/core/somaxconn": "128\n"}, check: "somaxconn", level: doctor.Fix,
			found: []string{"= 128"}, fix: []string{"sudo sysctl -w net.core.somaxconn=4096", "net.core.somaxconn = 4096    # in /etc/sysctl.d/90-decoy.conf", "restart decoy"}},
		{name: "somaxconn 1024", files: map[string]string{"proc/sys/net/core/somaxconn": "1024\n"}, check: "somaxconn", level: doctor.OK},
		{name: "somaxconn unreadable", files: map[string]string{"proc/sys/net/core/somaxconn": ""}, check: "somaxconn", level: doctor.Skip, found: []string{"cannot read"}},
		{name: "syn backlog 256", files: map[string]string{"proc/sys/net/ipv4/tcp_max_syn_backlog": "256\n"}, check: "syn-backlog", level: doctor.Fix,
			fix: []string{"sudo sysctl -w net.ipv4.tcp_max_syn_backlog=4096"}},
		{name: "listen overflows", files: map[string]string{"proc/net/netstat": "TcpExt: ListenOverflows ListenDrops\nTcpExt: 17 17\n"},
			check: "listen-drops", level: doctor.Warn, found: []string{"ListenOverflows 17"}, fix: []string{"ss -lnt"}},
		{name: "default port range", files: map[string]string{"proc/sys/net/ipv4/ip_local_port_range": "32768\t60999\n"}, check: "ephemeral-ports", level: doctor.Fix,
			found: []string{"28232 local ports for 50000"},
			fix:   []string{`sudo sysctl -w net.ipv4.ip_local_port_range="10000 65535"`, "net.ipv4.ip_local_port_range = 10000 65535    #", "ip_local_reserved_ports=50051    #"}},
		{name: "default port range, few connections", files: map[string]string{"proc/sys/net/ipv4/ip_local_port_range": "32768\t60999\n"},
			opts: doctor.Options{Connections: 10000}, check: "ephemeral-ports", level: doctor.OK},
		{name: "port range, more connections than any range", opts: doctor.Options{Connections: 100000}, check: "ephemeral-ports", level: doctor.Fix,
			fix: []string{"several decoy addresses"}},
		{name: "port range, remote clients", files: map[string]string{"proc/sys/net/ipv4/ip_local_port_range": "32768\t60999\n"},
			opts: doctor.Options{RemoteClients: true}, check: "ephemeral-ports", level: doctor.Skip},
		{name: "port range garbage", files: map[string]string{"proc/sys/net/ipv4/ip_local_port_range": "x y\n"}, check: "ephemeral-ports", level: doctor.Skip},
		{name: "window scaling off", files: map[string]string{"proc/sys/net/ipv4/tcp_window_scaling": "0\n"}, check: "window-scaling", level: doctor.Fix,
			fix: []string{"net.ipv4.tcp_window_scaling=1"}},
		{name: "congestion control cubic", check: "congestion-control", level: doctor.OK, found: []string{"tcp_congestion_control = cubic"}},
		{name: "congestion control bbr", files: map[string]string{"proc/sys/net/ipv4/tcp_congestion_control": "bbr\n"}, check: "congestion-control", level: doctor.OK,
			found: []string{"= bbr", "take cubic instead (tcp-congestion auto"}, fix: []string{"sudo sysctl -w net.ipv4.tcp_congestion_control=cubic"}},
		{name: "congestion control unreadable", files: map[string]string{"proc/sys/net/ipv4/tcp_congestion_control": ""}, check: "congestion-control", level: doctor.Skip},
		{name: "tw_reuse off", files: map[string]string{"proc/sys/net/ipv4/tcp_tw_reuse": "0\n"}, check: "tcp-tw-reuse", level: doctor.Fix,
			fix: []string{"sudo sysctl -w net.ipv4.tcp_tw_reuse=1"}},
		{name: "tw_reuse loopback only", files: map[string]string{"proc/sys/net/ipv4/tcp_tw_reuse": "2\n"}, check: "tcp-tw-reuse", level: doctor.OK,
			found: []string{"loopback connections only"}, fix: []string{"non-loopback"}},
		{name: "tw_reuse off, remote clients", files: map[string]string{"proc/sys/net/ipv4/tcp_tw_reuse": "0\n"}, opts: doctor.Options{RemoteClients: true},
			check: "tcp-tw-reuse", level: doctor.Skip},
		{name: "conntrack small", files: map[string]string{"proc/sys/net/netfilter/nf_conntrack_max": "32768\n"}, check: "conntrack", level: doctor.Fix,
			fix: []string{"sudo sysctl -w net.netfilter.nf_conntrack_max=262144"}},
		{name: "conntrack nearly full", files: map[string]string{"proc/sys/net/netfilter/nf_conntrack_max": "1000000\n", "proc/sys/net/netfilter/nf_conntrack_count": "900000\n"},
			opts: doctor.Options{Connections: 1000}, check: "conntrack", level: doctor.Warn, found: []string{"over 80% full"}},
		{name: "conntrack not loaded", files: map[string]string{"proc/sys/net/netfilter/nf_conntrack_max": "", "proc/sys/net/netfilter/nf_conntrack_count": ""},
			check: "conntrack", level: doctor.OK, found: []string{"not loaded"}},
		{name: "softnet drops", files: map[string]string{"proc/net/softnet_stat": "0000a1b2 00000010 00000001\n0000a1b3 00000001 00000000\n"},
			check: "netdev-backlog", level: doctor.Fix, found: []string{"17 packets dropped"}, fix: []string{"net.core.netdev_max_backlog=16384"}},
		{name: "one CPU", files: map[string]string{"sys/devices/system/cpu/online": "0\n", "proc/self/status": "Cpus_allowed_list:\t0\n"},
			check: "cpu-pinning", level: doctor.Warn, fix: []string{"another host"}},
		{name: "all CPUs allowed", check: "cpu-pinning", level: doctor.Warn, found: []string{"4 CPUs online (0-3)", "may run on 4"},
			fix: []string{"taskset -c 0-1 decoy serve", "taskset -c 2-3 wrk", "CPUAffinity=0-1"}},
		{name: "pinned already", files: map[string]string{"proc/self/status": "Cpus_allowed_list:\t0,2\n"}, check: "cpu-pinning", level: doctor.OK,
			found: []string{"may run on 2: 0,2"}, fix: []string{"taskset -c 1,3 wrk"}},
		{name: "pinning, remote clients", opts: doctor.Options{RemoteClients: true}, check: "cpu-pinning", level: doctor.OK},
		{name: "cgroup quota throttled", files: map[string]string{"sys/fs/cgroup/cpu.max": "150000 100000\n", "sys/fs/cgroup/cpu.stat": "usage_usec 100\nnr_periods 50\nnr_throttled 7\nthrottled_usec 35000\n"},
			check: "cgroup-cpu", level: doctor.Warn, found: []string{"1.5 CPUs", "throttled 7 times (35 ms"}, fix: []string{"CPUQuota="}},
		{name: "cgroup quota never throttled", files: map[string]string{"sys/fs/cgroup/cpu.max": "max 100000\n", "sys/fs/cgroup/cpu.stat": "nr_throttled 0\n"},
			check: "cgroup-cpu", level: doctor.OK},
		{name: "powersave governor", files: map[string]string{"sys/devices/system/cpu/cpu1/cpufreq/scaling_governor": "powersave\n"},
			check: "cpu-governor", level: doctor.Warn, found: []string{"performance on 1 CPUs", "powersave on 1 CPUs"}, fix: []string{"cpupower frequency-set -g performance"}},
		{name: "no cpufreq", files: map[string]string{"sys/devices/system/cpu/cpu0/cpufreq/scaling_governor": "", "sys/devices/system/cpu/cpu1/cpufreq/scaling_governor": ""},
			check: "cpu-governor", level: doctor.OK},
		{name: "busy host", files: map[string]string{"proc/loadavg": "3.50 2.00 1.00 5/300 999\n"}, check: "load", level: doctor.Warn},
		{name: "old kernel", files: map[string]string{"proc/sys/kernel/osrelease": "4.19.0-21-amd64\n"}, check: "kernel", level: doctor.Warn, found: []string{"Linux 4.19"}},
		{name: "kernel 5.4", files: map[string]string{"proc/sys/kernel/osrelease": "5.4.0-150-generic\n"}, check: "kernel", level: doctor.OK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			files := healthy()
			maps.Copy(files, c.files)
			maps.DeleteFunc(files, func(_, v string) bool { return v == "" })
			soft, hard := c.soft, c.hard
			if soft == 0 {
				soft = 1048576
			}
			if hard == 0 {
				hard = 1048576
			}
			r := doctor.Check(host(files, soft, hard), c.opts)
			f := find(t, r, c.check)
			if f.Level != c.level {
				t.Errorf("level %s, want %s: %s", f.Level, c.level, f.Found)
			}
			for _, w := range c.found {
				if !strings.Contains(f.Found, w) {
					t.Errorf("found %q lacks %q", f.Found, w)
				}
			}
			fix := strings.Join(f.Fix, "\n")
			for _, w := range c.fix {
				if !strings.Contains(fix, w) {
					t.Errorf("fix lacks %q:\n%s", w, fix)
				}
			}
			if (f.Level == doctor.Fix || f.Level == doctor.Warn) && (len(f.Fix) == 0 || f.Why == "") {
				t.Errorf("a %s finding without why or fix: %+v", f.Level, f)
			}
			if r.NeedsFix() != (r.Count(doctor.Fix) > 0) {
				t.Error("NeedsFix disagrees with the count of Fix findings")
			}
		})
	}
}

func TestNotLinux(t *testing.T) {
	t.Parallel()
	h := doctor.Host{GOOS: "darwin", NoFile: func() (uint64, uint64, error) { return 256, 1 << 63, nil }}
	r := doctor.Check(h, doctor.Options{})
	if len(r.Findings) != 2 || r.NeedsFix() {
		t.Fatalf("findings %+v", r.Findings)
	}
	if f := find(t, r, "open-files"); f.Level != doctor.OK {
		t.Errorf("open-files on darwin: %+v", f)
	}
	f := find(t, r, "linux")
	if f.Level != doctor.Skip || !strings.Contains(f.Found, "darwin is not Linux") || !strings.Contains(f.Found, "somaxconn") {
		t.Errorf("%+v", f)
	}
	// Without a way to read the limit, it is skipped, not guessed.
	r = doctor.Check(doctor.Host{GOOS: "windows"}, doctor.Options{})
	if f := find(t, r, "open-files"); f.Level != doctor.Skip {
		t.Errorf("open-files on windows: %+v", f)
	}
	r = doctor.Check(doctor.Host{GOOS: "linux", NoFile: func() (uint64, uint64, error) { return 0, 0, errors.New("EPERM") }}, doctor.Options{})
	if f := find(t, r, "open-files"); f.Level != doctor.Skip || !strings.Contains(f.Found, "EPERM") {
		t.Errorf("open-files unreadable: %+v", f)
	}
}

// TestLocal runs the checks on this machine: whatever it finds, every
// finding is complete.
func TestLocal(t *testing.T) {
	t.Parallel()
	r := doctor.Check(doctor.Local(), doctor.Options{})
	if len(r.Findings) == 0 {
		t.Fatal("no findings")
	}
	for _, f := range r.Findings {
		if f.Check == "" || f.Found == "" || f.Level == "" {
			t.Errorf("incomplete finding %+v", f)
		}
	}
}
