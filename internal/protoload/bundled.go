package protoload

import (
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// Imported for their descriptors: the .proto files that real projects
	// import from outside their own tree, so that decoy compiles them
	// without the user copying googleapis or the validators' protos.
	_ "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	_ "cloud.google.com/go/longrunning/autogen/longrunningpb"
	_ "github.com/envoyproxy/protoc-gen-validate/validate"
	_ "github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2/options"
	_ "google.golang.org/genproto/googleapis/api"
	_ "google.golang.org/genproto/googleapis/api/annotations"
	_ "google.golang.org/genproto/googleapis/api/httpbody"
	_ "google.golang.org/genproto/googleapis/api/visibility"
	_ "google.golang.org/genproto/googleapis/rpc/code"
	_ "google.golang.org/genproto/googleapis/rpc/errdetails"
	_ "google.golang.org/genproto/googleapis/rpc/status"
	_ "google.golang.org/genproto/googleapis/type/calendarperiod"
	_ "google.golang.org/genproto/googleapis/type/color"
	_ "google.golang.org/genproto/googleapis/type/date"
	_ "google.golang.org/genproto/googleapis/type/datetime"
	_ "google.golang.org/genproto/googleapis/type/dayofweek"
	_ "google.golang.org/genproto/googleapis/type/decimal"
	_ "google.golang.org/genproto/googleapis/type/expr"
	_ "google.golang.org/genproto/googleapis/type/fraction"
	_ "google.golang.org/genproto/googleapis/type/interval"
	_ "google.golang.org/genproto/googleapis/type/latlng"
	_ "google.golang.org/genproto/googleapis/type/localized_text"
	_ "google.golang.org/genproto/googleapis/type/money"
	_ "google.golang.org/genproto/googleapis/type/month"
	_ "google.golang.org/genproto/googleapis/type/phone_number"
	_ "google.golang.org/genproto/googleapis/type/postaladdress"
	_ "google.golang.org/genproto/googleapis/type/quaternion"
	_ "google.golang.org/genproto/googleapis/type/timeofday"
)

// bundledPrefixes are the import paths decoy answers from the descriptors
// compiled into it when the user's folders do not have the file. The
// user's copy, when there is one, always wins.
var bundledPrefixes = []string{
	"google/api/",
	"google/rpc/",
	"google/type/",
	"google/longrunning/",
	"validate/validate.proto",
	"buf/validate/",
	"protoc-gen-openapiv2/options/",
}

// bundled returns the descriptor compiled into decoy for an import path
// such as "google/api/annotations.proto", if it is one decoy bundles.
func bundled(name string) (protoreflect.FileDescriptor, bool) {
	if fd, ok := gogoFile(name); ok {
		return fd, true
	}
	for _, p := range bundledPrefixes {
		if strings.HasPrefix(name, p) {
			fd, err := protoregistry.GlobalFiles.FindFileByPath(name)
			return fd, err == nil
		}
	}
	return nil, false
}

// BundledImports lists the import paths decoy resolves by itself, for
// documentation and messages.
func BundledImports() []string {
	var out []string
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if _, ok := bundled(fd.Path()); ok {
			out = append(out, fd.Path())
		}
		return true
	})
	for name := range gogoPaths {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
