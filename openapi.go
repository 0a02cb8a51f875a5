// Package aalscert holds the API contract, embedded so the server can serve it and tests can
// check every response against it.
package aalscert

import _ "embed"

// OpenAPI is openapi.yaml, the API's contract.
//
//go:embed openapi.yaml
var OpenAPI []byte
