package httpfront

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/problem"
)

// stdReq adapts a net/http request to engine.Fields.
type stdReq struct {
	r     *http.Request
	query map[string][]string
}

func (s *stdReq) Header(name string) (string, bool) {
	if strings.EqualFold(name, "Host") {
		return s.r.Host, s.r.Host != ""
	}
	v := s.r.Header.Values(name)
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

func (s *stdReq) Query(name string) (string, bool) {
	if s.query == nil {
		s.query = s.r.URL.Query()
	}
	v, ok := s.query[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

func (s *stdReq) Cookie(name string) (string, bool) {
	c, err := s.r.Cookie(name)
	if err != nil {
		return "", false
	}
	return c.Value, true
}

// handleStd serves requests that arrive over HTTP/2 (and the h2c Upgrade
// request itself).
func (s *Server) handleStd(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			problem.New(413, fmt.Sprintf("the request body exceeds %d bytes", s.o.MaxBodyBytes)).Write(w)
			return
		}
		problem.New(400, "reading the request body: "+err.Error()).Write(w)
		return
	}
	req := engine.Request{Proto: r.Proto, Method: r.Method, Path: r.URL.Path, Body: body, Fields: &stdReq{r: r}}
	if s.draining.Load() && r.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
	}
	st := s.o.Engine.Match(&req)
	status, out, stubID := 0, 0, ""
	if st == nil {
		p := s.noMatch(&req)
		p.Write(w)
		status = p.Status
	} else {
		stubID = st.ID
		resp := st.Next()
		if resp.Delay > 0 {
			select {
			case <-time.After(resp.Delay):
			case <-r.Context().Done():
				return
			case <-s.done:
			}
		}
		h := w.Header()
		if resp.ContentType != "" {
			h["Content-Type"] = []string{resp.ContentType}
		}
		for _, hd := range resp.Headers {
			h[hd.Name] = append(h[hd.Name], hd.Value)
		}
		h["Content-Length"] = []string{strconv.Itoa(len(resp.Body))}
		w.WriteHeader(resp.Status)
		if r.Method != http.MethodHead && bodyAllowed(resp.Status) {
			_, _ = w.Write(resp.Body)
			out = len(resp.Body)
		}
		status = resp.Status
	}
	if s.o.Journal.Cap() > 0 {
		var hb strings.Builder
		for k, vs := range r.Header {
			for _, v := range vs {
				hb.WriteString(k)
				hb.WriteString(": ")
				hb.WriteString(v)
				hb.WriteString("\r\n")
			}
		}
		if r.Host != "" {
			hb.WriteString("Host: " + r.Host + "\r\n")
		}
		remote, _ := netip.ParseAddrPort(r.RemoteAddr)
		s.o.Journal.Add(&journal.Record{
			Start: start, Duration: time.Since(start), Proto: r.Proto,
			Method: []byte(r.Method), URI: []byte(r.URL.RequestURI()), Headers: []byte(hb.String()),
			Body: body, Remote: remote, Stub: stubID, Status: status,
			BytesIn: int64(len(body)), BytesOut: int64(out),
		})
	}
}

func bodyAllowed(status int) bool {
	return !(status >= 100 && status < 200 || status == 204 || status == 304)
}
