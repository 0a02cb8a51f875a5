package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

type healthResponse struct {
	Status string `json:"status"`
	Schema *int64 `json:"schema_version,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// healthz handles GET /healthz: the process is up.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, healthResponse{Status: "ok"})
}

// readyz handles GET /readyz: the database answers and its schema is current.
func (s *Server) readyz(c echo.Context) error {
	cx, cancel := context.WithTimeout(ctx(c), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(cx); err != nil {
		return c.JSON(http.StatusServiceUnavailable, healthResponse{Status: "unavailable", Detail: "database unreachable"})
	}
	st, err := models.CheckSchema(cx, s.db)
	if err != nil {
		return c.JSON(http.StatusServiceUnavailable, healthResponse{Status: "unavailable", Detail: "database schema is behind this build"})
	}
	return c.JSON(http.StatusOK, healthResponse{Status: "ok", Schema: &st.Current})
}
