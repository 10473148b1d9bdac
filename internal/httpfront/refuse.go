package httpfront

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/decoy-dev/decoy/internal/h1loop"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/problem"
)

// Refusals of malformed requests. Every HTTP/1.x request is judged by
// h1loop's rules whichever engine reads it: the loops (h1loop.Check),
// serveConn before fasthttp for a connection's first request (over TLS
// too), and the gate of a connection fasthttp serves for every request
// (gatedRead, answered through fastError). All refuse in decoy's words,
// the same bytes from each.

// quoteMax is how much of the offending part of a request a refusal quotes.
const quoteMax = 64

// refusal is the problem document for what Check found.
func (s *Server) refusal(v h1loop.Verdict) *problem.Problem {
	if v.Status == 431 {
		return s.tooLarge()
	}
	q := v.Quote
	more := ""
	if len(q) > quoteMax {
		q, more = q[:quoteMax], fmt.Sprintf(" (the first %d bytes)", quoteMax)
	}
	if v.Status == 408 {
		return problem.New(408, fmt.Sprintf("the request did not all arrive within %s (read-timeout): send it at once, or raise read-timeout", s.o.ReadTimeout))
	}
	why := v.Why
	switch v.Status {
	case 400:
		why = "malformed HTTP request: " + why
	case 414:
		why = fmt.Sprintf("the request line exceeds %d bytes (max-header-bytes)", s.o.MaxHeaderBytes)
		more += "; shorten the URL, or raise max-header-bytes"
	}
	return problem.New(v.Status, why+": "+strconv.Quote(string(q))+more)
}

// tooLarge is the problem for a request line and headers past the limit.
func (s *Server) tooLarge() *problem.Problem {
	return problem.New(431, fmt.Sprintf("the request line and headers exceed %d bytes", s.o.MaxHeaderBytes))
}

// appendRefusal appends the whole answer refusing a request: what
// fasthttp sends for the errors it words (fastError), byte for byte.
func (s *Server) appendRefusal(out []byte, v h1loop.Verdict, now time.Time) []byte {
	body := s.refusal(v).JSON()
	out = append(out, statusLine(v.Status)...)
	out = append(out, "Server: decoy\r\nDate: "...)
	out = append(out, httpDateAt(now)...)
	out = append(out, crlf...)
	out = appendLine(out, "Content-Type", problem.ContentType)
	out = appendLine(out, "Content-Length", strconv.Itoa(len(body)))
	out = append(out, "Connection: close\r\n\r\n"...)
	return append(out, body...)
}

// loopRefuse answers a malformed first request on a loop (h1loop's
// Options.Refuse); the loop then closes the connection (Refused).
func (s *Server) loopRefuse(_ *h1loop.Conn, v h1loop.Verdict, out []byte) []byte {
	s.reject(v.Status)
	return s.appendRefusal(out, v, time.Now())
}

// refuseConn answers a malformed first request that reached serveConn
// on c, through nc (c itself, or TLS over it), and closes the connection.
func (s *Server) refuseConn(c *conn, nc net.Conn, v h1loop.Verdict) {
	if v.Status != h1loop.NotHTTP {
		s.reject(v.Status)
		_ = nc.SetWriteDeadline(time.Now().Add(s.o.ReadTimeout))
		_, _ = nc.Write(s.appendRefusal(nil, v, time.Now()))
	}
	c.setCause(metrics.CloseBadRequest)
	_ = nc.Close()
	s.untrack(c)
}
