package grpcfront_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/grpcfront"
	"github.com/decoy-dev/decoy/internal/protoload"
	"github.com/decoy-dev/decoy/internal/stub"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"
)

const blobProto = `syntax = "proto3";
package blob.v1;
message Req { int32 size = 1; }
message Blob {
  bytes data = 1;
  string text = 2;
  repeated bytes parts = 3;
  map<string, bytes> named = 4;
  int32 n = 5;
}
service Blobs {
  rpc Get(Req) returns (Blob);
  rpc Stream(Req) returns (stream Blob);
}
`

// TestGenerateFields: {generate: ...} in a bytes or string field of a
// stub's message makes that many bytes at load, as an HTTP stub's
// generate does: the same bytes on every run, in single fields, lists,
// maps and streamed messages.
func TestGenerateFields(t *testing.T) {
	t.Parallel()
	s := start(t, `
- request: {path: /blob.v1.Blobs/Get}
  response:
    body:
      data: {generate: {size: 300KiB, pattern: zeros}}
      text: {generate: {size: 100}}
      parts: [{generate: {size: 3}}, "AAE="]
      named: {x: {generate: {size: 5, pattern: random, seed: 7}}}
- request: {path: /blob.v1.Blobs/Stream}
  response:
    grpc:
      stream:
        - body: {data: {generate: {size: 1MiB}}}
        - body: {data: {generate: {size: 1MiB}}, n: 2}
`, opts{protos: map[string]string{"blob/v1/blob.proto": blobProto}})
	gen := func(g stub.Generate) []byte {
		b, err := engine.Generate(g)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	out := s.out(t, "blob.v1.Blob")
	if err := s.conn.Invoke(ctx(t), "/blob.v1.Blobs/Get", s.msg(t, "blob.v1.Req", `{}`), out); err != nil {
		t.Fatal(err)
	}
	get := func(name string) protoreflect.Value {
		return out.Get(out.Descriptor().Fields().ByName(protoreflect.Name(name)))
	}
	if data := get("data").Bytes(); len(data) != 300<<10 || !bytes.Equal(data, make([]byte, 300<<10)) {
		t.Errorf("data: %d bytes, want 300 KiB of zeros", len(data))
	}
	if text := get("text").String(); text != string(gen(stub.Generate{Size: 100, Pattern: "text"})) || !strings.HasPrefix(text, "decoy generated text") {
		t.Errorf("text %q, want 100 bytes of the text pattern", text)
	}
	parts := get("parts").List()
	if parts.Len() != 2 || !bytes.Equal(parts.Get(0).Bytes(), gen(stub.Generate{Size: 3})) || !bytes.Equal(parts.Get(1).Bytes(), []byte{0, 1}) {
		t.Errorf("parts %v, want 3 random bytes and 00 01", parts)
	}
	named := get("named").Map().Get(protoreflect.ValueOfString("x").MapKey())
	if !bytes.Equal(named.Bytes(), gen(stub.Generate{Size: 5, Pattern: "random", Seed: 7})) {
		t.Errorf("named[x] % x, want seed 7's 5 random bytes", named.Bytes())
	}

	st, err := s.conn.NewStream(ctx(t), &grpc.StreamDesc{ServerStreams: true}, "/blob.v1.Blobs/Stream", grpc.MaxCallRecvMsgSize(4<<20))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SendMsg(s.msg(t, "blob.v1.Req", `{}`)); err != nil {
		t.Fatal(err)
	}
	_ = st.CloseSend()
	want := gen(stub.Generate{Size: 1 << 20})
	for i := range 3 {
		m := s.out(t, "blob.v1.Blob")
		err := st.RecvMsg(m)
		if i == 2 {
			if err != io.EOF {
				t.Errorf("a third message: %v, want the end of the stream", err)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if d := m.Get(m.Descriptor().Fields().ByName("data")).Bytes(); !bytes.Equal(d, want) {
			t.Errorf("message %d: %d bytes, want 1 MiB of the random pattern", i, len(d))
		}
	}
}

// TestGenerateFieldsBadInput: a {generate: ...} that cannot be made is a
// problem at its file and line, naming the field.
func TestGenerateFieldsBadInput(t *testing.T) {
	t.Parallel()
	set, err := protoload.LoadSources(map[string]string{"blob/v1/blob.proto": blobProto})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ body, want string }{
		{"{data: {generate: {size: 1KiB, patern: zeros}}}", `stubs.yaml:3: [0].response.body.data.generate: want {size: 300KiB, pattern: random, zeros or text, seed: 1}: unknown field "patern"`},
		{"{text: {generate: {size: 10, pattern: random}}}", `stubs.yaml:3: [0].response.body.text.generate: pattern "random": a string field takes the text pattern`},
		{"{data: {generate: {size: 9MiB}}}", `stubs.yaml:3: [0].response.body.data.generate: size 9437184 is above the 8388608 bytes made in memory`},
		{"{data: {generate: {size: 1, pattern: stripes}}}", `stubs.yaml:3: [0].response.body.data.generate: pattern "stripes": want random, zeros or text`},
		{"{n: {generate: {size: 1}}}", `stubs.yaml:3: [0].response.body.n: want an integer, got an object`},
		{"{data: {generate: {size: 1}, other: 2}}", `stubs.yaml:3: [0].response.body.data: want base64 text (bytes), or {generate: {size: ...}}, got an object`},
	} {
		yaml := "- request: {path: /blob.v1.Blobs/Get}\n  response:\n    body: " + tc.body + "\n"
		l, _, err := config.BuildBytes("stubs.yaml", []byte(yaml))
		if err != nil {
			t.Fatalf("%s: the engine refused the stub: %v", tc.body, err)
		}
		errs := grpcfront.Check(set, l.Sources)
		if errs == nil {
			t.Errorf("%s: no problem reported", tc.body)
			continue
		}
		if got := l.Locate(errs).Error(); !strings.Contains(got, tc.want) {
			t.Errorf("%s:\n%s\nwant %q", tc.body, got, tc.want)
		}
	}
}
