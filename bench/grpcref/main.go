// Command grpcref is the reference server of bench/grpc-ghz.sh: a minimal
// grpc-go server whose handler is compiled in, as protoc-gen-go-grpc would
// generate it, for
//
//	package bench.v1;
//	import "google/protobuf/wrappers.proto";
//	service Bench { rpc Get(google.protobuf.Int64Value) returns (google.protobuf.StringValue); }
//
// The messages are protobuf's well-known wrapper types, whose Go code ships
// with google.golang.org/protobuf (wrapperspb), so the service needs no
// protoc: its grpc.ServiceDesc is written by hand below, and its file
// descriptor is built at start so that server reflection can describe it
// (grpcurl list, ghz without --proto). Every call decodes the request and
// answers the same StringValue, the one decoy's stub in bench/grpc-ghz.sh
// answers. grpc-go's health service answers grpc.health.v1.Health/Check
// ("" and bench.v1.Bench SERVING), as decoy does.
//
// Usage: grpcref -addr 127.0.0.1:50052 -reply TEXT
//
//	grpcref -addr 127.0.0.1:50052 -reply-bytes 1048576   (that many 'x')
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// BenchServer is the service's server API, as protoc-gen-go-grpc names it.
type BenchServer interface {
	Get(context.Context, *wrapperspb.Int64Value) (*wrapperspb.StringValue, error)
}

// The generated method handler: decode, run interceptors if any, call.
func benchGetHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.Int64Value)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(BenchServer).Get(ctx, in)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/bench.v1.Bench/Get"}
	handler := func(ctx context.Context, req any) (any, error) {
		return srv.(BenchServer).Get(ctx, req.(*wrapperspb.Int64Value))
	}
	return interceptor(ctx, in, info, handler)
}

var benchServiceDesc = grpc.ServiceDesc{
	ServiceName: "bench.v1.Bench",
	HandlerType: (*BenchServer)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Get", Handler: benchGetHandler}},
	Metadata:    "bench/v1/bench.proto",
}

type server struct{ reply string }

func (s *server) Get(_ context.Context, _ *wrapperspb.Int64Value) (*wrapperspb.StringValue, error) {
	return &wrapperspb.StringValue{Value: s.reply}, nil
}

// registerDescriptor adds bench/v1/bench.proto to the global registry, which
// server reflection reads.
func registerDescriptor() error {
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("bench/v1/bench.proto"),
		Package:    proto.String("bench.v1"),
		Dependency: []string{"google/protobuf/wrappers.proto"},
		Syntax:     proto.String("proto3"),
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("Bench"),
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name:       proto.String("Get"),
				InputType:  proto.String(".google.protobuf.Int64Value"),
				OutputType: proto.String(".google.protobuf.StringValue"),
			}},
		}},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		return err
	}
	return protoregistry.GlobalFiles.RegisterFile(fd)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:50052", "address to listen on (cleartext HTTP/2)")
	reply := flag.String("reply", "hello", "the StringValue every call answers")
	replyBytes := flag.Int("reply-bytes", 0, "answer a StringValue of this many 'x' instead of -reply")
	flag.Parse()
	if *replyBytes > 0 {
		*reply = strings.Repeat("x", *replyBytes)
	}
	log.SetFlags(0)
	log.SetPrefix("grpcref: ")

	if err := registerDescriptor(); err != nil {
		log.Fatalf("descriptor: %v", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	srv.RegisterService(&benchServiceDesc, &server{reply: *reply})
	hs := health.NewServer() // "" SERVING
	hs.SetServingStatus("bench.v1.Bench", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		srv.Stop()
	}()
	fmt.Printf("grpcref: serving bench.v1.Bench on %s\n", ln.Addr())
	if err := srv.Serve(ln); err != nil {
		log.Fatal(err)
	}
}
