package grpcfront

import (
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"

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
	return c.proto.Unmarshal(data, v)
}

func (codec) Name() string { return "proto" }
