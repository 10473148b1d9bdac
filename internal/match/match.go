// Package match owns decoy's compiled request matchers: string matchers for
// query parameters, headers and cookies, and body matchers (equals, contains,
// regex, JSON equality, JSONPath). Each is compiled once from the stub model
// and then only evaluated; each can also say why a value did not match, for
// the "closest stubs" report.
package match
