package api

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/credential"
)

// IssuerName is the name in the issuer profile served at GET /issuer.
const IssuerName = "aalscert"

// DIDMediaType is the Content-Type of the DID document (the JSON representation of DID Core).
const DIDMediaType = "application/did+json"

// issuerCacheControl lets clients and proxies keep the public issuer documents briefly: a new
// key appears within five minutes of the servers starting with it.
const issuerCacheControl = "public, max-age=300"

// IssuerKeys are the credential signing keys: Signer signs with the newest active one, and
// Published lists every credential key ever made (newest first), so credentials signed before
// a rotation still verify. Access-token and receipt keys are never among them.
type IssuerKeys struct {
	Signer    *credential.Signer
	Published []credential.PublicKey
}

// issuerRoutes registers the public issuer documents: the key set, the did:web document,
// each key at its kid URL, and the issuer profile.
func (s *Server) issuerRoutes(e *echo.Echo) {
	e.GET("/.well-known/jwks.json", s.issuerJWKS)
	e.GET("/.well-known/did.json", s.issuerDID)
	e.GET("/keys/:kid", s.issuerKey)
	e.GET("/issuer", s.issuerProfile)
}

// publishedKeys returns the credential keys to publish (none when the server has no issuer keys).
func (s *Server) publishedKeys() []credential.PublicKey {
	if s.issuerKeys == nil {
		return nil
	}
	return s.issuerKeys.Published
}

// jwksKeys returns the keys of the JWKS and the kid URLs: the credential keys, then the
// receipt keys. The did.json assertionMethod and the credential verifier use publishedKeys
// only, since a receipt is not a credential.
func (s *Server) jwksKeys() []credential.PublicKey {
	keys := s.publishedKeys()
	if s.receiptKeys != nil {
		keys = append(slices.Clip(keys), s.receiptKeys.Published...)
	}
	return keys
}

// issuerDoc writes a public, cacheable JSON document.
func issuerDoc(c echo.Context, contentType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", issuerCacheControl)
	return c.Blob(http.StatusOK, contentType, b)
}

// issuerJWKS handles GET /.well-known/jwks.json: every credential and receipt key, each
// with its kid URL.
func (s *Server) issuerJWKS(c echo.Context) error {
	set, err := credential.JWKS(s.jwksKeys())
	if err != nil {
		return err
	}
	return issuerDoc(c, echo.MIMEApplicationJSON, set)
}

// issuerDID handles GET /.well-known/did.json: the did:web document of the public URL, with
// every credential key as a JsonWebKey under assertionMethod.
func (s *Server) issuerDID(c echo.Context) error {
	did, err := credential.DIDWeb(s.cfg.PublicURL)
	if err != nil {
		return err
	}
	doc, err := credential.DIDDocument(did, s.publishedKeys())
	if err != nil {
		return err
	}
	return issuerDoc(c, DIDMediaType, doc)
}

// issuerKey handles GET /keys/{kid}: the public JWK of one credential key, found by its
// RFC 7638 thumbprint (the last segment of its kid URL).
func (s *Server) issuerKey(c echo.Context) error {
	tp := c.Param("kid")
	for _, k := range s.jwksKeys() {
		if got, err := credential.Thumbprint(k.Key); err != nil || got != tp {
			continue
		}
		j, err := credential.PublicJWK(k)
		if err != nil {
			return err
		}
		return issuerDoc(c, echo.MIMEApplicationJSON, j)
	}
	return problem(http.StatusNotFound, "not-found", "no issuer key has this id")
}

// issuerProfile handles GET /issuer: the Open Badges issuer profile, whose id is this URL and
// whose other identifier is the did:web.
func (s *Server) issuerProfile(c echo.Context) error {
	did, err := credential.DIDWeb(s.cfg.PublicURL)
	if err != nil {
		return err
	}
	p := credential.IssuerProfile(credential.Issuer{
		URL: s.cfg.PublicURL + "/issuer", DID: did, Name: IssuerName, Website: s.cfg.PublicURL,
	})
	return issuerDoc(c, echo.MIMEApplicationJSON, p)
}
