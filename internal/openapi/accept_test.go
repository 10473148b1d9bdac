package openapi

import "testing"

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
	for _, s := range []string{"", "*/*", "application/json;q=0.5, application/xml;q=0.9", "a/*;q=0,;;,=", "*/*;q=0"} {
		f.Add(s)
	}
	offers := []string{"application/json", "application/xml", "*/*"}
	f.Fuzz(func(t *testing.T, accept string) {
		if got := Negotiate(accept, offers); got < -1 || got >= len(offers) {
			t.Fatalf("index %d", got)
		}
	})
}
