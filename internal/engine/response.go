package engine

import (
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/decoy-dev/decoy/internal/stub"
	"golang.org/x/net/http/httpguts"
)

// Header is one pre-rendered response header, as text and as bytes so
// that front doors can write it without converting.
type Header struct {
	Name, Value   string
	NameB, ValueB []byte
}

// Response is a stub's answer, rendered at load: nothing in it is computed
// per request.
type Response struct {
	Status      int
	Headers     []Header // names as written, sorted; no Content-Type or Content-Length
	ContentType string   // "" when the response has none
	// ContentTypeB is ContentType as bytes.
	ContentTypeB []byte
	Body         []byte
	// Behave is what the response does beyond sending Body at once
	// (latency, faults, pacing, a streamed body); nil for none.
	Behave *Behaviour
	// Upload, when not nil, discards the request body as it arrives.
	Upload *Upload
	// WebSocket, when not nil, answers a WebSocket upgrade.
	WebSocket *WebSocket
}

// BodyLen is the length of the body, streamed or not.
func (r *Response) BodyLen() int64 {
	if r.Behave != nil && r.Behave.Generated != nil {
		return r.Behave.Generated.Size
	}
	return int64(len(r.Body))
}

func compileResponse(r stub.Response, dir string, field string, c *compiled) (*Response, []stub.FieldError) {
	var errs []stub.FieldError
	fail := func(f, msg string) { errs = append(errs, stub.FieldError{Field: stub.Join(field, f), Msg: msg}) }
	out := &Response{Status: r.Status}
	var fe []stub.FieldError
	out.Behave, fe = compileBehaviour(r, c, field)
	errs = append(errs, fe...)
	if r.Upload != nil {
		u, fe := compileUpload(*r.Upload)
		for _, e := range fe {
			errs = append(errs, stub.FieldError{Field: stub.Join(field, "upload", e.Field), Msg: e.Msg})
		}
		out.Upload = u
	}
	if r.WebSocket != nil {
		for _, e := range checkWebSocketResponse(r) {
			errs = append(errs, stub.FieldError{Field: stub.Join(field, e.Field), Msg: e.Msg})
		}
		ws, fe := compileWebSocket(*r.WebSocket)
		for _, e := range fe {
			errs = append(errs, stub.FieldError{Field: stub.Join(field, "websocket", e.Field), Msg: e.Msg})
		}
		out.WebSocket = ws
	}
	if out.Status == 0 {
		out.Status = http.StatusOK
	}
	switch {
	case out.Status < 100 || out.Status > 999:
		fail("status", fmt.Sprintf("%d is not an HTTP status (100-999)", r.Status))
	case out.Status < 200 && r.WebSocket == nil:
		// A 1xx is interim: the client waits on for the final answer,
		// which would never come (HTTP/1.1 hangs, HTTP/2 rejects it).
		// A WebSocket stub's 101 is sent by the upgrade itself.
		fail("status", fmt.Sprintf("%d is an interim (1xx) status, not an answer: give a final status, 200-999 (a websocket stub answers 101 by itself)", r.Status))
	}
	sources := 0
	for _, set := range []bool{!r.Body.IsZero(), r.BodyFile != "", r.BodyBase64 != "", r.Generate != nil} {
		if set {
			sources++
		}
	}
	if sources > 1 {
		fail("body", "give only one of body, bodyFile, bodyBase64, generate")
	}
	contentType := ""
	switch {
	case !r.Body.IsZero():
		if s, ok := r.Body.String(); ok {
			out.Body = []byte(s)
			contentType = "text/plain; charset=utf-8"
		} else {
			out.Body = r.Body.JSON()
			contentType = "application/json"
		}
	case r.BodyFile != "":
		name := r.BodyFile
		if !filepath.IsAbs(name) && dir != "" {
			name = filepath.Join(dir, name)
		}
		b, err := readBodyFile(name)
		if err != nil {
			fail("bodyFile", err.Error())
		}
		out.Body = b
		contentType = mime.TypeByExtension(filepath.Ext(name))
		if contentType == "" {
			contentType = http.DetectContentType(b)
		}
	case r.BodyBase64 != "":
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.BodyBase64))
		if err != nil {
			fail("bodyBase64", "not valid base64: "+err.Error())
		}
		out.Body = b
		contentType = "application/octet-stream"
	case r.Generate != nil:
		gen, err := newGenerator(*r.Generate)
		switch {
		case err != nil:
			fail("generate", err.Error())
		case gen.Size > MaxInMemoryGenerated:
			if out.Behave == nil {
				out.Behave = &Behaviour{}
			}
			out.Behave.Generated = gen
		default:
			out.Body, _ = Generate(*r.Generate)
		}
		contentType = "application/octet-stream"
		if r.Generate.Pattern == "text" {
			contentType = "text/plain; charset=utf-8"
		}
	}
	if r.Stream != nil {
		contentType = compileStream(r, out, contentType, sources, fail)
	}
	if out.WebSocket != nil {
		// What a front door that cannot upgrade sends (HTTP/2, or a
		// request without Upgrade).
		out.Status, out.Body, contentType = upgradeRequired()
	}
	names := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !validHeaderName(k) {
			fail("headers."+k, "not a valid header name")
			continue
		}
		// Names are sent as written (ETag stays ETag); only the ones decoy
		// owns are recognised, in any case.
		ck := http.CanonicalHeaderKey(k)
		for _, v := range r.Headers[k] {
			if strings.ContainsAny(v, "\r\n\x00") {
				fail("headers."+k, "a header value cannot hold CR, LF or NUL")
				continue
			}
			switch ck {
			case "Content-Type":
				contentType = v
				continue
			case "Content-Length", "Transfer-Encoding", "Connection":
				fail("headers."+k, ck+" is set by decoy")
				continue
			}
			out.Headers = append(out.Headers, Header{Name: k, Value: v, NameB: []byte(k), ValueB: []byte(v)})
		}
	}
	out.ContentType, out.ContentTypeB = contentType, []byte(contentType)
	return out, errs
}

// OwnDate reports whether the response sets its own Date header, which
// then goes instead of the server's.
func (r *Response) OwnDate() bool {
	for i := range r.Headers {
		if n := r.Headers[i].Name; len(n) == 4 && strings.EqualFold(n, "date") {
			return true
		}
	}
	return false
}

// MaxBodyFile is the largest body file decoy loads.
const MaxBodyFile = 1 << 30

// readBodyFile reads a regular file of at most MaxBodyFile bytes.
func readBodyFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", name, unwrapPathErr(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", name, unwrapPathErr(err))
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if info.Size() > MaxBodyFile {
		return nil, fmt.Errorf("%s is %d bytes; the limit is %d (use generate for large synthetic bodies)", name, info.Size(), MaxBodyFile)
	}
	b := make([]byte, info.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", name, err)
	}
	return b, nil
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// validHeaderName reports whether s is a token (RFC 9110 section 5.6.2),
// as a header name and a method are.
func validHeaderName(s string) bool { return httpguts.ValidHeaderFieldName(s) }

// StatusText is the reason phrase for code, or "Status N" when unknown.
func StatusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Status " + strconv.Itoa(code)
}
