package protoload

import (
	"bytes"
	"compress/gzip"
	"io"
	"sync"

	gogo "github.com/gogo/protobuf/proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	// Registers gogo.proto's descriptor with gogo/protobuf's registry
	// (not with google.golang.org/protobuf's, where the others are).
	_ "github.com/gogo/protobuf/gogoproto"
)

// gogoPaths are the import paths projects give gogo/protobuf's options
// (gogoproto.nullable, customtype, ...) under: etcd, Kubernetes' CRI,
// Prometheus' remote write, Jaeger and the Cosmos SDK import them. The
// options only steer gogo's Go code generator, so decoy reads them and
// does nothing with them.
var gogoPaths = map[string]bool{
	"gogoproto/gogo.proto":                          true,
	"github.com/gogo/protobuf/gogoproto/gogo.proto": true,
}

var (
	gogoMu    sync.Mutex
	gogoFiles = map[string]protoreflect.FileDescriptor{}
)

// gogoFile returns gogo.proto's descriptor under the import path name (one
// of gogoPaths), built from the one the gogoproto package registers.
func gogoFile(name string) (protoreflect.FileDescriptor, bool) {
	if !gogoPaths[name] {
		return nil, false
	}
	gogoMu.Lock()
	defer gogoMu.Unlock()
	if fd, ok := gogoFiles[name]; ok {
		return fd, true
	}
	zr, err := gzip.NewReader(bytes.NewReader(gogo.FileDescriptor("gogo.proto")))
	if err != nil {
		return nil, false
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, false
	}
	fdp := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(raw, fdp); err != nil {
		return nil, false
	}
	fdp.Name = proto.String(name)
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		return nil, false
	}
	gogoFiles[name] = fd
	return fd, true
}
