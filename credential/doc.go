// Package credential writes and secures the issuer's verifiable credentials: Open Badges 3.0
// documents in the W3C VC Data Model 2.0, signed as VC-JWTs (RS256 or EdDSA), the keys that
// sign them with their JWKS and did:web documents, and the issuer profile.
//
// It is pure Go and imports nothing of this module: callers hand it plain structs, so it is
// tested without a database. Golden credentials live in testdata and are rewritten with
// go test ./credential -update.
package credential
