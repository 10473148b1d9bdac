package grpcfront

import (
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// What the streams of decoy's own transports (h2Stream on its HTTP/2 loop,
// webStream for gRPC-Web) share: the metadata a handler sets on its
// answer, and the fields that end a call, which each writes in its own
// form (HPACK, or gRPC-Web's trailer block).

// answerMD is the metadata a handler sets on its call's answer: header
// metadata until the headers go out, trailer metadata until the end.
type answerMD struct {
	header, trailer metadata.MD
	headSent        bool // the headers went out
}

func (a *answerMD) SetHeader(md metadata.MD) error {
	if a.headSent {
		return errors.New("grpc: the headers were already sent")
	}
	a.header = metadata.Join(a.header, md)
	return nil
}

func (a *answerMD) SetTrailer(md metadata.MD) { a.trailer = metadata.Join(a.trailer, md) }

// eachMetadata calls f with each field of md that gRPC does not reserve,
// in the order of their names, a binary value (a name ending in -bin) in
// base64 with enc.
func eachMetadata(md metadata.MD, enc *base64.Encoding, f func(name, value string)) {
	var one [1]string
	keys := one[:0]
	if len(md) > 1 {
		keys = make([]string, 0, len(md))
	}
	for k := range md {
		keys = append(keys, k)
	}
	// In the order of their names, the same on every answer.
	slices.Sort(keys)
	for _, k := range keys {
		if reservedHeader(k) {
			continue
		}
		for _, v := range md[k] {
			if strings.HasSuffix(k, "-bin") {
				v = enc.EncodeToString([]byte(v))
			}
			f(k, v)
		}
	}
}

// eachStatusField calls f with the fields that end a call with st:
// grpc-status, grpc-message (percent-encoded, when there is one) and
// grpc-status-details-bin (when there are details).
func eachStatusField(st *status.Status, f func(name, value string)) {
	f("grpc-status", strconv.Itoa(int(st.Code())))
	if msg := st.Message(); msg != "" {
		f("grpc-message", encodeGRPCMessage(msg))
	}
	if len(st.Details()) > 0 {
		if p, err := proto.Marshal(st.Proto()); err == nil {
			f("grpc-status-details-bin", base64.RawStdEncoding.EncodeToString(p))
		}
	}
}

// reservedHeader tells the fields gRPC itself sets, which metadata may
// not carry (grpc-go's isReservedHeader).
func reservedHeader(k string) bool {
	if k == "" || k[0] == ':' {
		return true
	}
	switch k {
	case "content-type", "user-agent", "grpc-message-type", "grpc-encoding",
		"grpc-message", "grpc-status", "grpc-timeout", "grpc-status-details-bin", "te":
		return true
	}
	return false
}
