package grpcfront_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// The benchmarks make real calls over loopback with a grpc-go client, so
// their figures (time and allocations) hold the client's share too; the
// client sends and receives raw bytes so that its share is the same for
// every benchmark. The health check is a handler compiled into grpc-go,
// with generated code, answering a message of the same size as the
// stubbed one (2 bytes), reached through grpc-go's ServeHTTP on decoy's
// loop. bench/grpc-ghz.sh measures the server's share alone, beside a
// grpc-go server. Run with:
//
//	go test -run '^$' -bench . -benchmem ./internal/grpcfront/

const benchStubs = `
- request: {path: /shop.v1.Users/GetUser}
  response: {body: {id: 1}}
`

func benchUnary(b *testing.B, stubs string, journal int) {
	s := start(b, stubs, opts{journal: journal})
	rawCall(b, s, getUser, []byte{0x08, 0x2a}) // {"id": 42}
}

// BenchmarkUnaryStatic: a stub with a static message, pre-encoded at load;
// no journal (--journal-size 0, as for a load test).
func BenchmarkUnaryStatic(b *testing.B) { benchUnary(b, benchStubs, 0) }

// BenchmarkUnaryStaticJournal: the same with the journal on (the default),
// which decodes each request to JSON to record it.
func BenchmarkUnaryStaticJournal(b *testing.B) { benchUnary(b, benchStubs, 10000) }

// BenchmarkUnaryGenerated: no stub; a generated message per call.
func BenchmarkUnaryGenerated(b *testing.B) { benchUnary(b, "", 0) }

// BenchmarkUnaryBodyMatch: the stub matches on the request body, so each
// request is decoded to JSON.
func BenchmarkUnaryBodyMatch(b *testing.B) {
	benchUnary(b, `
- request: {path: /shop.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 42}]}}
  response: {body: {id: 1}}
`, 0)
}

// BenchmarkHealthCheckCompiledIn is the yardstick: grpc-go's own health
// service on the same server.
func BenchmarkHealthCheckCompiledIn(b *testing.B) {
	s := start(b, "")
	rawCall(b, s, healthpb.Health_Check_FullMethodName, nil)
}

// rawCall calls method with the encoded request in a loop.
func rawCall(b *testing.B, s *server, method string, req []byte) {
	c := context.Background()
	var out []byte
	call := grpc.ForceCodecV2(rawCodec{})
	if err := s.conn.Invoke(c, method, &req, &out, call); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.conn.Invoke(c, method, &req, &out, call); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnaryStaticParallel: many calls in flight on one connection.
func BenchmarkUnaryStaticParallel(b *testing.B) {
	s := start(b, benchStubs)
	in := s.msg(b, "shop.v1.GetUserRequest", `{"id": 42}`)
	c := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		out := s.out(b, "shop.v1.User")
		for pb.Next() {
			if err := s.conn.Invoke(c, getUser, in, out); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
