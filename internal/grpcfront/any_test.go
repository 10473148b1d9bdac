package grpcfront_test

import (
	"testing"

	"github.com/decoy-dev/decoy/internal/journal"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
)

const envProto = `
syntax = "proto3";
package env.v1;
import "google/protobuf/any.proto";
service Env { rpc Put(Envelope) returns (Envelope); }
message Envelope {
  string id = 1;
  google.protobuf.Any payload = 2;
}
`

// envelope encodes an Envelope whose payload is an Any of typeURL
// holding value.
func envelope(id, typeURL string, value []byte) []byte {
	var anyb []byte
	anyb = protowire.AppendTag(anyb, 1, protowire.BytesType)
	anyb = protowire.AppendString(anyb, typeURL)
	anyb = protowire.AppendTag(anyb, 2, protowire.BytesType)
	anyb = protowire.AppendBytes(anyb, value)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, id)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, anyb)
}

// TestUnknownAny: a request holding a google.protobuf.Any of a type decoy
// does not know is a valid message: it is answered, matched on its other
// fields and journaled, its Any written as {"@type": ..., "value":
// base64} (the JSON a matcher sees), whether the journal is on or a stub
// matches on the body.
func TestUnknownAny(t *testing.T) {
	t.Parallel()
	const stubs = `
- id: inside-any
  request:
    path: /env.v1.Env/Put
    body: {jsonPath: [{path: $.payload.n, equals: 1}]}
  response: {body: {id: inside}}
- id: by-id
  request:
    path: /env.v1.Env/Put
    body: {jsonPath: [{path: $.id, equals: e1}]}
  response: {body: {id: matched}}
`
	unknown := envelope("e1", "type.googleapis.com/no.Such", []byte{0x08, 0x01})
	// A StringValue "hi": a type decoy knows, written resolved.
	known := envelope("e2", "type.googleapis.com/google.protobuf.StringValue", []byte{0x0a, 0x02, 'h', 'i'})
	for _, tc := range []struct {
		name      string
		stubs     string
		journal   int
		req       []byte
		wantStub  string
		wantJSON  string // the journal's body; "" when the journal is off
		wantReply []byte
	}{
		{name: "journal", journal: 10, req: unknown,
			wantJSON: `{"id":"e1","payload":{"@type":"type.googleapis.com/no.Such","value":"CAE="}}`},
		{name: "body matcher", stubs: stubs, req: unknown, wantStub: "by-id", wantReply: []byte{0x0a, 0x07, 'm', 'a', 't', 'c', 'h', 'e', 'd'}},
		{name: "body matcher and journal", stubs: stubs, journal: 10, req: unknown, wantStub: "by-id",
			wantJSON:  `{"id":"e1","payload":{"@type":"type.googleapis.com/no.Such","value":"CAE="}}`,
			wantReply: []byte{0x0a, 0x07, 'm', 'a', 't', 'c', 'h', 'e', 'd'}},
		{name: "type URL matcher", req: unknown, wantStub: "by-type", wantReply: []byte{0x0a, 0x04, 't', 'y', 'p', 'e'}, stubs: `
- id: by-type
  request:
    path: /env.v1.Env/Put
    body: {jsonPath: [{path: "$.payload['@type']", equals: type.googleapis.com/no.Such}]}
  response: {body: {id: type}}
`},
		{name: "known type", journal: 10, req: known,
			wantJSON: `{"id":"e2","payload":{"@type":"type.googleapis.com/google.protobuf.StringValue","value":"hi"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, tc.stubs, opts{journal: tc.journal, protos: map[string]string{"env/v1/env.proto": envProto}})
			var out []byte
			if err := s.conn.Invoke(ctx(t), "/env.v1.Env/Put", &tc.req, &out, grpc.ForceCodecV2(rawCodec{})); err != nil {
				t.Fatal(err)
			}
			if tc.wantReply != nil && string(out) != string(tc.wantReply) {
				t.Errorf("reply % x, want % x", out, tc.wantReply)
			}
			if tc.journal == 0 {
				return
			}
			es := s.journal.Find(journal.Filter{})
			if len(es) != 1 || es[0].Body != tc.wantJSON || es[0].Stub != tc.wantStub {
				t.Errorf("journal %+v, want stub %q and body %s", es, tc.wantStub, tc.wantJSON)
			}
		})
	}
}
