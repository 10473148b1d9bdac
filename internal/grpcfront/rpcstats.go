package grpcfront

import (
	"sort"
	"sync/atomic"

	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
)

// numCodes is how many gRPC status codes there are (OK to
// UNAUTHENTICATED); a code past them is counted as UNKNOWN.
const numCodes = 17

// UnknownMethod is the method label of calls to a method the .proto
// files do not define.
const UnknownMethod = "-"

// rpcCounters counts the calls of each method by status code. The
// methods are those of the .proto files, known when the server is built,
// so counting is a map read and an atomic add; the collector reads the
// counters when Prometheus scrapes.
type rpcCounters struct {
	methods map[string]*[numCodes]atomic.Uint64
	names   []string // sorted
	unknown [numCodes]atomic.Uint64
}

func (r *rpcCounters) init(paths []string) {
	r.methods = make(map[string]*[numCodes]atomic.Uint64, len(paths))
	for _, p := range paths {
		r.methods[p] = new([numCodes]atomic.Uint64)
	}
	r.names = append([]string(nil), paths...)
	sort.Strings(r.names)
}

// add counts one call of method path ended with code.
func (r *rpcCounters) add(path string, code codes.Code) {
	if code >= numCodes {
		code = codes.Unknown
	}
	m := r.methods[path]
	if m == nil {
		m = &r.unknown
	}
	m[code].Add(1)
}

// Collector returns the Prometheus collector of the server's per-RPC
// metric, decoy_grpc_requests_total{method, code}: the calls of each
// method of the loaded services, by the status code they ended with (its
// name, such as OK or NOT_FOUND). Health and reflection calls are not
// counted; calls to methods the .proto files do not define are, as
// method "-".
func (s *Server) Collector() prometheus.Collector { return rpcCollector{s} }

var grpcRequestsDesc = prometheus.NewDesc("decoy_grpc_requests_total",
	`gRPC calls answered, by method (/package.Service/Method; "-" for a method the .proto files do not define) and status code (OK, NOT_FOUND, ...).`,
	[]string{"method", "code"}, nil)

type rpcCollector struct{ s *Server }

func (c rpcCollector) Describe(ch chan<- *prometheus.Desc) { ch <- grpcRequestsDesc }

func (c rpcCollector) Collect(ch chan<- prometheus.Metric) {
	r := &c.s.rpcs
	emit := func(method string, counts *[numCodes]atomic.Uint64) {
		for code := range counts {
			if n := counts[code].Load(); n > 0 {
				ch <- prometheus.MustNewConstMetric(grpcRequestsDesc, prometheus.CounterValue, float64(n), method, stub.GRPCCode(code).String())
			}
		}
	}
	for _, m := range r.names {
		emit(m, r.methods[m])
	}
	emit(UnknownMethod, &r.unknown)
}
