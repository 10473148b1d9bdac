package admin

import (
	_ "embed"
	"encoding/json"
)

// openapiJSON is the OpenAPI 3.1 description of the admin API. Every route
// in routes must appear in it (TestOpenAPICoversRoutes checks).
//
//go:embed openapi.json
var openapiJSON []byte

// openAPIDocument returns the OpenAPI document with info.version set to
// decoy's version.
func openAPIDocument(version string) []byte {
	var doc map[string]any
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		panic("admin: openapi.json is not valid JSON: " + err.Error())
	}
	if info, ok := doc["info"].(map[string]any); ok && version != "" {
		info["version"] = version
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("admin: cannot encode openapi.json: " + err.Error())
	}
	return append(b, '\n')
}
