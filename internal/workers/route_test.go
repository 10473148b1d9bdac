package workers

import (
	"encoding/json"
	"net"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/listen"
)

// Every route of the admin API (as its OpenAPI document lists them) must
// be answered by the supervisor in the way decided here; a new route fails
// until it is added, so that nobody forgets to decide whether it is merged
// over the workers, asked of one, or applied to all.
func TestRoutesCoverAdminAPI(t *testing.T) {
	t.Parallel()
	want := map[string]handling{
		"GET /health":                            mergeAll,
		"GET /ready":                             mergeAll,
		"GET /stubs":                             mergeAll,
		"POST /stubs":                            changeAll,
		"GET /stubs/{id}":                        mergeAll,
		"PUT /stubs/{id}":                        changeAll,
		"DELETE /stubs/{id}":                     changeAll,
		"POST /reset":                            changeAll,
		"POST /reload":                           changeAll,
		"GET /requests":                          mergeAll,
		"DELETE /requests":                       changeAll,
		"POST /requests/count":                   mergeAll,
		"POST /requests/find":                    mergeAll,
		"POST /verify":                           mergeAll,
		"GET /metrics":                           mergeAll,
		"GET /clients":                           mergeAll,
		"GET /behaviours":                        askOne,
		"PUT /behaviours":                        changeAll,
		"DELETE /behaviours":                     changeAll,
		"GET /listeners":                         askOne,
		"POST /listeners/{name}/pause":           changeAll,
		"POST /listeners/{name}/resume":          changeAll,
		"PUT /listeners/{name}/first-read-delay": changeAll,
		"GET /openapi.json":                      askOne,
	}
	b, err := os.ReadFile("../admin/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	var seen []string
	for path, ops := range doc.Paths {
		for method := range ops {
			m := strings.ToUpper(method)
			switch m {
			case "GET", "PUT", "POST", "DELETE", "PATCH", "HEAD":
			default:
				continue // parameters, summary
			}
			key := m + " " + path
			seen = append(seen, key)
			w, ok := want[key]
			if !ok {
				t.Errorf("%s: the supervisor's handling of this admin route is not decided; add it to this test (and to merged in proxy.go when its answer must be merged)", key)
				continue
			}
			// A concrete path for the pattern.
			concrete := param.ReplaceAllString(path, "x")
			if _, got := route(m, concrete); got != w {
				t.Errorf("%s (as %s): handled as %d, want %d", key, concrete, got, w)
			}
		}
	}
	sort.Strings(seen)
	if len(seen) < len(want) {
		t.Errorf("openapi.json lists %d routes, this test %d: %v", len(seen), len(want), seen)
	}
}

func TestReserve(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() })
	shared, err := listen.Open("127.0.0.1:0", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shared.Close() })
	tests := []struct {
		name, addr, cc string
		wantErr        string // part of the error; "" when it must succeed
	}{
		{"off", "", "", ""},
		{"port 0 made concrete", "127.0.0.1:0", "", ""},
		{"with a congestion control", "127.0.0.1:0", "auto", ""},
		{"in use", busy.Addr().String(), "", "choose another address with --http"},
		{"in use by another decoy's workers", shared.Addr().String(), "", "choose another address with --http"},
		{"not an address", "nonsense", "", "nonsense"},
		// Refused here, before any worker starts.
		{"a congestion control the kernel lacks", "127.0.0.1:0", "nosuchcc", `tcp-congestion "nosuchcc"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, bound, err := reserve(tc.addr, "http", tc.cc)
			if (err != nil) != (tc.wantErr != "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("reserve(%q): %v, want error %q", tc.addr, err, tc.wantErr)
			}
			if err != nil || tc.addr == "" {
				if got != "" || bound != nil {
					t.Errorf("reserve(%q) = %q, %v", tc.addr, got, bound)
				}
				return
			}
			if strings.HasSuffix(got, ":0") || bound == nil {
				t.Errorf("reserve(%q) = %q, %v: want a concrete port", tc.addr, got, bound)
			}
			// Every worker can open it.
			for range 2 {
				ln, err := listen.Open(got, true)
				if err != nil {
					t.Fatalf("worker listen on %s: %v", got, err)
				}
				defer ln.Close()
			}
		})
	}
}
