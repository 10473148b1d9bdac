package h2serve

import (
	"strconv"

	"golang.org/x/net/http2/hpack"
)

// Response header blocks are encoded with HPACK's static table and literals
// "without indexing" only: they never touch the dynamic table, so the same
// bytes are valid on every connection, whatever the peer's table holds, and
// can be encoded once when a stub is loaded.

// staticNames maps the names of HPACK's static table (RFC 7541, appendix A)
// to their first index.
var staticNames = map[string]uint64{
	":authority": 1, ":method": 2, ":path": 4, ":scheme": 6, ":status": 8,
	"accept-charset": 15, "accept-encoding": 16, "accept-language": 17,
	"accept-ranges": 18, "accept": 19, "access-control-allow-origin": 20,
	"age": 21, "allow": 22, "authorization": 23, "cache-control": 24,
	"content-disposition": 25, "content-encoding": 26, "content-language": 27,
	"content-length": 28, "content-location": 29, "content-range": 30,
	"content-type": 31, "cookie": 32, "date": 33, "etag": 34, "expect": 35,
	"expires": 36, "from": 37, "host": 38, "if-match": 39,
	"if-modified-since": 40, "if-none-match": 41, "if-range": 42,
	"if-unmodified-since": 43, "last-modified": 44, "link": 45, "location": 46,
	"max-forwards": 47, "proxy-authenticate": 48, "proxy-authorization": 49,
	"range": 50, "referer": 51, "refresh": 52, "retry-after": 53, "server": 54,
	"set-cookie": 55, "strict-transport-security": 56, "transfer-encoding": 57,
	"user-agent": 58, "vary": 59, "via": 60, "www-authenticate": 61,
}

// staticStatus maps the statuses that have a complete entry in the static
// table to its index.
var staticStatus = map[int]byte{200: 8, 204: 9, 206: 10, 304: 11, 400: 12, 404: 13, 500: 14}

// connectionSpecific lists the header fields HTTP/2 forbids (RFC 9113,
// section 8.2.2).
func connectionSpecific(lowerName string) bool {
	switch lowerName {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

// EncodeHeaderBlock encodes a response header block: :status, then headers
// in order (names lowercased; connection-specific fields such as Connection
// and Transfer-Encoding, which HTTP/2 forbids, are dropped), then
// content-length when contentLength >= 0 (and the status allows one; any
// content-length among headers is dropped then). It uses only the static
// table and literals without indexing, so the block is valid on every
// connection: encode it once, when the response is loaded, and pass it to
// ResponseWriter.WriteBlock for every request. Values are Huffman-coded where
// that is shorter.
func EncodeHeaderBlock(status int, headers [][2]string, contentLength int) []byte {
	withLength := contentLength >= 0 && status >= 200 && status != 204
	b := appendFields(appendStatus(nil, status), headers, withLength)
	if withLength {
		b = appendField(b, "content-length", strconv.Itoa(contentLength), false)
	}
	return b
}

// EncodeTrailerBlock encodes a trailing header block: fields in order,
// names lowercased, pseudo-header and connection-specific fields dropped,
// with the static table and literals without indexing (see
// EncodeHeaderBlock), for ResponseWriter.WriteTrailers.
func EncodeTrailerBlock(fields [][2]string) []byte {
	return appendFields(nil, fields, false)
}

// appendFields appends fields as EncodeHeaderBlock encodes them: names
// lowercased, pseudo-header and connection-specific fields (and
// content-length when noLength) dropped, values Huffman-coded where
// shorter.
func appendFields(b []byte, fields [][2]string, noLength bool) []byte {
	for _, f := range fields {
		name := lower(f[0])
		if connectionSpecific(name) || noLength && name == "content-length" || name == "" || name[0] == ':' {
			continue
		}
		b = appendField(b, name, f[1], true)
	}
	return b
}

// AppendHeaderField appends one header field (name lowercased) to an HPACK
// header block as a literal without indexing, not Huffman-coded: cheap
// enough per request. Appended after a block from EncodeHeaderBlock, it adds
// a field to that response (see also ResponseWriter.AddHeader).
func AppendHeaderField(dst []byte, name, value string) []byte {
	return appendField(dst, lower(name), value, false)
}

func appendStatus(b []byte, status int) []byte {
	if i, ok := staticStatus[status]; ok {
		return append(b, 0x80|i) // indexed field
	}
	// Literal without indexing, name :status (index 8), a raw 3-digit value
	// (blockStatus reads it back).
	b = append(b, 0x08)
	s := strconv.Itoa(status)
	b = append(b, byte(len(s)))
	return append(b, s...)
}

// appendField appends a literal without indexing, with the name from the
// static table when it is there.
func appendField(b []byte, name, value string, huffman bool) []byte {
	if i, ok := staticNames[name]; ok {
		b = appendVarInt(b, 4, 0x00, i)
	} else {
		b = append(b, 0x00)
		b = appendString(b, name, huffman)
	}
	return appendString(b, value, huffman)
}

// appendFieldBytes is appendField for a raw (not Huffman-coded) value given
// as bytes, with a name already lowercased.
func appendFieldBytes(b []byte, name string, value []byte) []byte {
	if i, ok := staticNames[name]; ok {
		b = appendVarInt(b, 4, 0x00, i)
	} else {
		b = append(b, 0x00)
		b = appendString(b, name, false)
	}
	b = appendVarInt(b, 7, 0x00, uint64(len(value)))
	return append(b, value...)
}

func appendString(b []byte, s string, huffman bool) []byte {
	if huffman {
		if n := hpack.HuffmanEncodeLength(s); n < uint64(len(s)) {
			b = appendVarInt(b, 7, 0x80, n)
			return hpack.AppendHuffmanString(b, s)
		}
	}
	b = appendVarInt(b, 7, 0x00, uint64(len(s)))
	return append(b, s...)
}

// appendVarInt appends i as an HPACK integer with an n-bit prefix, the
// first byte's other bits set to first (RFC 7541, section 5.1).
func appendVarInt(b []byte, n byte, first byte, i uint64) []byte {
	k := uint64(1)<<n - 1
	if i < k {
		return append(b, first|byte(i))
	}
	b = append(b, first|byte(k))
	i -= k
	for ; i >= 128; i >>= 7 {
		b = append(b, byte(0x80|i&0x7f))
	}
	return append(b, byte(i))
}

// blockStatus reads the status from the start of a block made by
// EncodeHeaderBlock; it returns 0 when it cannot tell.
func blockStatus(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	if b[0]&0x80 != 0 {
		switch b[0] & 0x7f {
		case 8:
			return 200
		case 9:
			return 204
		case 10:
			return 206
		case 11:
			return 304
		case 12:
			return 400
		case 13:
			return 404
		case 14:
			return 500
		}
		return 0
	}
	if b[0] == 0x08 && len(b) >= 5 && b[1] == 3 {
		s := 0
		for _, c := range b[2:5] {
			if c < '0' || c > '9' {
				return 0
			}
			s = s*10 + int(c-'0')
		}
		return s
	}
	return 0
}

// bodyAllowed tells whether a response with this status may have a body.
func bodyAllowed(status int) bool {
	return !(status >= 100 && status < 200 || status == 204 || status == 304)
}

// lower returns s in ASCII lower case, without allocating when it already is.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
