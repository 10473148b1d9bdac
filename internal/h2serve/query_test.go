package h2serve

import "testing"

func TestQueryAndCookieValues(t *testing.T) {
	t.Parallel()
	var buf []byte
	a, okA := QueryValue("a=x%20y&b=p+q&c=%zz&d", "a", &buf)
	b, okB := QueryValue("a=x%20y&b=p+q&c=%zz&d", "b", &buf)
	// Decoding b must not change a: both views stay valid.
	if a != "x y" || b != "p q" || !okA || !okB {
		t.Errorf("a %q %v, b %q %v", a, okA, b, okB)
	}
	if c, _ := QueryValue("c=%zz", "c", &buf); c != "%zz" {
		t.Errorf("malformed escape: %q, want it as sent", c)
	}
	if d, ok := QueryValue("a=1&d", "d", &buf); !ok || d != "" {
		t.Errorf("name without a value: %q %v", d, ok)
	}
	if _, ok := QueryValue("a=1", "b", &buf); ok {
		t.Error("found an absent name")
	}
	if k, ok := QueryValue("x%5Fy=1", "x_y", &buf); !ok || k != "1" {
		t.Errorf("escaped name: %q %v", k, ok)
	}
	for _, tt := range []struct{ header, name, want string }{
		{`a=1; session="s1"`, "session", "s1"},
		{"a=1;b=2", "b", "2"},
		{"a=1; flag; b=2", "b", "2"},
	} {
		if v, ok := CookieValue(tt.header, tt.name); !ok || v != tt.want {
			t.Errorf("CookieValue(%q, %q) = %q, %v", tt.header, tt.name, v, ok)
		}
	}
	if _, ok := CookieValue("a=1", "b"); ok {
		t.Error("found an absent cookie")
	}
}
