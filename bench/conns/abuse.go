package main

// The abuser: a client process of its own (conns -abuser), with its own
// open-file budget and source addresses, that misbehaves towards the server
// while the well-behaved clients ask a round. On "start SECONDS" it opens its
// held connections (half-open, silent, not reading) evenly over SECONDS (so
// that they arrive while the round's requests do, not all before the first)
// and sends a paced burst of malformed requests, one connection each; on
// "stop" it ends the burst, looks at what became of every connection,
// reports, closes everything and exits.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/decoy-dev/decoy/bench/internal/loopback"
)

// malformed is one kind of bad request of the burst.
type malformed struct {
	name    string
	payload []byte
	// closeOK: any answer is right as long as the server then closes the
	// connection without answering anything more (a request both chunked
	// and with a Content-Length: RFC 9112 section 6.1 lets the server
	// answer it, then it must close).
	closeOK bool
}

// malformedKinds are the bad requests of the burst, sent in turn. Each must
// be answered with a 4xx or the connection closed (closeOK: any answer then
// a close), never left hanging. Every one is complete: a server that waits
// for more is wrong.
func malformedKinds(host, path string, headerBytes int) []malformed {
	big := strings.Repeat("a", max(headerBytes, 1))
	return []malformed{
		{name: "garbage request line", payload: []byte("hello world, no request here\r\n\r\n")},
		{name: "request line of control bytes", payload: []byte("\x00\x01\x02garbage\r\n\r\n")},
		{name: "header line without colon", payload: []byte("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nno colon here\r\n\r\n")},
		{name: "control byte in header name", payload: []byte("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nX-Bad\x01Name: v\r\n\r\n")},
		{name: "two Content-Lengths", payload: []byte("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")},
		{name: fmt.Sprintf("oversized header (%d B)", len(big)), payload: []byte("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nX-Big: " + big + "\r\n\r\n")},
		{name: "invalid chunk size", payload: []byte("POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")},
		{name: "chunk missing its CRLF", payload: []byte("POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n")},
		{name: "Content-Length + chunked (smuggling)", closeOK: true, payload: []byte("POST " + path + " HTTP/1.1\r\nHost: " + host +
			"\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")},
	}
}

// abuseKinds are the parts of the abuse that -abuse-kinds can choose.
var abuseKinds = []string{"burst", "half-open", "silent", "no-read"}

// parseAbuseKinds reads -abuse-kinds: a comma-separated subset of
// abuseKinds, or "all".
func parseAbuseKinds(s string) (map[string]bool, error) {
	on := map[string]bool{}
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "all":
			for _, k := range abuseKinds {
				on[k] = true
			}
		case slices.Contains(abuseKinds, f):
			on[f] = true
		default:
			return nil, fmt.Errorf("-abuse-kinds: unknown kind %q (want all or some of %s)", f, strings.Join(abuseKinds, ","))
		}
	}
	return on, nil
}

// kindResult is what became of one kind of abuse.
type kindResult struct {
	Name string `json:"name"`
	Sent int    `json:"sent"` // connections made for it
	// Malformed requests:
	Rejected int `json:"rejected,omitempty"` // answered with a 4xx
	Closed   int `json:"closed,omitempty"`   // closed by the server without an answer
	Wrong    int `json:"wrong,omitempty"`    // answered otherwise: a 2xx/3xx/5xx, or a second answer
	Hung     int `json:"hung,omitempty"`     // neither answered nor closed within -abuse-timeout
	// Held connections, when the burst stopped:
	Open         int `json:"open,omitempty"`          // still open, nothing received
	ServerClosed int `json:"server_closed,omitempty"` // closed by the server
	Answered     int `json:"answered,omitempty"`      // the server sent something
	// Both:
	DialErrors int    `json:"dial_errors,omitempty"`
	First      string `json:"first,omitempty"`      // the first wrong, hung or failed one
	HowClosed  string `json:"how_closed,omitempty"` // the first close without an answer
	Held       bool   `json:"held,omitempty"`       // a held connection, not a malformed request
	Probed     bool   `json:"probed,omitempty"`     // held, and looked at when the burst stopped
	mu         sync.Mutex
}

func (k *kindResult) note(field *int, detail string) {
	k.mu.Lock()
	*field++
	if detail != "" && k.First == "" {
		k.First = detail
	}
	k.mu.Unlock()
}

// abuseReport is what the abuser sends back on "stop".
type abuseReport struct {
	Phase string        `json:"phase"` // abuse
	Kinds []*kindResult `json:"kinds"`
	Ms    int64         `json:"ms"` // how long the abuse lasted
}

// abuseShares splits n connections: a tenth for the burst's concurrent
// malformed requests, then of the rest a quarter each of half-open partial
// request lines and partial headers, 2.5 % each (at least one) of clients
// that stop reading a large body or a pipeline, and the remainder silent.
// Few stop reading because each one fills the server's socket send buffer
// (up to net.ipv4.tcp_wmem's maximum, 4 MiB by default) with kernel memory.
func abuseShares(n int) (burst, partialLine, partialHeaders, silent, large, pipeline int) {
	burst = max(n/10, 1)
	rest := n - burst
	large = max(rest/40, 1)
	pipeline = max(rest/40, 1)
	partialLine = rest / 4
	partialHeaders = rest / 4
	silent = max(rest-large-pipeline-partialLine-partialHeaders, 0)
	return
}

// runAbuser is the abuser process: it waits for "start", misbehaves until
// "stop", then reports on standard output and closes everything.
func runAbuser(o options) error {
	srcs, err := parseSources(o.abuseSources)
	if err != nil {
		return err
	}
	out := json.NewEncoder(os.Stdout)
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() {
		if err := in.Err(); err != nil {
			return err
		}
		return errors.New(`expected "start"`)
	}
	cmd := strings.Fields(in.Text())
	if len(cmd) == 0 || cmd[0] != "start" {
		return fmt.Errorf(`expected "start", got %q`, in.Text())
	}
	var spread time.Duration
	if len(cmd) > 1 {
		secs, err := strconv.ParseFloat(cmd[1], 64)
		if err != nil || secs < 0 {
			return fmt.Errorf("bad start command %q", in.Text())
		}
		spread = time.Duration(secs * float64(time.Second))
	}
	start := time.Now()
	host := o.addr
	small := "GET " + o.path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	largeReq := "GET " + o.largePath + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	burstN, lineN, hdrN, silentN, largeN, pipeN := abuseShares(o.abuseConns)
	kindsOn, err := parseAbuseKinds(o.abuseKinds)
	if err != nil {
		return err
	}
	if !kindsOn["half-open"] {
		lineN, hdrN = 0, 0
	}
	if !kindsOn["silent"] {
		silentN = 0
	}
	if !kindsOn["no-read"] {
		largeN, pipeN = 0, 0
	}
	burstMax := 20 * o.abuseConns
	if !kindsOn["burst"] {
		burstMax = 0
	}

	var next atomic.Int64 // source address round-robin
	dial := func() (net.Conn, error) {
		return loopback.Dialer(o.timeout, srcs[int(next.Add(1))%len(srcs)]).Dial("tcp", o.addr)
	}

	// Held connections: connect, send the opening (or nothing), hold.
	type heldKind struct {
		res      *kindResult
		n        int
		opening  string
		noRead   bool // a client that stops reading: a small receive buffer
		probeEnd bool // at the end, look whether the server closed it
	}
	held := []heldKind{
		{res: &kindResult{Name: "half-open: partial request line"}, n: lineN, opening: "GET " + o.path[:max(len(o.path)-1, 1)], probeEnd: true},
		{res: &kindResult{Name: "half-open: partial headers"}, n: hdrN, opening: "GET " + o.path + " HTTP/1.1\r\nHost: " + host + "\r\nX-Slow: ", probeEnd: true},
		{res: &kindResult{Name: "silent: connects, sends nothing"}, n: silentN, probeEnd: true},
		{res: &kindResult{Name: "stops reading: " + o.largePath}, n: largeN, opening: largeReq, noRead: true},
		{res: &kindResult{Name: "stops reading: 64 + 4 large pipelined"}, n: pipeN, opening: strings.Repeat(small, 64) + strings.Repeat(largeReq, 4), noRead: true},
	}
	var heldMu sync.Mutex
	heldConns := make([][]net.Conn, len(held))
	heldDone := make(chan struct{})
	go func() {
		defer close(heldDone)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 64)
		for _, h := range held {
			h.res.Held, h.res.Probed = true, h.probeEnd
		}
		order := interleave(held, func(h heldKind) int { return h.n })
		t0 := time.Now()
		for i, hi := range order {
			h := held[hi]
			time.Sleep(time.Until(t0.Add(spread * time.Duration(i) / time.Duration(len(order)))))
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				c, err := dial()
				if err != nil {
					h.res.note(&h.res.DialErrors, "dial: "+err.Error())
					return
				}
				if h.noRead {
					_ = c.(*net.TCPConn).SetReadBuffer(4096)
				}
				h.res.note(&h.res.Sent, "")
				if h.opening != "" {
					_ = c.SetWriteDeadline(time.Now().Add(o.timeout))
					_, err := io.WriteString(c, h.opening)
					_ = c.SetWriteDeadline(time.Time{})
					if err != nil {
						h.res.note(&h.res.ServerClosed, "write: "+err.Error())
						_ = c.Close()
						return
					}
				}
				heldMu.Lock()
				heldConns[hi] = append(heldConns[hi], c)
				heldMu.Unlock()
			}()
		}
		wg.Wait()
	}()

	// The burst: malformed requests in turn, paced at -abuse-rate, at most
	// burstN at once and 20 x -abuse-conns in all.
	kinds := malformedKinds(host, o.path, o.abuseHeaderBytes)
	results := make([]*kindResult, len(kinds))
	for i, k := range kinds {
		results[i] = &kindResult{Name: k.name}
	}
	var stop atomic.Bool
	burstDone := make(chan struct{})
	go func() {
		defer close(burstDone)
		bsem := make(chan struct{}, burstN)
		var wg sync.WaitGroup
		t0 := time.Now()
		for i := 0; i < burstMax && !stop.Load(); i++ {
			if o.abuseRate > 0 {
				time.Sleep(time.Until(t0.Add(time.Duration(float64(i) / o.abuseRate * float64(time.Second)))))
			}
			bsem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-bsem; wg.Done() }()
				k, res := kinds[i%len(kinds)], results[i%len(kinds)]
				c, err := dial()
				if err != nil {
					res.note(&res.DialErrors, "dial: "+err.Error())
					return
				}
				defer c.Close()
				res.note(&res.Sent, "")
				sendMalformed(o, c, k, res)
			}()
		}
		wg.Wait()
	}()

	if !in.Scan() || strings.TrimSpace(in.Text()) != "stop" {
		stop.Store(true)
		if err := in.Err(); err != nil {
			return err
		}
		return errors.New(`expected "stop"`)
	}
	stop.Store(true)
	<-burstDone
	<-heldDone
	// What became of the held connections that read: still open, closed by
	// the server, or answered (a server may answer 408 before closing).
	for hi, h := range held {
		if !h.probeEnd {
			continue
		}
		for _, c := range heldConns[hi] {
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			var b [1]byte
			n, err := c.Read(b[:])
			switch {
			case n > 0:
				h.res.note(&h.res.Answered, "")
			case isTimeout(err):
				h.res.note(&h.res.Open, "")
			default:
				h.res.note(&h.res.ServerClosed, "")
			}
		}
	}
	r := abuseReport{Phase: "abuse", Ms: time.Since(start).Milliseconds()}
	for _, h := range held {
		r.Kinds = append(r.Kinds, h.res)
	}
	r.Kinds = append(r.Kinds, results...)
	if err := out.Encode(r); err != nil {
		return err
	}
	for _, cs := range heldConns {
		for _, c := range cs {
			_ = c.Close()
		}
	}
	return nil
}

// sendMalformed writes k's request on c and classifies what the server does
// within -abuse-timeout.
func sendMalformed(o options, c net.Conn, k malformed, res *kindResult) {
	_ = c.SetDeadline(time.Now().Add(o.abuseTimeout))
	// A server may answer and close before it has read everything (an
	// oversized header): a failed write is fine, the answer still counts.
	_, _ = c.Write(k.payload)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		if isTimeout(err) {
			res.note(&res.Hung, fmt.Sprintf("no answer and no close within %s", o.abuseTimeout))
			return
		}
		res.mu.Lock()
		res.Closed++
		if res.HowClosed == "" {
			res.HowClosed = closedHow(err)
		}
		res.mu.Unlock()
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode >= 400 && resp.StatusCode < 500 && !k.closeOK {
		res.note(&res.Rejected, "")
		return
	}
	if !k.closeOK {
		res.note(&res.Wrong, fmt.Sprintf("answered %d", resp.StatusCode))
		return
	}
	if resp.StatusCode >= 500 {
		res.note(&res.Wrong, fmt.Sprintf("answered %d", resp.StatusCode))
		return
	}
	// Any answer, then a close with nothing more: a second answer is the
	// smuggled request served.
	status := resp.StatusCode
	resp, err = http.ReadResponse(br, nil)
	switch {
	case err == nil:
		_ = resp.Body.Close()
		res.note(&res.Wrong, fmt.Sprintf("answered %d, then answered the smuggled request (%d)", status, resp.StatusCode))
	case isTimeout(err):
		res.note(&res.Hung, fmt.Sprintf("answered %d, then kept the connection open for %s", status, o.abuseTimeout))
	case status >= 400:
		res.note(&res.Rejected, "")
	default:
		res.note(&res.Closed, "")
	}
}

// interleave lists the indexes of kinds, each as many times as n says, so
// that every kind is spread evenly over the list: the next is always the
// kind furthest behind its share.
func interleave[T any](kinds []T, n func(T) int) []int {
	total := 0
	for _, k := range kinds {
		total += n(k)
	}
	done := make([]int, len(kinds))
	order := make([]int, 0, total)
	for range total {
		best, bestLag := -1, 0.0
		for i, k := range kinds {
			if done[i] >= n(k) {
				continue
			}
			lag := float64(done[i]+1) / float64(n(k))
			if best < 0 || lag < bestLag {
				best, bestLag = i, lag
			}
		}
		done[best]++
		order = append(order, best)
	}
	return order
}

// closedHow says how a connection ended without an answer.
func closedHow(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed by the server with nothing sent"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset by the server"
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// printAbuse prints the abuser's report; it returns whether every malformed
// request was rejected or closed (none hung or answered wrongly) and every
// held connection was made.
func printAbuse(r abuseReport) bool {
	ok := true
	fmt.Printf("\n%-42s  %6s  %8s  %6s  %5s  %4s  %6s  %8s  %8s\n", "abuse (during the abuse round)", "conns", "rejected", "closed", "wrong", "hung", "open", "srv-shut", "dial-err")
	for _, k := range r.Kinds {
		switch {
		case k.Probed:
			fmt.Printf("%-42s  %6d  %8s  %6s  %5s  %4s  %6d  %8d  %8d\n", k.Name, k.Sent, "-", "-", "-", "-", k.Open, k.ServerClosed+k.Answered, k.DialErrors)
		case k.Held:
			fmt.Printf("%-42s  %6d  %8s  %6s  %5s  %4s  %6s  %8s  %8d\n", k.Name, k.Sent, "-", "-", "-", "-", "-", "-", k.DialErrors)
		default:
			fmt.Printf("%-42s  %6d  %8d  %6d  %5d  %4d  %6s  %8s  %8d\n", k.Name, k.Sent, k.Rejected, k.Closed, k.Wrong, k.Hung, "-", "-", k.DialErrors)
		}
		if k.HowClosed != "" {
			fmt.Printf("    closed without an answer: %s (the first one)\n", k.HowClosed)
		}
		if k.Wrong+k.Hung+k.DialErrors > 0 {
			ok = false
			if k.First != "" {
				fmt.Printf("    first: %s\n", k.First)
			}
		}
	}
	return ok
}
