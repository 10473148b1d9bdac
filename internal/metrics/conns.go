package metrics

import (
	"crypto/tls"
	"sync/atomic"
)

// HTTP versions of requests, as indexes into counters.
const (
	HTTP10 = iota
	HTTP11
	HTTP2
	NumHTTPVersions
)

// HTTPVersionNames are the label values of the HTTP versions.
var HTTPVersionNames = [NumHTTPVersions]string{"1.0", "1.1", "2"}

// TLS versions, as indexes into counters. TLSUnknown is a handshake that
// failed before a version was agreed.
const (
	TLS10 = iota
	TLS11
	TLS12
	TLS13
	TLSUnknown
	NumTLSVersions
)

// TLSVersionNames are the label values of the TLS versions.
var TLSVersionNames = [NumTLSVersions]string{"1.0", "1.1", "1.2", "1.3", "unknown"}

// TLSVersion maps a crypto/tls version number to its index.
func TLSVersion(v uint16) int {
	switch v {
	case tls.VersionTLS10:
		return TLS10
	case tls.VersionTLS11:
		return TLS11
	case tls.VersionTLS12:
		return TLS12
	case tls.VersionTLS13:
		return TLS13
	}
	return TLSUnknown
}

// Handshake results, as indexes into counters.
const (
	HandshakeOK = iota
	HandshakeFailed
)

// RejectedCodes are the statuses a front door answers to requests it
// could not read: malformed (400), too slow (408), body too large (413),
// request line too long (414), headers too large (431), a transfer
// coding not taken (501), an HTTP version not served (505).
var RejectedCodes = [...]int{400, 408, 413, 414, 431, 501, 505}

// RejectedIndex is the index of code in RejectedCodes, or -1.
func RejectedIndex(code int) int {
	for i, c := range RejectedCodes {
		if c == code {
			return i
		}
	}
	return -1
}

// RequestsPerConnBounds are the upper bounds (inclusive) of the buckets of
// the requests-per-connection histogram, +Inf beyond. Zero counts the
// connections that closed without a complete request.
var RequestsPerConnBounds = [...]uint64{0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10000, 100000}

// PerConnBucket is the index of the requests-per-connection bucket for n.
func PerConnBucket(n uint64) int {
	for i, b := range RequestsPerConnBounds {
		if n <= b {
			return i
		}
	}
	return len(RequestsPerConnBounds)
}

// ConnStats is a front door's connection counters at one moment.
type ConnStats struct {
	// Accepted counts connections accepted since start; Open those open
	// now.
	Accepted, Open uint64
	// Closed counts closed connections by why they closed (the Close*
	// reasons); ClosedBy adds them up by who ended them.
	Closed [NumCloseReasons]uint64
	// Idle counts the connections open now that are kept alive between
	// requests, waiting for the next one; SlowReading those with a write
	// blocked for the slow-write threshold or longer (the client is not
	// reading). Both are sampled when read, not counted per request.
	Idle, SlowReading uint64
	// TLSHandshakes counts handshakes by version and result.
	TLSHandshakes [NumTLSVersions][2]uint64
	// Requests counts requests answered, by HTTP version, on open and
	// closed connections.
	Requests [NumHTTPVersions]uint64
	// Rejected counts requests answered with RejectedCodes[i] because they
	// could not be read.
	Rejected [len(RejectedCodes)]uint64
	// PerConn counts closed connections by requests served
	// (RequestsPerConnBounds; not cumulative); PerConnSum is the total of
	// those requests.
	PerConn    [len(RequestsPerConnBounds) + 1]uint64
	PerConnSum uint64
	// H2Streams counts closed HTTP/2 connections by streams answered on
	// them, in the buckets of RequestsPerConnBounds; H2StreamsSum is the
	// total of those streams.
	H2Streams    [len(RequestsPerConnBounds) + 1]uint64
	H2StreamsSum uint64
	// SlowWrites counts writes to a connection that took a second or more
	// (the front door's threshold): the client was not reading.
	SlowWrites uint64
	// LoopHandOffs counts plaintext HTTP/1.1 connections that the epoll
	// loops gave to the full server (fasthttp) because of a request they
	// do not answer themselves.
	LoopHandOffs uint64
}

// Why a connection closed, as indexes into ConnStats.Closed. The first
// three are the client's doing, the rest decoy's.
const (
	// CloseClientEOF: the client closed the connection.
	CloseClientEOF = iota
	// CloseClientReset: the client reset it (or the write side broke).
	CloseClientReset
	// CloseClientAsked: the client asked to close (Connection: close,
	// HTTP/1.0 without keep-alive) and decoy closed it after answering.
	CloseClientAsked
	// CloseIdleTimeout: no request came within idle-timeout (or, on a new
	// connection, read-timeout).
	CloseIdleTimeout
	// CloseReadTimeout: a request started but was not read in time.
	CloseReadTimeout
	// CloseShutdown: decoy was shutting down.
	CloseShutdown
	// CloseFault: a fault a stub injected ended the connection.
	CloseFault
	// CloseBadRequest: decoy answered a request it could not read (400,
	// 413, 431) and closed.
	CloseBadRequest
	// CloseTLSHandshake: the TLS handshake failed.
	CloseTLSHandshake
	// CloseOther: decoy ended it for another reason (an HTTP/2 protocol
	// error, a write blocked too long, an HTTP/2 idle timeout).
	CloseOther
	NumCloseReasons
)

// CloseReasonNames are the label values of the close reasons.
var CloseReasonNames = [NumCloseReasons]string{"eof", "reset", "asked-close", "idle-timeout", "read-timeout",
	"shutdown", "fault", "bad-request", "tls-handshake", "other"}

// CloseByClient tells whether reason is the client's doing.
func CloseByClient(reason int) bool { return reason <= CloseClientAsked }

// ClosedBy adds up Closed by who ended the connections.
func (s *ConnStats) ClosedBy() (client, server uint64) {
	for r, n := range s.Closed {
		if CloseByClient(r) {
			client += n
		} else {
			server += n
		}
	}
	return client, server
}

// Conn holds the counters of one open connection. The front door owns it
// (usually inside its own connection type), counts requests into it as
// they are answered, and hands it to Clients when the connection opens and
// closes; Clients reads it while it is open, for a live report.
type Conn struct {
	// Requests counts requests answered on the connection, by HTTP
	// version.
	Requests [NumHTTPVersions]atomic.Uint64
	// AskedClose counts requests that asked to close the connection
	// (Connection: close, or HTTP/1.0 without keep-alive); HTTP10Close
	// those of them that were HTTP/1.0 without keep-alive.
	AskedClose, HTTP10Close atomic.Uint64
	// Upgraded: the connection's last request handed it over to another
	// protocol (a WebSocket conversation), so one request on it is not a
	// client failing to reuse connections.
	Upgraded atomic.Bool

	// Guarded by Clients.mu.
	client     *client
	prev, next *Conn
}

// Total is the number of requests answered on the connection.
func (c *Conn) Total() uint64 {
	var n uint64
	for i := range c.Requests {
		n += c.Requests[i].Load()
	}
	return n
}
