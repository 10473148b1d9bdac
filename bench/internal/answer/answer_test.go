package answer

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, in string
		status   int
		body     int
		wantErr  string
	}{
		{"ok", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP", 200, 3, ""},
		{"any size", "HTTP/1.1 200 OK\r\ncontent-length:5\r\n\r\nabcde", 200, -1, ""},
		{"status", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 200, -1, "status 404"},
		{"size", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab", 200, 3, "body of 2 bytes"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 200, -1, "no Content-Length"},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", 200, -1, "unexpected EOF"},
		{"garbage", "SSH-2.0-OpenSSH\r\n", 200, -1, "malformed status line"},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 200, -1, "malformed Content-Length"},
		{"closes", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: Close\r\n\r\n", 200, -1, "Connection: close"},
		{"keep-alive", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", 200, -1, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := Read(bufio.NewReader(strings.NewReader(c.in)), c.status, c.body)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want one with %q", err, c.wantErr)
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		_ = Read(bufio.NewReader(strings.NewReader(in)), 200, -1)
	})
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, in   string
		status     int
		body       int
		head, size int // want, when no error
		wantErr    string
	}{
		{"ok", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", 200, 3, 38, 3, ""},
		{"any size", "HTTP/1.1 200 OK\r\ncontent-length:5\r\n\r\nabcde", 200, -1, 37, 5, ""},
		{"LF only", "HTTP/1.0 200 OK\nX: y\nContent-Length: 0\n\n", 200, 0, 40, 0, ""},
		{"head only", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", 200, -1, 38, 2, ""},
		{"incomplete status line", "HTTP/1.1 200 O", 200, -1, 0, 0, ""},
		{"incomplete headers", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r", 200, -1, 0, 0, ""},
		{"status", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 200, -1, 0, 0, "status 404"},
		{"size", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab", 200, 3, 0, 0, "body of 2 bytes"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 200, -1, 0, 0, "no Content-Length"},
		{"garbage", "SSH-2.0-OpenSSH\r\n", 200, -1, 0, 0, "malformed status line"},
		{"short status line", "HTTP/1.1 20\r\n", 200, -1, 0, 0, "malformed status line"},
		{"letters in status", "HTTP/1.1 2x0 OK\r\n", 200, -1, 0, 0, "malformed status line"},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 200, -1, 0, 0, "malformed Content-Length"},
		{"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", 200, -1, 0, 0, "malformed Content-Length"},
		{"closes", "HTTP/1.1 200 OK\r\nconnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", 200, -1, 0, 0, "Connection: close"},
		{"closed is not close", "HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 0\r\n\r\n", 200, -1, 38 + 20, 0, ""},
		{"head too long", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", MaxHead), 200, -1, 0, 0, "longer than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			head, size, err := Parse([]byte(c.in), c.status, c.body)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want one with %q", err, c.wantErr)
			case c.wantErr == "" && (head != c.head || size != c.size):
				t.Fatalf("head %d, body %d; want %d, %d", head, size, c.head, c.size)
			}
		})
	}
}

// TestReader feeds answers to a Reader cut in two at every
// point (inside the status line, inside CRLFs, inside the body) and byte by
// byte, as reads on a socket may return them.
func TestReader(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("b", 160)
	for _, c := range []struct {
		name, in string
		body     int
		wantErr  string
	}{
		{"ok", "HTTP/1.1 200 OK\r\nContent-Length: 160\r\nContent-Type: application/json\r\n\r\n" + body, 160, ""},
		{"empty body", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", -1, ""},
		{"wrong status", "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", -1, "status 500"},
		{"wrong size", "HTTP/1.1 200 OK\r\nContent-Length: 159\r\n\r\n" + body[1:], 160, "body of 159 bytes, want 160"},
		{"no length", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body, -1, "no Content-Length"},
		{"malformed", "HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n", -1, "malformed status line"},
		{"bytes past the end", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc", -1, "1 bytes past the end"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := []byte(c.in)
			var cuts [][][]byte
			for k := 1; k < len(in); k++ {
				cuts = append(cuts, [][]byte{in[:k], in[k:]})
			}
			var bytewise [][]byte
			for k := range in {
				bytewise = append(bytewise, in[k:k+1])
			}
			cuts = append(cuts, [][]byte{in}, bytewise)
			var a Reader // reused: each answer must leave it ready for the next
			for _, pieces := range cuts {
				var err error
				done, early := false, false
				for k, p := range pieces {
					done, err = a.Feed(bytes.Clone(p), 200, c.body)
					if err != nil || done {
						early = k != len(pieces)-1
						break
					}
				}
				switch {
				case early && done && c.wantErr != "":
					// The bytes past the end came in a later read: they
					// start the next answer.
					a = Reader{}
					continue
				case early && c.wantErr == "":
					t.Fatalf("pieces %q: done %v, error %v before the last piece", pieces, done, err)
				case c.wantErr == "" && (err != nil || !done):
					t.Fatalf("pieces %q: done %v, error %v", pieces, done, err)
				case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
					t.Fatalf("pieces %q: error %v, want one with %q", pieces, err, c.wantErr)
				}
				if c.wantErr != "" {
					a = Reader{} // the engine drops the connection
				}
			}
		})
	}
}

// FuzzParse checks that Parse never panics, never claims more
// head than it was given, and answers the same for a prefix of a good head
// as it will once the head is complete: "more bytes needed".
func FuzzParse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"), 3)
	f.Add([]byte("HTTP/1.1 200 OK\nContent-Length:0\n\n"), -1)
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"), -1)
	f.Add([]byte("HTTP/1.1 404 x\r\n\r\n"), 0)
	f.Fuzz(func(t *testing.T, in []byte, bodyBytes int) {
		head, body, err := Parse(in, 200, bodyBytes)
		if err != nil {
			return
		}
		if head < 0 || head > len(in) || body < 0 || (head > 0 && bodyBytes >= 0 && body != bodyBytes) {
			t.Fatalf("head %d, body %d from %d bytes", head, body, len(in))
		}
		if head == 0 {
			return
		}
		for k := range head {
			if h, _, err := Parse(in[:k], 200, bodyBytes); h != 0 || err != nil {
				t.Fatalf("prefix of %d bytes: head %d, error %v; want more bytes needed", k, h, err)
			}
		}
		var a Reader
		done, err := a.Feed(in[:head+min(body, len(in)-head)], 200, bodyBytes)
		if err != nil || done != (len(in)-head >= body) {
			t.Fatalf("feed: done %v, error %v", done, err)
		}
	})
}
