package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// IdempotencyKeyHeader lets a client retry a POST safely.
const IdempotencyKeyHeader = "Idempotency-Key"

// idempotent makes a POST that creates something accept an Idempotency-Key. The key is
// scoped to the caller and the route. The same key with the same body replays the first
// response (with Idempotent-Replayed: true); with a different body it is 422
// idempotency-key-reused; while the first request is still running it is 409
// idempotency-key-in-progress. Only 2xx responses are kept (for a day): after an error the
// same key runs the request again. Do not use it on routes whose response holds a secret.
func (s *Server) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Request().Header.Get(IdempotencyKeyHeader)
		if key == "" {
			return next(c)
		}
		if len(key) > 255 {
			return models.Invalid("Idempotency-Key", "must be at most 255 characters")
		}
		owner, ok := idempotencyOwner(c)
		if !ok {
			return next(c) // the handler answers 401
		}
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
		}
		c.Request().Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.Sum256(append([]byte(c.Request().Method+" "+c.Request().URL.Path+"\n"), body...))
		claim := &models.IdempotentRequest{UserID: owner, Key: key, Route: c.Request().Method + " " + c.Path(), RequestHash: sum[:], CreatedAt: s.now()}
		prev, err := models.ClaimIdempotencyKey(ctx(c), s.db.Gorm, claim)
		if err != nil {
			return err
		}
		if prev != nil {
			c.Response().Header().Set("Idempotent-Replayed", "true")
			return c.Blob(*prev.Status, *prev.ContentType, prev.Body)
		}
		return s.runAndStore(c, next, claim)
	}
}

// runAndStore runs the handler, capturing its response, and keeps a 2xx one under the claim.
func (s *Server) runAndStore(c echo.Context, next echo.HandlerFunc, claim *models.IdempotentRequest) error {
	w := c.Response().Writer
	rec := &captureWriter{ResponseWriter: w}
	c.Response().Writer = rec
	err := next(c)
	if err != nil {
		c.Error(err) // write the problem now, so it is captured like any response
	}
	c.Response().Writer = w
	bg := context.WithoutCancel(ctx(c))
	status := c.Response().Status
	if err == nil && status >= 200 && status < 300 {
		return models.CompleteIdempotencyKey(bg, s.db.Gorm, claim, status, c.Response().Header().Get(echo.HeaderContentType), rec.body.Bytes())
	}
	return models.ReleaseIdempotencyKey(bg, s.db.Gorm, claim)
}

// captureWriter copies what is written to the client.
type captureWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (w *captureWriter) Write(p []byte) (int, error) {
	w.body.Write(p)
	return w.ResponseWriter.Write(p)
}

// idempotencyOwner returns who the key belongs to: the user, or the API key.
func idempotencyOwner(c echo.Context) (id [16]byte, ok bool) {
	p := caller(c)
	switch {
	case p == nil:
		return id, false
	case p.User != nil:
		return p.User.ID, true
	case p.APIKey != nil:
		return p.APIKey.ID, true
	}
	return id, false
}
