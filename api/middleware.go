package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

func (s *Server) middleware() {
	e := s.echo
	e.Pre(middleware.RemoveTrailingSlash())
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		Generator: func() string { return uuid.NewString() },
		// A caller's ID is kept only if it looks like one of ours.
		RequestIDHandler: nil,
	}))
	e.Use(s.recoverPanics)
	e.Use(s.logRequests)
	e.Use(s.metrics.middleware)
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: s.cfg.BodyLimit, Skipper: hasOwnBodyLimit}))
	e.Use(securityHeaders)
}

// recoverPanics turns a panic into a 500 and logs the stack with the request ID.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.ErrorContext(c.Request().Context(), "panic", "request_id", requestID(c),
					"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

// logRequests writes one structured line per request. It never logs bodies, query strings
// or headers, which may hold tokens.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		s.log.Log(c.Request().Context(), level, "request",
			"request_id", requestID(c),
			"method", c.Request().Method,
			"route", c.Path(),
			"path", c.Request().URL.Path,
			"status", status,
			"duration_ms", time.Since(start).Milliseconds(),
			"client_ip", c.RealIP(),
		)
		return nil
	}
}

func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		return next(c)
	}
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// strictBinder decodes JSON bodies only, rejecting unknown fields and trailing data, so a
// typo in a field name is an error rather than silently ignored.
type strictBinder struct{}

func (strictBinder) Bind(i any, c echo.Context) error {
	req := c.Request()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		if he, ok := err.(*echo.HTTPError); ok {
			return he
		}
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return echo.NewHTTPError(http.StatusBadRequest, "request body is empty")
	}
	mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if mt != echo.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json") {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(i); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, jsonErrorDetail(err))
	}
	if dec.More() {
		return echo.NewHTTPError(http.StatusBadRequest, "unexpected data after the JSON value")
	}
	return nil
}

func jsonErrorDetail(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("malformed JSON at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Sprintf("field %q must be %s", e.Field, e.Type.String())
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field") {
		return strings.TrimPrefix(msg, "json: ")
	}
	return "malformed JSON"
}
