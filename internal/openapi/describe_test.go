package openapi

import (
	"math/big"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// TestDescribeBounds: bounds read as the document wrote them.
func TestDescribeBounds(t *testing.T) {
	tests := []struct {
		k    jsonschema.ErrorKind
		want string
	}{
		{&kind.Minimum{Want: big.NewRat(1, 2)}, "must be >= 0.5"},
		{&kind.Maximum{Want: big.NewRat(-7, 100)}, "must be <= -0.07"},
		{&kind.ExclusiveMinimum{Want: big.NewRat(10, 1)}, "must be > 10"},
		{&kind.ExclusiveMaximum{Want: new(big.Rat).SetFrac(new(big.Int).Lsh(big.NewInt(1), 70), big.NewInt(1))}, "must be < 1180591620717411303424"},
		{&kind.MinLength{Want: 1}, "must be at least 1 character"},
		{&kind.MaxLength{Want: 3}, "must be at most 3 characters"},
	}
	for _, tt := range tests {
		if got := describe(tt.k); got != tt.want {
			t.Errorf("describe(%T) = %q, want %q", tt.k, got, tt.want)
		}
	}
}
