package grpcfront

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	// Registers gzip, the one compressor every gRPC implementation ships:
	// grpc-go refuses a call whose grpc-encoding it does not know (with
	// UNIMPLEMENTED, before the handler sees it, so it would not be
	// journaled). grpc-go decompresses before the codec runs, so frames
	// hold plain bytes either way; answers are compressed only for clients
	// that compress themselves.
	_ "google.golang.org/grpc/encoding/gzip"
	// Registers the "proto" codec that codec delegates to.
	_ "google.golang.org/grpc/encoding/proto"
)

// frame is one gRPC message as its protobuf bytes. The front door never
// decodes or encodes a message it does not have to: requests arrive as
// frames, pre-encoded responses leave as frames.
type frame struct {
	b []byte
	// bs, when set, is b as grpc-go takes it: made once for the frames
	// of a plan, which are never modified and sent by many calls at once
	// (grpc-go writes them after SendMsg returns and only reads them).
	bs mem.BufferSlice
}

// staticFrame makes the frame of a pre-encoded message.
func staticFrame(b []byte) *frame {
	return &frame{b: b, bs: mem.BufferSlice{mem.SliceBuffer(b)}}
}

// codec passes frames through untouched and leaves every other message
// (the health and reflection services') to the standard proto codec.
type codec struct {
	proto encoding.CodecV2
}

var _ encoding.CodecV2 = codec{}

func newCodec() codec { return codec{proto: encoding.GetCodecV2("proto")} }

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if f, ok := v.(*frame); ok {
		if f.bs != nil {
			return f.bs, nil
		}
		return mem.BufferSlice{mem.SliceBuffer(f.b)}, nil
	}
	return c.proto.Marshal(v)
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	if f, ok := v.(*frame); ok {
		// data is released after this call: copy it into the frame's own
		// buffer, reused from call to call.
		f.b = f.b[:0]
		for _, buf := range data {
			f.b = append(f.b, buf.ReadOnlyData()...)
		}
		return nil
	}
	if err := c.proto.Unmarshal(data, v); err != nil {
		// Only health and reflection messages get here.
		return fmt.Errorf("%w (decoy reads health and reflection messages as protobuf only: application/grpc, application/grpc+proto)", err)
	}
	return nil
}

func (codec) Name() string { return "proto" }

// Content subtypes. A gRPC call names how its messages are encoded in its
// content type: application/grpc and application/grpc+proto are protobuf,
// application/grpc+json is protobuf's JSON form (as grpc-go clients send
// it with grpc.CallContentSubtype("json") and a JSON codec). decoy's
// frames hold the bytes as they are on the wire; a JSON call's messages
// are turned into protobuf as they arrive and back into JSON as they
// leave (see jsonIn, jsonOut), so that everything between (matching, the
// journal, the plans' pre-encoded answers) is the same as for protobuf.
// Other subtypes are refused: a message would be read as protobuf and
// answered as protobuf under a content type that says otherwise.

// subtypeProto, subtypeJSON and subtypeOther are what contentSubtype
// returns.
const (
	subtypeProto = iota
	subtypeJSON
	subtypeOther
)

// contentSubtyper is grpc-go's server stream, which knows the call's
// content subtype ("" for application/grpc, "json" for
// application/grpc+json).
type contentSubtyper interface{ ContentSubtype() string }

// contentSubtype tells how the messages of the call of ctx are encoded,
// and the subtype as sent. It allocates nothing for protobuf calls.
func contentSubtype(ctx context.Context) (int, string) {
	var sub string
	if st, ok := grpc.ServerTransportStreamFromContext(ctx).(contentSubtyper); ok {
		sub = st.ContentSubtype()
	} else if v := metadata.ValueFromIncomingContext(ctx, "content-type"); len(v) > 0 {
		_, sub, _ = strings.Cut(v[0], "+")
	}
	switch sub { // the usual forms, without allocating
	case "", "proto":
		return subtypeProto, sub
	case "json":
		return subtypeJSON, sub
	}
	// grpc-go keeps the case of what follows '+', and passes on what
	// follows "application/grpc;" as a subtype too.
	name, _, _ := strings.Cut(strings.ToLower(sub), ";")
	switch name = strings.TrimSpace(name); {
	case name == "" || name == "proto" || strings.Contains(name, "="):
		return subtypeProto, sub
	case name == "json":
		return subtypeJSON, sub
	}
	return subtypeOther, sub
}

// errSubtype is the status of a call with a content subtype decoy does
// not serve; json says whether what is called is served with JSON too.
func errSubtype(sub, what string, json bool) error {
	also := ""
	if json {
		also = " or JSON (application/grpc+json)"
	}
	return status.Errorf(codes.Unimplemented, "decoy serves %s with protobuf messages (application/grpc, application/grpc+proto)%s, not application/grpc+%s", what, also, sub)
}

// jsonIn turns c.in, a message of JSON call, into its protobuf encoding.
func (s *Server) jsonIn(c *call, md protoreflect.MessageDescriptor) error {
	m := dynamicpb.NewMessage(md)
	if err := (protojson.UnmarshalOptions{Resolver: s.types}).Unmarshal(c.in.b, m); err != nil {
		return status.Errorf(codes.Internal, "grpc: error unmarshalling request: the message is not %s as JSON (application/grpc+json): %v", md.FullName(), err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return status.Errorf(codes.Internal, "grpc: error unmarshalling request: %v", err)
	}
	c.in.b = append(c.in.b[:0], b...)
	return nil
}

// jsonOut is f, a message of type md, as JSON for a JSON call.
func (s *Server) jsonOut(f *frame, md protoreflect.MessageDescriptor) (*frame, error) {
	m := dynamicpb.NewMessage(md)
	if err := unmarshal(f.b, m, s.types); err != nil {
		return nil, status.Errorf(codes.Internal, "decoy cannot write its answer as JSON: %v", err)
	}
	b, err := protojson.MarshalOptions{Resolver: s.types}.Marshal(m)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "decoy cannot write its answer as JSON (application/grpc+json): %v", err)
	}
	return &frame{b: b}, nil
}
