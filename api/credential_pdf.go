package api

import (
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/jobs"
)

// certificateRoutes registers the holder's PDF certificate.
func (s *Server) certificateRoutes(g *echo.Group) {
	g.GET("/credentials/:id/pdf", s.getCredentialPDF)
}

// getCredentialPDF handles GET /v1/credentials/{id}/pdf: the caller's one-page certificate.
// The follow-up job of a new credential stores it; if the holder asks first, it is rendered
// and stored now rather than making them wait for the job.
func (s *Server) getCredentialPDF(c echo.Context) error {
	_, cr, err := s.ownCredential(c)
	if err != nil {
		return err
	}
	pdf, err := jobs.CertificatePDF(ctx(c), s.db.Gorm, cr, s.cfg.PublicURL, s.now())
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": cr.Code + ".pdf"}))
	h.Set("Cache-Control", "private, no-cache")
	return c.Blob(http.StatusOK, "application/pdf", pdf)
}

// issuance is what issuing a credential from a request needs: follow-up jobs join the
// request's transaction through the API's River client.
func (s *Server) issuance() jobs.Issuance {
	return jobs.Issuance{Jobs: s.jobs, PublicURL: s.cfg.PublicURL, Location: s.cfg.Location}
}
