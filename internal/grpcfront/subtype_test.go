package grpcfront_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/journal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// jsonCodec is a client's codec for application/grpc+json: protobuf's
// JSON form. name is its content subtype.
type jsonCodec struct{ name string }

var _ encoding.CodecV2 = jsonCodec{}

func (jsonCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := protojson.Marshal(v.(proto.Message))
	return mem.BufferSlice{mem.SliceBuffer(b)}, err
}

func (jsonCodec) Unmarshal(data mem.BufferSlice, v any) error {
	b := data.Materialize()
	if err := protojson.Unmarshal(b, v.(proto.Message)); err != nil {
		return errors.New("not JSON: " + err.Error() + ": " + strings.ToValidUTF8(string(b), "?"))
	}
	return nil
}

func (c jsonCodec) Name() string { return c.name }

// protoAs is the proto codec under another content subtype.
type protoAs struct {
	encoding.CodecV2
	name string
}

func (c protoAs) Name() string { return c.name }

// application/grpc+json is served as JSON, both ways: stubs, generated
// answers and streams; the answer's content type says so, and the journal
// records the call as for protobuf.
func TestContentSubtypeJSON(t *testing.T) {
	t.Parallel()
	s := start(t, unaryStubs, opts{journal: 100})
	asJSON := []grpc.CallOption{grpc.ForceCodecV2(jsonCodec{"json"}), grpc.CallContentSubtype("json")}

	var header metadata.MD
	out := s.out(t, "shop.v1.User")
	c := metadata.AppendToOutgoingContext(ctx(t), "x-tenant", "acme")
	if err := s.conn.Invoke(c, getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 42}`), out, append(asJSON, grpc.Header(&header))...); err != nil {
		t.Fatal(err)
	}
	if got := jsonOf(t, out); !strings.Contains(got, `"name":"Ada Lovelace"`) || !strings.Contains(got, `"createdAt":"2024-01-15T09:30:00Z"`) {
		t.Errorf("stub answer: %s", got)
	}
	if ct := header.Get("content-type"); len(ct) != 1 || ct[0] != "application/grpc+json" {
		t.Errorf("content-type %q", ct)
	}
	es := s.journal.Find(journal.Filter{Limit: 1})
	if len(es) != 1 || es[0].Stub != "ada" || es[0].Body != `{"id":42}` {
		t.Errorf("journal: %+v", es)
	}

	// No stub: a generated answer, as JSON.
	gen := s.out(t, "shop.v1.User")
	if err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 7}`), gen, asJSON...); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(jsonOf(t, gen), `"email":"user`) {
		t.Errorf("generated answer: %s", jsonOf(t, gen))
	}

	// A status from a stub, with its details, as for protobuf.
	err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 404}`), s.out(t, "shop.v1.User"), asJSON...)
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || len(st.Details()) != 1 {
		t.Errorf("error stub: %v", err)
	}

	// A server stream of generated messages.
	stream, err := s.conn.NewStream(ctx(t), &grpc.StreamDesc{ServerStreams: true}, listUsers, asJSON...)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.SendMsg(s.msg(t, "shop.v1.ListUsersRequest", `{"pageSize": 2}`)); err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	n := 0
	for {
		m := s.out(t, "shop.v1.User")
		if err := stream.RecvMsg(m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Errorf("server stream: %d messages", n)
	}

	// A body that is not the input type's JSON.
	err = s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.User", `{"name": "x"}`), s.out(t, "shop.v1.User"), asJSON...)
	if st := status.Convert(err); st.Code() != codes.Internal || !strings.Contains(st.Message(), "not shop.v1.GetUserRequest as JSON") {
		t.Errorf("wrong message: %v", err)
	}
}

// Other subtypes, and health and reflection over JSON, are refused with a
// status naming the content type: never a protobuf answer under a content
// type that says otherwise.
func TestContentSubtypeRefused(t *testing.T) {
	t.Parallel()
	s := start(t, unaryStubs)
	cbor := []grpc.CallOption{grpc.ForceCodecV2(protoAs{encoding.GetCodecV2("proto"), "cbor"}), grpc.CallContentSubtype("cbor")}
	err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 42}`), s.out(t, "shop.v1.User"), cbor...)
	if st := status.Convert(err); st.Code() != codes.Unimplemented || !strings.Contains(st.Message(), "not application/grpc+cbor") {
		t.Errorf("+cbor: %v", err)
	}
	// +proto is protobuf.
	proto := []grpc.CallOption{grpc.ForceCodecV2(protoAs{encoding.GetCodecV2("proto"), "proto"}), grpc.CallContentSubtype("proto")}
	if err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 42}`), s.out(t, "shop.v1.User"), proto...); err != nil {
		t.Errorf("+proto: %v", err)
	}

	health := healthpb.NewHealthClient(s.conn)
	for name, o := range map[string][]grpc.CallOption{
		"json":             {grpc.ForceCodecV2(jsonCodec{"json"}), grpc.CallContentSubtype("json")},
		"protobuf as json": {grpc.ForceCodecV2(protoAs{encoding.GetCodecV2("proto"), "json"}), grpc.CallContentSubtype("json")},
	} {
		_, err := health.Check(ctx(t), &healthpb.HealthCheckRequest{Service: "shop.v1.Users"}, o...)
		if st := status.Convert(err); (st.Code() != codes.Unimplemented && st.Code() != codes.Internal) || !strings.Contains(st.Message(), "protobuf") {
			t.Errorf("health Check, %s: %v", name, err)
		}
		w, err := health.Watch(ctx(t), &healthpb.HealthCheckRequest{}, o...)
		if err == nil {
			_, err = w.Recv()
		}
		if st := status.Convert(err); (st.Code() != codes.Unimplemented && st.Code() != codes.Internal) || !strings.Contains(st.Message(), "protobuf") {
			t.Errorf("health Watch, %s: %v", name, err)
		}
		// Reflection refuses before it reads.
		rs, err := s.conn.NewStream(ctx(t), &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", o...)
		if err == nil {
			_ = rs.SendMsg(&healthpb.HealthCheckRequest{})
			err = rs.RecvMsg(&healthpb.HealthCheckResponse{})
		}
		if st := status.Convert(err); st.Code() != codes.Unimplemented || !strings.Contains(st.Message(), "not application/grpc+json") {
			t.Errorf("reflection, %s: %v", name, err)
		}
	}
}
