// Package demo holds the example API decoy serves when it is started with
// no stub files: a few realistic JSON endpoints, a binary download, a slow
// endpoint and a flaky one, embedded in the binary.
package demo

import (
	_ "embed"

	"github.com/decoy-dev/decoy/internal/config"
)

//go:embed demo.yaml
var stubs []byte

// Name is the file name the demo's stubs are reported under.
const Name = "demo.yaml"

// YAML returns the demo's stub file.
func YAML() []byte { return stubs }

// Load returns the demo's stubs.
func Load() (*config.Loaded, error) { return config.LoadStubBytes(Name, stubs) }
