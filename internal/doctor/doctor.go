// Package doctor checks a host against the troubleshooting matrix of
// decoy's brief: the open-file limit against the connections wanted, the
// listen and SYN queues, the ephemeral port range and TIME_WAIT reuse for
// a load generator on the same host, the default congestion control,
// connection tracking, dropped packets, and the CPUs (count, affinity, cgroup quota, frequency
// governor, load). Each finding says what was found, why it matters and
// the exact fix: a `sysctl -w` command, a line for /etc/sysctl.d, a
// `ulimit`, a systemd `LimitNOFILE=`.
//
// Everything is read without root, through a Host: an fs.FS rooted at
// "/" (proc/sys/..., sys/devices/...) and getters for what is not a file,
// so that tests feed fake values. It owns no policy beyond the thresholds
// below and changes nothing on the host.
package doctor

import (
	"cmp"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// Level is how much a finding matters.
type Level string

// Levels, from good to bad. Only Fix makes a report need fixing (decoy
// doctor exits 1); Warn is advice that depends on how the host is used.
const (
	OK   Level = "ok"
	Skip Level = "skip" // could not be checked here, or does not apply
	Warn Level = "warn"
	Fix  Level = "fix"
)

// Finding is the result of one check.
type Finding struct {
	// Check names the check: "open-files", "somaxconn", ...
	Check string `json:"check"`
	Level Level  `json:"level"`
	// Found is what the host has, in a line.
	Found string `json:"found"`
	// Why says why it matters for decoy or for a load generator.
	Why string `json:"why,omitempty"`
	// Fix holds the exact commands and configuration lines that fix it,
	// one per entry (a trailing "# ..." says where a line goes).
	Fix []string `json:"fix,omitempty"`
}

// Options say what the host is checked for.
type Options struct {
	// Connections is how many concurrent connections decoy should hold
	// on this node (0: DefaultConnections).
	Connections int `json:"connections"`
	// Workers is the number of decoy processes sharing the ports
	// (--workers); each has its own open-file limit (0: 1).
	Workers int `json:"workers"`
	// RemoteClients says the load generators run on other hosts: the
	// checks of what a client on this host needs are skipped.
	RemoteClients bool `json:"remoteClients"`
}

// DefaultConnections is the brief's concurrency threshold per node.
const DefaultConnections = 50000

// Thresholds.
const (
	// Headroom is the files a decoy process opens besides connections
	// (listeners, stub files while loading, the admin API, its clients).
	Headroom = 1024
	// RecommendedNoFile is the open-file limit the fixes set (systemd's
	// default hard limit is half of it).
	RecommendedNoFile = 1048576
	// MinSomaxconn is the brief's lowest listen queue; RecommendedQueue is
	// what the fixes set it and the SYN queue to (the kernel's default
	// somaxconn since 5.4).
	MinSomaxconn     = 1024
	RecommendedQueue = 4096
	// MinSynBacklog is the lowest SYN queue that is not flagged.
	MinSynBacklog = 1024
)

// Report is every finding, in the order checked.
type Report struct {
	OS       string    `json:"os"`
	Options  Options   `json:"options"`
	Findings []Finding `json:"findings"`
}

// NeedsFix reports whether any finding is at Fix level.
func (r Report) NeedsFix() bool {
	for _, f := range r.Findings {
		if f.Level == Fix {
			return true
		}
	}
	return false
}

// Count returns how many findings are at level l.
func (r Report) Count(l Level) int {
	n := 0
	for _, f := range r.Findings {
		if f.Level == l {
			n++
		}
	}
	return n
}

// Host is what the checks read.
type Host struct {
	// FS is the host's file system from its root: "proc/sys/net/core/somaxconn".
	FS fs.FS
	// GOOS is the operating system (runtime.GOOS).
	GOOS string
	// NoFile returns this process's RLIMIT_NOFILE (nil: unknown).
	NoFile func() (soft, hard uint64, err error)
	// PPID is the process that started this one, usually a shell, whose
	// limits are what the load generators it starts get (0: unknown).
	PPID int
}

// Check runs every check on h.
func Check(h Host, o Options) Report {
	if o.Connections <= 0 {
		o.Connections = DefaultConnections
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	r := Report{OS: h.GOOS, Options: o}
	if h.GOOS != "linux" {
		r.Findings = append(r.Findings, openFiles(h, o))
		r.Findings = append(r.Findings, Finding{Check: "linux", Level: Skip,
			Found: fmt.Sprintf("%s is not Linux: somaxconn, the SYN backlog, the ephemeral port range, tcp_tw_reuse, connection tracking, packet drops, CPU affinity, cgroup quota and governor cannot be checked", h.GOOS),
			Why:   "decoy's targets (and the brief's host) are Linux (kernel 5.4 or newer); the other checks read /proc and /sys"})
		return r
	}
	c := checker{h: h, o: o}
	r.Findings = []Finding{
		c.kernel(),
		openFiles(h, o),
		c.shellFiles(),
		c.somaxconn(),
		c.synBacklog(),
		c.listenDrops(),
		c.portRange(),
		c.windowScaling(),
		c.congestion(),
		c.twReuse(),
		c.conntrack(),
		c.netdevBacklog(),
		c.cpus(),
		c.cgroupCPU(),
		c.governor(),
		c.load(),
	}
	return r
}

// checker holds the host and options of one run.
type checker struct {
	h Host
	o Options
}

// read returns the trimmed content of a file of the host.
func (c checker) read(name string) (string, error) {
	if c.h.FS == nil {
		return "", fs.ErrNotExist
	}
	b, err := fs.ReadFile(c.h.FS, name)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// sysctl reads /proc/sys/<a/b/c> for the sysctl named a.b.c.
func (c checker) sysctl(name string) (string, error) {
	return c.read("proc/sys/" + strings.ReplaceAll(name, ".", "/"))
}

// sysctlInt reads a sysctl that is one integer.
func (c checker) sysctlInt(name string) (int64, error) {
	s, err := c.sysctl(name)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(s, 10, 64)
}

// unreadable is the finding for a value that could not be read.
func unreadable(check, what string, err error) Finding {
	return Finding{Check: check, Level: Skip, Found: fmt.Sprintf("cannot read %s: %v", what, err)}
}

// sysctlFix is the fix that sets a sysctl now and at every boot.
func sysctlFix(name string, value any) []string {
	v := fmt.Sprint(value)
	shell := v
	if strings.Contains(v, " ") {
		shell = `"` + v + `"`
	}
	return []string{
		fmt.Sprintf("sudo sysctl -w %s=%s", name, shell),
		fmt.Sprintf("%s = %s    # in /etc/sysctl.d/90-decoy.conf, kept across reboots (sudo sysctl --system applies it now)", name, v),
	}
}

// perProcess is the connections each decoy process holds.
func perProcess(o Options) int {
	return (o.Connections + o.Workers - 1) / o.Workers
}

// openFiles checks this process's open-file limit against the connections
// each decoy process must hold.
func openFiles(h Host, o Options) Finding {
	const check = "open-files"
	if h.NoFile == nil {
		return Finding{Check: check, Level: Skip, Found: "the open-file limit cannot be read on " + h.GOOS}
	}
	soft, hard, err := h.NoFile()
	if err != nil {
		return unreadable(check, "RLIMIT_NOFILE", err)
	}
	need := uint64(perProcess(o) + Headroom)
	f := Finding{Check: check,
		Found: fmt.Sprintf("hard limit %s (soft %s here; decoy raises its soft limit to the hard one at start): %d needed per process for %d connections over %d process(es)",
			limit(hard), limit(soft), need, o.Connections, o.Workers),
		Why: "every connection is an open file: past the limit accept fails with EMFILE (\"too many open files\") and new clients wait in the listen queue or are refused, which a client test reads as the backend's latency or errors",
	}
	if hard >= need {
		f.Level = OK
		return f
	}
	f.Level = Fix
	rec := max(uint64(RecommendedNoFile), need)
	f.Fix = []string{
		fmt.Sprintf("LimitNOFILE=%d    # under systemd: [Service] of decoy's unit (deploy/systemd/decoy.service sets it)", rec),
		fmt.Sprintf("%s hard nofile %d    # in /etc/security/limits.d/decoy.conf for the user running decoy, then log in again", "*", rec),
		fmt.Sprintf("ulimit -Hn %d && ulimit -Sn %d    # in a root shell that then starts decoy (a user may only lower the hard limit)", rec, rec),
		fmt.Sprintf("docker run --ulimit nofile=%d:%d ...    # in a container", rec, rec),
	}
	if usable := int(hard) - Headroom; usable > 0 {
		w := (o.Connections + usable - 1) / usable
		f.Fix = append(f.Fix, fmt.Sprintf("decoy serve --workers %d ...    # or keep the limit: each worker process has its own (docs/workers.md)", w))
	}
	return f
}

// limit shows an rlimit value.
func limit(v uint64) string {
	if v >= 1<<62 {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

// skipClient is the finding of a check that concerns a load generator on
// this host when the clients are elsewhere.
func skipClient(check string) Finding {
	return Finding{Check: check, Level: Skip, Found: "skipped: the load generators run on other hosts (--remote-clients); run decoy doctor there for this check"}
}

// shellFiles checks the soft open-file limit of the process that started
// doctor (a shell): what a load generator started from it gets. Programs
// in C (wrk, h2load) keep it; Go programs raise it to the hard limit.
func (c checker) shellFiles() Finding {
	const check = "client-open-files"
	if c.o.RemoteClients {
		return skipClient(check)
	}
	if c.h.PPID <= 0 {
		return Finding{Check: check, Level: Skip, Found: "the parent process is unknown"}
	}
	dir := fmt.Sprintf("proc/%d/", c.h.PPID)
	text, err := c.read(dir + "limits")
	if err != nil {
		return unreadable(check, "/"+dir+"limits", err)
	}
	soft, hard, ok := parseLimits(text, "Max open files")
	if !ok {
		return Finding{Check: check, Level: Skip, Found: "no \"Max open files\" line in /" + dir + "limits"}
	}
	comm, _ := c.read(dir + "comm")
	need := uint64(c.o.Connections + Headroom)
	f := Finding{Check: check,
		Found: fmt.Sprintf("%s (pid %d), which started decoy doctor, has soft limit %s, hard %s; a load generator opening %d connections needs %d",
			cmp.Or(comm, "the parent"), c.h.PPID, limit(soft), limit(hard), c.o.Connections, need),
		Why: "a load generator written in C (wrk, h2load) keeps the soft limit of the shell that starts it, and fails with \"too many open files\" past it (Go programs raise theirs to the hard limit)",
	}
	if comm == "go" {
		f.Found += " (go run raised its own soft limit: run the built decoy from your shell to see the shell's)"
	}
	if soft >= need {
		f.Level = OK
		return f
	}
	f.Level = Fix
	if hard >= need {
		f.Fix = []string{fmt.Sprintf("ulimit -n %d    # in the shell that starts the load generator", min(hard, max(uint64(RecommendedNoFile), need)))}
	} else {
		rec := max(uint64(RecommendedNoFile), need)
		f.Fix = []string{
			fmt.Sprintf("* soft nofile %d    # in /etc/security/limits.d/loadgen.conf", rec),
			fmt.Sprintf("* hard nofile %d    # in the same file, then log in again", rec),
			fmt.Sprintf("ulimit -n %d    # then, in the shell that starts the load generator", rec),
		}
	}
	return f
}

// parseLimits reads one line of /proc/PID/limits.
func parseLimits(text, name string) (soft, hard uint64, ok bool) {
	for line := range strings.SplitSeq(text, "\n") {
		rest, found := strings.CutPrefix(line, name)
		if !found {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			return 0, 0, false
		}
		s, err1 := parseLimit(f[0])
		h, err2 := parseLimit(f[1])
		return s, h, err1 == nil && err2 == nil
	}
	return 0, 0, false
}

func parseLimit(s string) (uint64, error) {
	if s == "unlimited" {
		return 1 << 63, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

func (c checker) somaxconn() Finding {
	const check, name = "somaxconn", "net.core.somaxconn"
	v, err := c.sysctlInt(name)
	if err != nil {
		return unreadable(check, name, err)
	}
	f := Finding{Check: check, Found: fmt.Sprintf("%s = %d", name, v),
		Why: "the longest accept queue a listener may have (decoy asks for this much when it listens): when a burst of new connections outruns accept, the kernel drops or refuses them, and a balancer in front reports 502s",
	}
	if v >= MinSomaxconn {
		f.Level = OK
		return f
	}
	f.Level = Fix
	f.Fix = append(sysctlFix(name, RecommendedQueue), "then restart decoy: a listener's queue is sized when it opens")
	return f
}

func (c checker) synBacklog() Finding {
	const check, name = "syn-backlog", "net.ipv4.tcp_max_syn_backlog"
	v, err := c.sysctlInt(name)
	if err != nil {
		return unreadable(check, name, err)
	}
	f := Finding{Check: check, Found: fmt.Sprintf("%s = %d", name, v),
		Why: "connections still in their handshake a listener may hold; during a connection storm a short SYN queue drops SYNs (or falls back to SYN cookies), and clients retry after a second, which shows as latency",
	}
	if v >= MinSynBacklog {
		f.Level = OK
		return f
	}
	f.Level = Fix
	f.Fix = sysctlFix(name, RecommendedQueue)
	return f
}

// listenDrops reads the kernel's counters of connections dropped at a
// full listen queue since boot.
func (c checker) listenDrops() Finding {
	const check = "listen-drops"
	text, err := c.read("proc/net/netstat")
	if err != nil {
		return unreadable(check, "/proc/net/netstat", err)
	}
	ext := parseNetstat(text)["TcpExt"]
	overflows, drops := ext["ListenOverflows"], ext["ListenDrops"]
	f := Finding{Check: check, Found: fmt.Sprintf("since boot: ListenOverflows %d, ListenDrops %d (netstat -s: \"times the listen queue of a socket overflowed\")", overflows, drops),
		Why: "connections dropped because a listener's accept queue was full: the process behind it did not accept fast enough (saturated, or a short somaxconn); any listener on the host counts, decoy's or not",
	}
	if overflows == 0 && drops == 0 {
		f.Level = OK
		return f
	}
	f.Level = Warn
	f.Fix = []string{
		"ss -lnt    # Recv-Q of a LISTEN line is its queue now, Send-Q its length",
		"curl -s localhost:9901/health    # is decoy saturated? (saturated, acceptQueue)",
	}
	return f
}

// parseNetstat reads /proc/net/netstat (or /proc/net/snmp): pairs of
// lines, names then values, each starting with "Prefix:".
func parseNetstat(text string) map[string]map[string]int64 {
	out := map[string]map[string]int64{}
	lines := strings.Split(text, "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) == 0 || len(names) != len(values) || names[0] != values[0] {
			continue
		}
		m := map[string]int64{}
		for j := 1; j < len(names); j++ {
			v, _ := strconv.ParseInt(values[j], 10, 64)
			m[names[j]] = v
		}
		out[strings.TrimSuffix(names[0], ":")] = m
	}
	return out
}

// The ephemeral port range the fixes set.
const (
	RecommendedPortsLow  = 10000
	RecommendedPortsHigh = 65535
)

// decoyPorts are the ports decoy listens on by default.
var decoyPorts = []int{8080, 8443, 9901, 50051}

// reservedPortsFix reserves decoy's default ports that fall inside the
// recommended ephemeral range (only those can be taken by an outgoing
// connection), so that none is taken before decoy starts.
func reservedPortsFix() string {
	var in []string
	for _, p := range decoyPorts {
		if p >= RecommendedPortsLow && p <= RecommendedPortsHigh {
			in = append(in, strconv.Itoa(p))
		}
	}
	return fmt.Sprintf("sudo sysctl -w net.ipv4.ip_local_reserved_ports=%s    # decoy's default ports inside that range (add any port you give decoy at %d or above), so that no outgoing connection takes one before decoy starts (and the same line in /etc/sysctl.d/90-decoy.conf)",
		strings.Join(in, ","), RecommendedPortsLow)
}

// portRange checks that a load generator on this host has a local port
// for every connection to one decoy address.
func (c checker) portRange() Finding {
	const check, name = "ephemeral-ports", "net.ipv4.ip_local_port_range"
	if c.o.RemoteClients {
		return skipClient(check)
	}
	s, err := c.sysctl(name)
	if err != nil {
		return unreadable(check, name, err)
	}
	parts := strings.Fields(s)
	var lo, hi int
	if len(parts) == 2 {
		lo, _ = strconv.Atoi(parts[0])
		hi, _ = strconv.Atoi(parts[1])
	}
	if lo <= 0 || hi < lo {
		return Finding{Check: check, Level: Skip, Found: fmt.Sprintf("cannot parse %s = %q", name, s)}
	}
	n := hi - lo + 1
	f := Finding{Check: check, Found: fmt.Sprintf("%s = %d %d: %d local ports for %d connections", name, lo, hi, n, c.o.Connections),
		Why: "a load generator on this host takes a local port for each connection to one decoy address and port; past the range connect fails with \"Cannot assign requested address\" (EADDRNOTAVAIL) or \"Address already in use\", sooner when closed connections sit in TIME_WAIT",
	}
	if n >= c.o.Connections {
		f.Level = OK
		return f
	}
	f.Level = Fix
	f.Fix = append(sysctlFix(name, fmt.Sprintf("%d %d", RecommendedPortsLow, RecommendedPortsHigh)), reservedPortsFix())
	if c.o.Connections > 55536 {
		f.Fix = append(f.Fix, "more connections than one range holds: point the load generator at several decoy addresses (127.0.0.1, 127.0.0.2, ... on loopback); each destination has its own range")
	}
	return f
}

func (c checker) windowScaling() Finding {
	const check, name = "window-scaling", "net.ipv4.tcp_window_scaling"
	v, err := c.sysctlInt(name)
	if err != nil {
		return unreadable(check, name, err)
	}
	f := Finding{Check: check, Found: fmt.Sprintf("%s = %d", name, v),
		Why: "without window scaling a TCP window is at most 64 KiB, which caps every connection's throughput at 64 KiB per round trip (large payloads and uploads)",
	}
	if v == 1 {
		f.Level = OK
		return f
	}
	f.Level = Fix
	f.Fix = sysctlFix(name, 1)
	return f
}

// congestion reports the kernel's default congestion control: when it is
// BBR, which decoy's listeners replace (tcp-congestion auto) but other
// programs here keep.
func (c checker) congestion() Finding {
	const check, name = "congestion-control", "net.ipv4.tcp_congestion_control"
	v, err := c.sysctl(name)
	if err != nil {
		return unreadable(check, name, err)
	}
	f := Finding{Check: check, Level: OK, Found: name + " = " + v}
	if !strings.HasPrefix(v, "bbr") {
		f.Why = "decoy's connections keep the kernel's default (tcp-congestion auto replaces only BBR)"
		return f
	}
	f.Found += ": decoy's listening sockets take cubic instead (tcp-congestion auto, the default)"
	f.Why = "BBR paces every send on the kernel's timers when the interface has no fq qdisc (loopback has none): a 100 MB download over loopback took 35-54 ms under BBR, 16-17 ms with cubic; other programs on this host still send with BBR"
	f.Fix = []string{"sudo sysctl -w net.ipv4.tcp_congestion_control=cubic    # only if other programs here must not be paced by BBR either (a load generator sending large bodies, a server compared with decoy)"}
	return f
}

// twReuse checks TIME_WAIT reuse for a load generator on this host.
func (c checker) twReuse() Finding {
	const check, name = "tcp-tw-reuse", "net.ipv4.tcp_tw_reuse"
	if c.o.RemoteClients {
		return skipClient(check)
	}
	v, err := c.sysctlInt(name)
	if err != nil {
		return unreadable(check, name, err)
	}
	f := Finding{Check: check, Found: fmt.Sprintf("%s = %d", name, v),
		Why: "a client that closes its connections leaves each in TIME_WAIT for 60 s, holding its local port; with reuse on, the kernel may give such a port to a new outgoing connection (it concerns the host that opens connections: decoy's side needs nothing)",
	}
	switch v {
	case 1:
		f.Level = OK
	case 2:
		f.Level = OK
		f.Found += " (the kernel's default: reuse for loopback connections only)"
		f.Fix = []string{"sudo sysctl -w net.ipv4.tcp_tw_reuse=1    # only if the load generator here connects to decoy over a non-loopback address"}
	default:
		f.Level = Fix
		f.Fix = sysctlFix(name, 1)
	}
	return f
}

// conntrack checks the connection tracking table, when the module is
// loaded: a full table drops packets of new connections.
func (c checker) conntrack() Finding {
	const check, name = "conntrack", "net.netfilter.nf_conntrack_max"
	maxv, err := c.sysctlInt(name)
	if err != nil {
		return Finding{Check: check, Level: OK, Found: "connection tracking is not loaded (no " + name + ")"}
	}
	count, _ := c.sysctlInt("net.netfilter.nf_conntrack_count")
	f := Finding{Check: check, Found: fmt.Sprintf("%s = %d, %d entries in use", name, maxv, count),
		Why: "with iptables NAT or a stateful firewall, every connection is an entry in the conntrack table; when it is full the kernel drops new connections' packets (dmesg: \"nf_conntrack: table full, dropping packet\"), which clients see as timeouts",
	}
	rec := max(int64(262144), 2*int64(c.o.Connections))
	switch {
	case maxv < int64(c.o.Connections)+count:
		f.Level = Fix
		f.Fix = sysctlFix(name, rec)
	case maxv > 0 && count*10 > maxv*8:
		f.Level = Warn
		f.Found += " (over 80% full)"
		f.Fix = sysctlFix(name, rec)
	default:
		f.Level = OK
	}
	return f
}

// netdevBacklog checks the per-CPU input queue against the drops it had.
func (c checker) netdevBacklog() Finding {
	const check, name = "netdev-backlog", "net.core.netdev_max_backlog"
	v, err := c.sysctlInt(name)
	if err != nil {
		return unreadable(check, name, err)
	}
	f := Finding{Check: check, Found: fmt.Sprintf("%s = %d", name, v),
		Why: "packets a CPU may queue from the NIC before the stack processes them; past it they are dropped (packet loss and retransmits under bursts, the brief's 502 question)",
	}
	text, err := c.read("proc/net/softnet_stat")
	if err != nil {
		f.Level = OK
		f.Found += "; /proc/net/softnet_stat unreadable, drops unknown"
		return f
	}
	var dropped uint64
	for line := range strings.SplitSeq(text, "\n") {
		cols := strings.Fields(line)
		if len(cols) > 1 {
			d, _ := strconv.ParseUint(cols[1], 16, 64)
			dropped += d
		}
	}
	f.Found += fmt.Sprintf("; %d packets dropped at a full backlog since boot (/proc/net/softnet_stat, second column)", dropped)
	if dropped == 0 {
		f.Level = OK
		return f
	}
	f.Level = Fix
	f.Fix = sysctlFix(name, max(v*4, 16384))
	return f
}
