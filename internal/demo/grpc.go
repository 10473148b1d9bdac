package demo

import (
	_ "embed"

	"github.com/decoy-dev/decoy/internal/protoload"
)

// The demo's gRPC service: a .proto file compiled at start and its stubs,
// kept apart from demo.yaml so that each reads on its own.
var (
	//go:embed demo.proto
	protoSrc string
	//go:embed demo-grpc.yaml
	grpcStubs []byte
)

// ProtoName is the name the demo's .proto file is compiled under.
const ProtoName = "decoy/demo/v1/demo.proto"

// GRPCName is the file name the demo's gRPC stubs are reported under.
const GRPCName = "demo-grpc.yaml"

// Protos compiles the demo's .proto file.
func Protos() (*protoload.Set, error) {
	return protoload.LoadSources(map[string]string{ProtoName: protoSrc})
}

// GRPCYAML returns the stub file of the demo's gRPC service.
func GRPCYAML() []byte { return grpcStubs }
