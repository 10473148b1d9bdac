package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"

	"github.com/decoy-dev/decoy/internal/stub"
)

// jsonSyntax checks that a .json file holds JSON. decoy reads every file
// with its YAML parser, which also takes what JSON does not (a trailing
// comma, a comment, a bare word, single quotes), so a broken .json file
// would load here and fail in every other tool that reads it. It returns
// nil when name is not a .json file, when data is empty, or when data is
// JSON. OpenAPI documents are left to their own reader.
func jsonSyntax(name string, data []byte) *Problem {
	if !strings.EqualFold(filepath.Ext(name), ".json") || len(bytes.TrimSpace(data)) == 0 || json.Valid(data) {
		return nil
	}
	err := json.Unmarshal(data, new(json.RawMessage))
	p := &Problem{File: name, Msg: "not valid JSON"}
	var se *json.SyntaxError
	if errors.As(err, &se) && strings.Contains(se.Error(), "exceeded max depth") {
		return nil // the YAML reader's own bound says it better
	}
	if errors.As(err, &se) {
		p.Line, p.Col = stub.Position(data, int(se.Offset)-1)
		p.Msg += ": " + se.Error()
	} else if err != nil {
		p.Line, p.Col = stub.Position(data, len(data))
		p.Msg += ": " + err.Error()
	}
	p.Msg += " (a .json file must be strict JSON, without trailing commas or comments; name it .yaml to write YAML)"
	return p
}
