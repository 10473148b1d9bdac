package journal

import (
	"encoding/base64"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/decoy-dev/decoy/internal/engine"
)

// Entry is the read view of one recorded request, as the admin API returns
// it in JSON.
type Entry struct {
	Seq        uint64    `json:"seq"`        // 1 for the first record ever added, then +1 per record
	Time       time.Time `json:"time"`       // Record.Start, without its monotonic reading
	DurationUS int64     `json:"durationUs"` // Record.Duration in microseconds
	// End is when decoy finished handling the request: Time plus the
	// duration, the response handed to the connection (after any injected
	// delay before the first byte).
	End time.Time `json:"end"`
	// The wire timestamps, in microseconds since the Unix epoch, absent
	// when the front door does not measure them: when the first and the
	// last byte of the request were received, and when the first and the
	// last byte of the response were sent (handed to the kernel).
	RequestFirstByteUS  int64  `json:"requestFirstByteUs,omitempty"`
	RequestLastByteUS   int64  `json:"requestLastByteUs,omitempty"`
	ResponseFirstByteUS int64  `json:"responseFirstByteUs,omitempty"`
	ResponseLastByteUS  int64  `json:"responseLastByteUs,omitempty"`
	Proto               string `json:"proto"`
	Method              string `json:"method"`
	URI                 string `json:"uri"`
	Path                string `json:"path"`            // URI up to '?' (without scheme and host for absolute-form URIs)
	Query               string `json:"query,omitempty"` // URI after '?', raw
	// URITruncated says the URI was longer than MaxURI and was cut.
	URITruncated bool `json:"uriTruncated,omitempty"`
	// Headers is parsed from the raw block, keys canonical as
	// textproto.CanonicalMIMEHeaderKey makes them (HTTP/2 pseudo-headers
	// such as ":authority" are kept as they are).
	Headers map[string][]string `json:"headers,omitempty"`
	// HeadersTruncated says the header block was longer than MaxHeaders;
	// the headers past the last complete line within it are missing.
	HeadersTruncated bool `json:"headersTruncated,omitempty"`
	// Body is the kept part of the body: as text when it is valid UTF-8,
	// otherwise base64 (standard, padded) with BodyEncoding "base64".
	Body          string `json:"body,omitempty"`
	BodyEncoding  string `json:"bodyEncoding,omitempty"`
	BodySize      int64  `json:"bodySize"` // full size, even if truncated
	BodyTruncated bool   `json:"bodyTruncated,omitempty"`
	Remote        string `json:"remote,omitempty"` // "ip:port"
	// ClientCert is the subject of the client's TLS certificate, when it
	// presented one ("CN=alice,O=Example").
	ClientCert string `json:"clientCert,omitempty"`
	// Cert is the whole certificate's facts, for matchers on it (verify,
	// count); the JSON shows the subject alone.
	Cert  *engine.ClientCert `json:"-"`
	Stub  string             `json:"stub,omitempty"`  // "" when no stub matched
	Fault string             `json:"fault,omitempty"` // kind of the fault injected, "" when none
	// Status is the HTTP status of the response: 200 for every gRPC call
	// (the status of its headers, or of a trailers-only answer).
	Status int `json:"status"`
	// GRPCStatus is a gRPC call's status code (0 OK, 5 NOT_FOUND, ...);
	// absent for other requests.
	GRPCStatus *int  `json:"grpcStatus,omitempty"`
	BytesIn    int64 `json:"bytesIn"`
	BytesOut   int64 `json:"bytesOut"`
}

// entry turns a copied-out slot into its read view.
func (r *raw) entry() Entry {
	path, query := splitURI(r.uri)
	e := Entry{
		Seq:                 r.seq,
		Time:                r.start.Round(0),
		DurationUS:          r.dur.Microseconds(),
		End:                 r.start.Add(r.dur).Round(0),
		RequestFirstByteUS:  unixMicro(r.wire.firstIn),
		RequestLastByteUS:   unixMicro(r.wire.lastIn),
		ResponseFirstByteUS: unixMicro(r.wire.firstOut),
		ResponseLastByteUS:  unixMicro(r.wire.lastOut),
		Proto:               r.proto,
		Method:              r.method,
		URI:                 r.uri,
		Path:                path,
		Query:               query,
		URITruncated:        r.uriCut,
		Headers:             parseHeaders(r.headers),
		HeadersTruncated:    r.hdrCut,
		BodySize:            r.bodySize,
		BodyTruncated:       int64(len(r.body)) < r.bodySize,
		Cert:                r.cert,
		Stub:                r.stub,
		Fault:               r.fault,
		Status:              r.status,
		BytesIn:             r.bytesIn,
		BytesOut:            r.bytesOut,
	}
	if r.grpc {
		code := r.grpcStat
		e.GRPCStatus = &code
	}
	e.Body, e.BodyEncoding = bodyText(r.body, e.BodyTruncated)
	if r.remote.IsValid() {
		e.Remote = r.remote.String()
	}
	if r.cert != nil {
		e.ClientCert = r.cert.Subject
	}
	return e
}

// unixMicro is t in microseconds since the Unix epoch, 0 for the zero time.
func unixMicro(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// bodyText returns b as text when it is valid UTF-8 and as base64 otherwise.
// A truncated body may end in the middle of a character: that partial
// character is dropped rather than turning the whole body into base64.
func bodyText(b string, truncated bool) (text, encoding string) {
	if b == "" {
		return "", ""
	}
	t := b
	if truncated {
		t = trimPartialRune(t)
	}
	if utf8.ValidString(t) {
		return t, ""
	}
	return base64.StdEncoding.EncodeToString([]byte(b)), "base64"
}

// trimPartialRune drops an incomplete UTF-8 sequence from the end of s.
func trimPartialRune(s string) string {
	for k := 1; k < utf8.UTFMax && k <= len(s); k++ {
		if utf8.RuneStart(s[len(s)-k]) {
			if !utf8.FullRuneInString(s[len(s)-k:]) {
				return s[:len(s)-k]
			}
			return s
		}
	}
	return s
}

// parseHeaders parses a raw "Name: value\r\n" block. Lines without a colon
// are skipped; a line starting with a space or tab continues the previous
// value (obsolete line folding); a leading ':' is part of the name (HTTP/2
// pseudo-headers). Values are trimmed of surrounding spaces and tabs.
func parseHeaders(block string) map[string][]string {
	var h map[string][]string
	last := ""
	for block != "" {
		var line string
		line, block, _ = strings.Cut(block, "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last != "" {
				vs := h[last]
				if more := strings.Trim(line, " \t"); more != "" {
					vs[len(vs)-1] += " " + more
				}
			}
			continue
		}
		last = ""
		i := strings.IndexByte(line[1:], ':') + 1 // a leading ':' belongs to the name
		if i == 0 {
			continue
		}
		name := strings.TrimRight(line[:i], " \t")
		if name == "" {
			continue
		}
		key := textproto.CanonicalMIMEHeaderKey(name)
		if h == nil {
			h = make(map[string][]string)
		}
		h[key] = append(h[key], strings.Trim(line[i+1:], " \t"))
		last = key
	}
	return h
}

// splitURI splits a request URI into its path and query. For an
// absolute-form URI ("http://host/p?q") the scheme and authority are not part
// of the path. A fragment, should a client send one, is dropped.
func splitURI(uri string) (path, query string) {
	return uri[pathStart(uri):pathEnd(uri)], queryPart(uri)
}

// pathStart returns where the path begins in uri: 0, unless uri is in
// absolute form, in which case it is the first '/' after the authority (or
// the end of the path-less URI).
func pathStart[S ~string | ~[]byte](uri S) int {
	if len(uri) == 0 || uri[0] == '/' {
		return 0
	}
	// scheme "://" authority
	for i := 0; i+2 < len(uri); i++ {
		c := uri[i]
		if c == ':' {
			if uri[i+1] != '/' || uri[i+2] != '/' {
				return 0
			}
			for k := i + 3; k < len(uri); k++ {
				if uri[k] == '/' || uri[k] == '?' || uri[k] == '#' {
					return k
				}
			}
			return len(uri)
		}
		if !isSchemeChar(c) {
			return 0
		}
	}
	return 0
}

func isSchemeChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'
}

// pathEnd returns where the path ends in uri: at the first '?' or '#'.
func pathEnd[S ~string | ~[]byte](uri S) int {
	for i := 0; i < len(uri); i++ {
		if uri[i] == '?' || uri[i] == '#' {
			return i
		}
	}
	return len(uri)
}

// queryPart returns the raw query of uri, without '?' and any fragment.
func queryPart(uri string) string {
	i := strings.IndexByte(uri, '?')
	if i < 0 {
		return ""
	}
	q := uri[i+1:]
	if k := strings.IndexByte(q, '#'); k >= 0 {
		q = q[:k]
	}
	return q
}
