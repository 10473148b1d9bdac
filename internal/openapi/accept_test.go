package openapi

import (
	"strings"
	"testing"
)

func TestNegotiate(t *testing.T) {
	t.Parallel()
	jx := []string{"application/json", "application/xml"}
	tests := []struct {
		name, accept string
		offers       []string
		want         int
	}{
		{"empty header", "", jx, 0},
		{"blank header", "  ", jx, 0},
		{"exact", "application/xml", jx, 1},
		{"case", "Application/XML", jx, 1},
		{"q prefers second", "application/json;q=0.5, application/xml;q=0.9", jx, 1},
		{"q prefers first", "application/json;q=0.9, application/xml;q=0.5", jx, 0},
		{"spaces in params", "application/json ; q=0.1 , application/xml ; Q=0.2", jx, 1},
		{"tie keeps document order", "application/xml, application/json", jx, 0},
		{"any", "*/*", jx, 0},
		{"any refused", "*/*;q=0", jx, -1},
		{"type wildcard", "application/*", jx, 0},
		{"specific beats wildcard", "application/*;q=0.3, application/xml", jx, 1},
		{"specific zero excludes", "application/json;q=0, */*", jx, 1},
		{"all excluded", "application/json;q=0, application/xml;q=0", jx, -1},
		{"none fits", "text/html", jx, -1},
		{"wildcard of other type", "text/*", jx, -1},
		{"offer with params", "application/json", []string{"application/json; charset=utf-8"}, 0},
		{"range params ignored", "application/json;version=2", jx, 0},
		{"bad q read as 1", "application/xml;q=abc", jx, 1},
		{"q over 1 read as 1", "application/json;q=0.1, application/xml;q=7", jx, 1},
		{"not a range", "json", jx, -1},
		{"empty ranges", ",,application/xml,", jx, 1},
		{"offer wildcard", "image/png", []string{"application/json", "*/*"}, 1},
		{"no offers", "*/*", nil, -1},
		{"q orders", "application/xml;q=1, application/json;q=0.5", jx, 1},
		{"low q still admits", "application/json;q=0.1, text/csv", []string{"application/json", "text/csv"}, 1},
		{"specific range overrides", "text/*;q=0.1, text/csv;q=1", []string{"text/plain", "text/csv"}, 1},
		{"thousandths", "application/json;q=0.001, application/xml;q=0.002", jx, 1},
		{"q=1.000", "application/json;q=0.999, application/xml;q=1.000", jx, 1},
		{"q as exponent", "application/json;q=0.5, application/xml;q=6e-1", jx, 1},
		{"q=0.0 excludes", "application/json;q=0.0, application/xml;q=0.000", jx, -1},
		{"many offers", "text/e;q=0.5, text/i", []string{"text/a", "text/b", "text/c", "text/d", "text/e", "text/f", "text/g", "text/h", "text/i"}, 8},
		// A structured syntax suffix (RFC 6839) admits the plain type
		// when no offer matches the range itself.
		{"+json admits json", "application/vnd.github+json", jx, 0},
		{"+json v3", "application/vnd.github.v3+json", []string{"application/json"}, 0},
		{"+json case", "Application/Problem+JSON", jx, 0},
		{"+json with offer params", "application/vnd.github+json", []string{"text/plain", "application/json; charset=utf-8"}, 1},
		{"+xml admits xml", "application/atom+xml", jx, 1},
		{"+json not xml", "application/vnd.github+json", []string{"application/xml"}, -1},
		{"+json not other json", "application/vnd.github+json", []string{"application/hal+json"}, -1},
		{"exact beats suffix", "application/vnd.github+json", []string{"application/json", "application/vnd.github+json"}, 1},
		{"exact beats suffix, many offers", "application/vnd.github+json", []string{"application/json", "text/a", "text/b", "text/c", "text/d", "text/e", "text/f", "text/g", "application/vnd.github+json"}, 8},
		{"suffix q counts", "application/vnd.github+json;q=0.5, application/xml", jx, 1},
		{"suffix beats type wildcard", "application/*;q=0.9, application/vnd.github+json;q=0.1, application/xml;q=0.5", jx, 1},
		{"suffix zero excludes", "application/vnd.github+json;q=0, application/xml;q=0.1", jx, 1},
		{"exact json zero wins over suffix", "application/json;q=0, application/vnd.github+json", jx, -1},
		{"suffix then wildcard", "application/vnd.github+json, */*;q=0.1", []string{"text/plain", "application/json"}, 1},
		{"bare suffix is no suffix", "application/+json", []string{"application/json"}, -1},
		{"other suffix", "application/vnd.api+yaml", []string{"application/json"}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Negotiate(tt.accept, tt.offers); got != tt.want {
				t.Errorf("Negotiate(%q, %q) = %d, want %d", tt.accept, tt.offers, got, tt.want)
			}
		})
	}
}

func TestNegotiateAllocs(t *testing.T) {
	offers := []string{"application/json", "application/xml", "text/plain"}
	n := testing.AllocsPerRun(100, func() {
		_ = Negotiate("text/html;level=1;q=0.5, application/*;q=0.7, application/xml;q=0.9, */*;q=0.1", offers)
	})
	if n != 0 {
		t.Errorf("Negotiate allocates %v times", n)
	}
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "*/*", "application/json;q=0.5, application/xml;q=0.9", "a/*;q=0,;;,=", "*/*;q=0", "application/vnd.x+json;q=0.2, application/problem+json"} {
		f.Add(s)
	}
	offers := []string{"application/json", "application/xml", "text/*", "Text/CSV; charset=utf-8", "application/vnd.x+json", "*/*"}
	f.Fuzz(func(t *testing.T, accept string) {
		for n := 1; n <= len(offers); n++ {
			got := Negotiate(accept, offers[:n])
			if got < -1 || got >= n {
				t.Fatalf("index %d", got)
			}
			// The one-pass reading agrees with reading the header once
			// per offer.
			if strings.TrimSpace(accept) != "" {
				if want := negotiateEach(accept, offers[:n]); got != want {
					t.Fatalf("Negotiate(%q, %q) = %d; one offer at a time: %d", accept, offers[:n], got, want)
				}
			}
		}
	})
}

func BenchmarkNegotiate(b *testing.B) {
	offers := []string{"application/json", "text/plain"}
	for _, accept := range []string{"application/json", "application/json;q=0.5, text/plain;q=0.9, */*;q=0.1", "application/vnd.github+json"} {
		b.Run(accept, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Negotiate(accept, offers)
			}
		})
	}
}
