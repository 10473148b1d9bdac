package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/config"
)

// TestEverySettingDocumented keeps docs/configuration.md in step with the
// settings table: each setting appears with its default.
func TestEverySettingDocumented(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, s := range config.Table {
		row := "| `" + s.Name + "` |"
		i := strings.Index(doc, row)
		if i < 0 {
			t.Errorf("docs/configuration.md has no row for %s", s.Name)
			continue
		}
		line := doc[i : i+strings.Index(doc[i:], "\n")]
		if s.Default != "" && !strings.Contains(line, "`"+s.Default+"`") {
			t.Errorf("the row for %s does not give its default %q: %s", s.Name, s.Default, line)
		}
	}
}
