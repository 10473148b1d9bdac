package examples_test

import (
	"testing"

	"github.com/decoy-dev/decoy/internal/protoload"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	// The interop test service as grpc-go compiles it: what its interop
	// client sends and expects.
	_ "google.golang.org/grpc/interop/grpc_testing"
)

// TestGRPCInteropProtos: the .proto files of examples/grpc-interop, as
// decoy compiles them, describe the same services and messages as the
// descriptors compiled into grpc-go's interop client (the version in
// go.mod), so the example keeps answering what that client sends.
func TestGRPCInteropProtos(t *testing.T) {
	t.Parallel()
	set, err := protoload.Load([]string{"grpc-interop"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"grpc/testing/empty.proto", "grpc/testing/messages.proto", "grpc/testing/test.proto"} {
		t.Run(name, func(t *testing.T) {
			ours, err := set.Files().FindFileByPath(name)
			if err != nil {
				t.Fatalf("the example lacks %s: %v", name, err)
			}
			theirs, err := protoregistry.GlobalFiles.FindFileByPath(name)
			if err != nil {
				t.Fatalf("grpc-go has no %s: %v", name, err)
			}
			a, b := comparable(ours), comparable(theirs)
			if !proto.Equal(a, b) {
				t.Errorf("%s differs from grpc-go's:\nexample: %v\ngrpc-go: %v", name, a, b)
			}
		})
	}
}

// comparable is fd as a descriptor proto without what differs between
// compilers and does not change the wire or the JSON form: source
// positions and comments, JSON names (protoc writes them out, decoy's
// compiler leaves the default ones implicit) and empty method options
// (left where protoc dropped an option grpc-go's build did not know).
func comparable(fd protoreflect.FileDescriptor) *descriptorpb.FileDescriptorProto {
	p := protodesc.ToFileDescriptorProto(fd)
	p.SourceCodeInfo = nil
	for _, s := range p.Service {
		for _, m := range s.Method {
			if m.Options != nil && proto.Size(m.Options) == 0 {
				m.Options = nil
			}
		}
	}
	var strip func(ms []*descriptorpb.DescriptorProto)
	strip = func(ms []*descriptorpb.DescriptorProto) {
		for _, m := range ms {
			for _, f := range m.Field {
				f.JsonName = nil
			}
			strip(m.NestedType)
		}
	}
	strip(p.MessageType)
	return p
}
