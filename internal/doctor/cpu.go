package doctor

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// kernel checks the brief's lowest kernel, 5.4.
func (c checker) kernel() Finding {
	const check = "kernel"
	rel, err := c.read("proc/sys/kernel/osrelease")
	if err != nil {
		return unreadable(check, "kernel.osrelease", err)
	}
	f := Finding{Check: check, Found: "Linux " + rel,
		Why: "the brief's host runs Linux 5.4 or newer (somaxconn 4096 by default, SO_REUSEPORT balancing, cgroup v2)",
	}
	maj, minor, ok := kernelVersion(rel)
	switch {
	case !ok:
		f.Level = Skip
	case maj > 5 || (maj == 5 && minor >= 4):
		f.Level = OK
	default:
		f.Level = Warn
		f.Fix = []string{"upgrade the kernel to 5.4 or newer (the distribution's HWE or backports kernel)"}
	}
	return f
}

// kernelVersion reads "6.1.0-18-amd64" as 6, 1.
func kernelVersion(rel string) (maj, minor int, ok bool) {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	var err1, err2 error
	maj, err1 = strconv.Atoi(parts[0])
	minor, err2 = strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return maj, minor, err1 == nil && err2 == nil
}

// cpus reports the CPUs online and the ones this process may run on, with
// the pinning advice: decoy and a load generator on different cores.
func (c checker) cpus() Finding {
	const check = "cpu-pinning"
	online, err := c.read("sys/devices/system/cpu/online")
	if err != nil {
		return unreadable(check, "/sys/devices/system/cpu/online", err)
	}
	all, ok := parseCPUList(online)
	if !ok {
		return Finding{Check: check, Level: Skip, Found: fmt.Sprintf("cannot parse /sys/devices/system/cpu/online %q", online)}
	}
	allowed := all
	if status, err := c.read("proc/self/status"); err == nil {
		for line := range strings.SplitSeq(status, "\n") {
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
				if l, ok := parseCPUList(strings.TrimSpace(v)); ok {
					allowed = l
				}
			}
		}
	}
	f := Finding{Check: check,
		Found: fmt.Sprintf("%d CPUs online (%s); this process may run on %d: %s", len(all), formatCPUList(all), len(allowed), formatCPUList(allowed)),
		Why:   "when decoy and a load generator share cores, each steals the other's CPU time and the context switches show up as the client's latency; pinned to different cores they do not (the brief recommends 4 vCPUs)",
	}
	if c.o.RemoteClients {
		f.Level = OK
		f.Why = "decoy uses the CPUs of its affinity mask (GOMAXPROCS follows it); with the load generators elsewhere nothing competes for them but other work on this host"
		return f
	}
	others := slices.DeleteFunc(slices.Clone(all), func(n int) bool { return slices.Contains(allowed, n) })
	switch {
	case len(all) == 1:
		f.Level = Warn
		f.Fix = []string{"run the load generator on another host: with one CPU, decoy and the client share it whatever the pinning"}
	case len(others) > 0:
		// Already pinned to a subset (taskset, a cpuset): decoy started the
		// same way stays there; the rest is for the load generator.
		f.Level = OK
		f.Fix = []string{fmt.Sprintf("taskset -c %s wrk ...    # keep the load generator on the other CPUs", formatCPUList(others))}
	default:
		f.Level = Warn
		half := len(allowed) / 2
		f.Fix = []string{
			fmt.Sprintf("taskset -c %s decoy serve ...    # decoy on these CPUs", formatCPUList(allowed[:half])),
			fmt.Sprintf("taskset -c %s wrk ...    # the load generator on the others", formatCPUList(allowed[half:])),
			fmt.Sprintf("CPUAffinity=%s    # under systemd: [Service] of decoy's unit", strings.ReplaceAll(formatCPUList(allowed[:half]), ",", " ")),
		}
	}
	return f
}

// parseCPUList reads a kernel CPU list: "0-3,8,10-11".
func parseCPUList(s string) ([]int, bool) {
	var out []int
	for part := range strings.SplitSeq(strings.TrimSpace(s), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, false
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, false
			}
		}
		for n := a; n <= b; n++ {
			out = append(out, n)
		}
	}
	return out, len(out) > 0
}

// formatCPUList writes sorted CPU numbers as a kernel CPU list.
func formatCPUList(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", cpus[i], cpus[j])
		} else {
			fmt.Fprintf(&b, "%d", cpus[i])
		}
		i = j + 1
	}
	return b.String()
}

// cgroupCPU reads the cgroup v2 CPU quota and how often it throttled.
func (c checker) cgroupCPU() Finding {
	const check = "cgroup-cpu"
	dir := "sys/fs/cgroup/"
	quota, err := c.read(dir + "cpu.max")
	if err != nil {
		return Finding{Check: check, Level: OK, Found: "no cgroup v2 CPU quota visible (/sys/fs/cgroup/cpu.max)"}
	}
	f := Finding{Check: check, Level: OK, Found: "cpu.max " + quota,
		Why: "a CPU quota throttles decoy for the rest of each period once spent: answers then wait up to the period (100 ms by default), the brief's \"CPU throttling\"",
	}
	if q := strings.Fields(quota); len(q) == 2 && q[0] != "max" {
		a, _ := strconv.ParseFloat(q[0], 64)
		b, _ := strconv.ParseFloat(q[1], 64)
		if b > 0 {
			f.Found = fmt.Sprintf("a CPU quota of %.2g CPUs (cpu.max %s)", a/b, quota)
		}
	}
	if stat, err := c.read(dir + "cpu.stat"); err == nil {
		var throttled, usec int64
		for line := range strings.SplitSeq(stat, "\n") {
			k, v, _ := strings.Cut(line, " ")
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			switch k {
			case "nr_throttled":
				throttled = n
			case "throttled_usec":
				usec = n
			}
		}
		f.Found += fmt.Sprintf("; throttled %d times (%d ms in all)", throttled, usec/1000)
		if throttled > 0 {
			f.Level = Warn
			f.Fix = []string{
				"raise or remove the quota: CPUQuota= under systemd, resources.limits.cpu in Kubernetes (or requests only), docker run --cpus",
			}
		}
	}
	return f
}

// governor checks the CPU frequency governors.
func (c checker) governor() Finding {
	const check = "cpu-governor"
	matches, _ := fsGlob(c, "sys/devices/system/cpu/cpu*/cpufreq/scaling_governor")
	if len(matches) == 0 {
		return Finding{Check: check, Level: OK, Found: "no CPU frequency scaling visible (usual in VMs and containers)"}
	}
	govs := map[string]int{}
	for _, m := range matches {
		g, err := c.read(m)
		if err == nil {
			govs[g]++
		}
	}
	var names []string
	for g, n := range govs {
		names = append(names, fmt.Sprintf("%s on %d CPUs", g, n))
	}
	slices.Sort(names)
	f := Finding{Check: check, Level: OK, Found: "scaling governor: " + strings.Join(names, ", "),
		Why: "a governor that lowers the clock between bursts (powersave, ondemand, schedutil) makes the first requests after a pause slower than the rest, noise a latency test attributes to the client",
	}
	if len(govs) > 1 || govs["performance"] == 0 {
		f.Level = Warn
		f.Fix = []string{
			"sudo cpupower frequency-set -g performance",
			"echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor    # without cpupower",
		}
	}
	return f
}

// fsGlob is fs.Glob over the host's file system.
func fsGlob(c checker, pattern string) ([]string, error) {
	if c.h.FS == nil {
		return nil, nil
	}
	m, err := fs.Glob(c.h.FS, pattern)
	slices.Sort(m)
	return m, err
}

// load compares the load average with the CPUs: other work on the host
// competes with decoy and the load generator.
func (c checker) load() Finding {
	const check = "load"
	s, err := c.read("proc/loadavg")
	if err != nil {
		return unreadable(check, "/proc/loadavg", err)
	}
	avg := strings.Fields(s)
	if len(avg) < 3 {
		return Finding{Check: check, Level: Skip, Found: fmt.Sprintf("cannot parse /proc/loadavg %q", s)}
	}
	one, err := strconv.ParseFloat(avg[0], 64)
	if err != nil {
		return Finding{Check: check, Level: Skip, Found: fmt.Sprintf("cannot parse /proc/loadavg %q", s)}
	}
	ncpu := 0
	if online, err := c.read("sys/devices/system/cpu/online"); err == nil {
		l, _ := parseCPUList(online)
		ncpu = len(l)
	}
	f := Finding{Check: check, Level: OK, Found: fmt.Sprintf("load average %s %s %s over %d CPUs", avg[0], avg[1], avg[2], ncpu),
		Why: "other work already running takes CPU from decoy and the load generator (the brief's \"background processes\"): check before a test, not during one",
	}
	if ncpu > 0 && one > 0.5*float64(ncpu) {
		f.Level = Warn
		f.Fix = []string{"top -o %CPU    # find what runs, and stop it or move the test"}
	}
	return f
}
