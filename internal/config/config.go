// Package config owns how decoy reads its input: stub files and folders
// (YAML or JSON), OpenAPI documents and WireMock mappings (package
// wiremock) into engine sources, with every problem reported as file:line,
// and the server settings from defaults, a config file, DECOY_*
// environment variables and flags, in that order of precedence.
package config
