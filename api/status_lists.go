package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/models"
)

// statusListTTL is how long verifiers and caches may keep a status list: the list's ttl and
// its Cache-Control max-age. A status change is in the list served from the moment the admin
// call returns; a verifier holding a cached copy sees it within this time.
const statusListTTL = time.Minute

// statusListCacheSize bounds the signed lists kept in memory. One entry per list: a list's
// newer version replaces the older one.
const statusListCacheSize = 256

// statusListRoutes registers the public status lists.
func (s *Server) statusListRoutes(g *echo.Group) {
	g.GET("/status-lists/:id", s.getStatusList)
}

// statusListURL is the URL of a status list, as credentials name it.
func (s *Server) statusListURL(id int) string {
	return s.cfg.PublicURL + "/v1/status-lists/" + strconv.Itoa(id)
}

// signedList is a status list as served: the VC-JWT and its ETag.
type signedList struct {
	version int64
	kid     string
	jwt     string
	etag    string
}

// statusListCache keeps the last signed version of each list, so a list is signed once per
// change rather than once per request. Signing is deterministic for RS256 and EdDSA, so an
// entry equals what signing again would give; the cache only saves the work.
type statusListCache struct {
	mu    sync.Mutex
	lists map[int]signedList
}

func (c *statusListCache) get(id int, version int64, kid string) (signedList, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.lists[id]
	return l, ok && l.version == version && l.kid == kid
}

func (c *statusListCache) put(id int, l signedList) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lists == nil || len(c.lists) >= statusListCacheSize {
		c.lists = make(map[int]signedList)
	}
	c.lists[id] = l
}

// readStatusList returns the list's bits as of now, with the list itself.
func (s *Server) readStatusList(ctx context.Context, id int) (*models.StatusList, credential.Bitstring, error) {
	l, set, err := models.StatusListEntries(ctx, s.db.Gorm, id)
	if err != nil {
		return nil, nil, err
	}
	bits, err := credential.NewBitstring(l.Size)
	if err != nil {
		return nil, nil, err
	}
	for _, i := range set {
		if err := bits.Set(i, true); err != nil {
			return nil, nil, err
		}
	}
	return l, bits, nil
}

// signStatusList returns the list as a signed BitstringStatusListCredential.
func (s *Server) signStatusList(ctx context.Context, id int) (signedList, error) {
	if s.issuerKeys == nil || s.issuerKeys.Signer == nil {
		return signedList{}, errors.New("sign status list: no issuer signing key")
	}
	signer := s.issuerKeys.Signer
	kid := signer.Key().KID
	// The list row alone tells whether the signed copy is current; only a changed list has
	// its entries read and is signed again.
	current, err := models.FindStatusList(ctx, s.db.Gorm, id)
	if err != nil {
		return signedList{}, err
	}
	if cached, ok := s.statusLists.get(id, current.Version, kid); ok {
		return cached, nil
	}
	l, bits, err := s.readStatusList(ctx, id)
	if err != nil {
		return signedList{}, err
	}
	issuer := s.cfg.PublicURL + "/issuer"
	doc, err := credential.ListCredential(credential.StatusListParams{
		ListURL: s.statusListURL(id), Issuer: issuer, ValidFrom: l.ChangedAt,
		Purpose: credential.StatusPurpose(l.Purpose), List: bits, TTL: statusListTTL,
	})
	if err != nil {
		return signedList{}, err
	}
	jwt, err := signer.SignDocument(doc, credential.Claims{Issuer: issuer, ID: doc.ID, NotBefore: l.ChangedAt.UTC().Truncate(time.Second)})
	if err != nil {
		return signedList{}, err
	}
	sum := sha256.Sum256([]byte(jwt))
	out := signedList{version: l.Version, kid: kid, jwt: jwt, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`}
	s.statusLists.put(id, out)
	return out, nil
}

// getStatusList handles GET /v1/status-lists/{id}: the list as a VC-JWT
// (BitstringStatusListCredential), public, with an ETag and a short cache lifetime. The
// entries are read from the credentials' statuses at request time.
func (s *Server) getStatusList(c echo.Context) error {
	id, err := strconv.Atoi(c.Param("id"))
	if err != nil || id <= 0 {
		return models.ErrNotFound
	}
	l, err := s.signStatusList(ctx(c), id)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("ETag", l.etag)
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(statusListTTL.Seconds())))
	if etagMatches(c.Request().Header.Get("If-None-Match"), l.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, VCMediaType, []byte(l.jwt))
}

// etagMatches reports whether an If-None-Match header names etag (or is "*").
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
