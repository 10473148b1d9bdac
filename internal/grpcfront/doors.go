package grpcfront

import (
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/protoload"
	"github.com/decoy-dev/decoy/internal/stub"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// EngineOptions returns the engine options for stubs served beside set's
// services: proto field names in their body matchers (MatcherNames), and
// which requests each answers (Doors).
func EngineOptions(set *protoload.Set) []engine.Option {
	return []engine.Option{MatcherNames(set), Doors(set)}
}

// Doors returns the engine option that keeps gRPC calls and HTTP requests
// to their own stubs. A stub at a method's path, or with a grpc section,
// answers gRPC calls only: a plain HTTP request there gets an OpenAPI
// document's answer, or a 404 naming the gRPC stub. Any other stub
// (httpOnly, a catch-all or a prefix without a grpc section) answers HTTP
// requests only, so it cannot hide the gRPC stubs ranked after it.
func Doors(set *protoload.Set) engine.Option {
	return engine.WithDoor(func(s stub.Stub) engine.Door { return doorOf(set, s) })
}

func doorOf(set *protoload.Set, s stub.Stub) engine.Door {
	if set == nil {
		return engine.DoorAny // no gRPC call comes
	}
	if _, isGRPC := stubClass(set, s); isGRPC {
		return engine.DoorGRPC
	}
	return engine.DoorHTTP
}

// stubClass tells whether s answers gRPC calls of set, and the one method
// it answers when its path names one.
func stubClass(set *protoload.Set, s stub.Stub) (md protoreflect.MethodDescriptor, isGRPC bool) {
	if set == nil || s.HTTPOnly {
		return nil, false
	}
	hasGRPC := s.Response != nil && s.Response.GRPC != nil
	for _, r := range s.Responses {
		hasGRPC = hasGRPC || r.GRPC != nil
	}
	md, isGRPC, _ = classify(set, s.Request, hasGRPC)
	return md, isGRPC
}
