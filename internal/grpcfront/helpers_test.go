package grpcfront_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/grpcfront"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/protoload"
	"github.com/decoy-dev/decoy/internal/wake"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// The clock dlclark/regexp2 keeps while patterns with a time limit run
// (generated values that keep a pattern) stops a second after the last.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction(wake.Goroutine), goleak.IgnoreAnyFunction("github.com/dlclark/regexp2.runClock"))
}

func shopSet(t testing.TB) *protoload.Set {
	t.Helper()
	set, err := protoload.LoadSources(map[string]string{"shop/v1/shop.proto": grpcfront.ShopProto})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// server is a running gRPC front door and a client connected to it.
type server struct {
	front   *grpcfront.Server
	conn    *grpc.ClientConn
	set     *protoload.Set
	store   *engine.Store
	journal *journal.Journal
	addr    string
}

type opts struct {
	journal int // journal capacity
	maxRecv int
	protos  map[string]string // .proto sources by name; nil: shopProto
	set     *protoload.Set    // the .proto files, loaded (instead of protos)
	http    string            // the HTTP port's address, for the gRPC port to name
	certs   bool              // Options.ClientCerts
	tls     *tls.Config       // Options.TLS
}

// start serves stubs (a YAML stub file's text) for shopProto on a
// loopback port, and connects a client.
func start(t testing.TB, stubs string, o ...opts) *server {
	t.Helper()
	var op opts
	if len(o) > 0 {
		op = o[0]
	}
	set := shopSet(t)
	if op.protos != nil {
		var err error
		if set, err = protoload.LoadSources(op.protos); err != nil {
			t.Fatal(err)
		}
	}
	if op.set != nil {
		set = op.set
	}
	var store *engine.Store
	if stubs == "" {
		var err error
		store, err = engine.NewStore(nil)
		if err != nil {
			t.Fatal(err)
		}
	} else {
		// Built as decoy serve builds it: matchers take proto names.
		l, err := config.LoadStubBytes("stubs.yaml", []byte(stubs))
		if err != nil {
			t.Fatal(err)
		}
		if errs := grpcfront.Check(set, l.Sources); errs != nil {
			t.Fatal(l.Locate(errs))
		}
		if store, err = engine.NewStore(l.Sources, grpcfront.EngineOptions(set)...); err != nil {
			t.Fatal(err)
		}
	}
	j := journal.New(op.journal, 4096)
	front := grpcfront.New(grpcfront.Options{Engine: store.Engine(), Protos: set, Journal: j, MaxRecvMsgSize: op.maxRecv, HTTPAddr: op.http, ClientCerts: op.certs, TLS: op.tls})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- front.Serve(ln) }()
	conn, err := grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := front.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return &server{front: front, conn: conn, set: set, store: store, journal: j, addr: ln.Addr().String()}
}

// msg makes a message of the named type from JSON.
func (s *server) msg(t testing.TB, name, js string) *dynamicpb.Message {
	t.Helper()
	mt, err := s.set.Types().FindMessageByName(protoreflect.FullName(name))
	if err != nil {
		t.Fatal(err)
	}
	m := dynamicpb.NewMessage(mt.Descriptor())
	if js != "" {
		if err := protojson.Unmarshal([]byte(js), m); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// out makes an empty message of the named type, to receive into.
func (s *server) out(t testing.TB, name string) *dynamicpb.Message { return s.msg(t, name, "") }

// jsonOf writes m as compact JSON, for comparisons.
func jsonOf(t testing.TB, m proto.Message) string {
	t.Helper()
	b, err := protojson.MarshalOptions{}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var c []byte
	// Compact by re-encoding through the stable encoding/json form.
	c, err = compact(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(c)
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// grpcCode is the gRPC status code of a journal entry, -1 when it has none.
func grpcCode(e journal.Entry) int {
	if e.GRPCStatus == nil {
		return -1
	}
	return *e.GRPCStatus
}
