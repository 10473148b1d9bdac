package decoy_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Serve one stub and call it, as a client under test would.
func Example() {
	srv, err := decoy.Start(decoy.Options{Stubs: []decoy.Stub{{
		Request: decoy.Request{Method: "GET", Path: "/users/{id}"},
		Response: &decoy.Response{
			Headers: map[string]decoy.HeaderValues{"Cache-Control": {"max-age=60"}},
			Body:    decoy.MustJSON(map[string]any{"id": 42, "name": "Ada Lovelace"}),
		},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/users/42")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	fmt.Println(string(body))
	fmt.Println("calls:", srv.Count("GET", "/users/42"))
	// Output:
	// 200 OK application/json
	// {"id":42,"name":"Ada Lovelace"}
	// calls: 1
}

// NewServer is the shortest way in a test: it fails the test on invalid
// stubs and closes the server when the test ends.
func ExampleNewServer() {
	// func TestRetries(t *testing.T) {
	testRetries := func(t *testing.T) {
		srv := decoy.NewServer(t, decoy.Stub{
			Request: decoy.Request{Method: "GET", Path: "/flaky"},
			Responses: []decoy.Response{
				{Status: 503, Headers: map[string]decoy.HeaderValues{"Retry-After": {"1"}}},
				{Status: 200, Body: decoy.Text("ok")},
			},
		})
		// Point the client under test at srv.URL, then check what it did:
		if n := srv.Count("GET", "/flaky"); n != 2 {
			t.Errorf("the client called /flaky %d times, want 2 (one retry)", n)
		}
	}
	_ = testRetries
}

// Serve stub files, and a TLS listener that speaks HTTP/2.
func ExampleStart() {
	srv, err := decoy.Start(decoy.Options{
		Files: []string{"examples/stubs"}, // errors name file:line
		HTTPS: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	for range 4 {
		resp, err := srv.Client().Get(srv.TLSURL + "/sequences/jobs/1")
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.Proto, resp.StatusCode, string(body))
	}
	// Output:
	// HTTP/2.0 202 {"state":"queued"}
	// HTTP/2.0 202 {"state":"running"}
	// HTTP/2.0 200 {"state":"done"}
	// HTTP/2.0 200 {"state":"done"}
}

// Stubs can be added while the server runs.
func ExampleServer_Add() {
	srv, err := decoy.Start(decoy.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	id, err := srv.Add(decoy.Stub{
		Request: decoy.Request{
			Method:  "POST",
			Path:    "/orders",
			Headers: map[string]decoy.StringMatcher{"Content-Type": {Contains: "json"}},
			Body:    &decoy.BodyMatcher{JSONPath: []decoy.JSONPathMatcher{{Path: "$.qty", Equals: 2}}},
		},
		Response: &decoy.Response{
			Status: 201,
			Body:   decoy.MustJSON(map[string]string{"id": "ord-1", "status": "pending"}),
			Delay:  new(decoy.Duration(10 * time.Millisecond)),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("added", id)

	for _, order := range []string{`{"sku":"BOOK-42","qty":2}`, `{"sku":"BOOK-42","qty":3}`} {
		resp, err := srv.Client().Post(srv.URL+"/orders", "application/json", strings.NewReader(order))
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(order, "->", resp.StatusCode)
	}
	// Output:
	// added stub-1
	// {"sku":"BOOK-42","qty":2} -> 201
	// {"sku":"BOOK-42","qty":3} -> 404
}

// The journal says what the client sent.
func ExampleServer_Requests() {
	srv, err := decoy.Start(decoy.Options{Stubs: []decoy.Stub{{
		ID:       "search",
		Request:  decoy.Request{Method: "GET", Path: "/search", Query: map[string]decoy.StringMatcher{"q": {Present: true}}},
		Response: &decoy.Response{Body: decoy.MustJSON([]string{})},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	for _, u := range []string{"/search?q=decoy", "/search", "/search?q=mock"} {
		req, _ := http.NewRequest("GET", srv.URL+u, nil)
		req.Header.Set("X-Client", "example")
		resp, err := srv.Client().Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
	}
	fmt.Println("GET /search:", srv.Count("GET", "/search"))
	fmt.Println("unmatched:", len(srv.Requests(decoy.Filter{Stub: "-"})))
	for _, e := range srv.Requests(decoy.Filter{Stub: "search"}) { // newest first
		fmt.Println(e.Method, e.Path, e.Query, e.Status, e.Headers["X-Client"])
	}
	// Output:
	// GET /search: 3
	// unmatched: 1
	// GET /search q=mock 200 [example]
	// GET /search q=decoy 200 [example]
}

// .proto files among Files are served over gRPC on GRPCAddr, answered by
// the gRPC stubs of the same files (here gRPC's interop test service,
// whose Empty messages are google.protobuf.Empty on the wire).
func ExampleStart_gRPC() {
	srv, err := decoy.Start(decoy.Options{Files: []string{"examples/grpc-interop"}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	conn, err := grpc.NewClient(srv.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	err = conn.Invoke(ctx, "/grpc.testing.TestService/EmptyCall", &emptypb.Empty{}, &emptypb.Empty{})
	fmt.Println("EmptyCall:", status.Code(err))
	err = conn.Invoke(ctx, "/grpc.testing.TestService/UnimplementedCall", &emptypb.Empty{}, &emptypb.Empty{})
	fmt.Println("UnimplementedCall:", status.Code(err))
	fmt.Println("calls:", srv.Count("POST", "/grpc.testing.TestService/*"))
	// Output:
	// EmptyCall: OK
	// UnimplementedCall: Unimplemented
	// calls: 2
}
