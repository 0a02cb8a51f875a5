package api

import (
	"html/template"
	"net/http"

	"github.com/labstack/echo/v4"

	aalscert "github.com/aalscert/aalscert"
)

// openAPISpec handles GET /openapi.yaml.
func (s *Server) openAPISpec(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", aalscert.OpenAPI)
}

var problemPageTmpl = template.Must(template.New("p").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} — aalscert</title></head>
<body><main><h1>{{.Title}}</h1><p>Problem type <code>{{.Code}}</code> of the aalscert API.
The response's <code>detail</code> says what went wrong with your request.</p></main></body></html>`))

// problemPage handles GET /problems/{code}: a page describing a problem type, so that type
// URIs resolve.
func (s *Server) problemPage(c echo.Context) error {
	code := c.Param("code")
	title, ok := titles[code]
	if !ok {
		title = "API problem"
	}
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(http.StatusOK)
	return problemPageTmpl.Execute(c.Response(), map[string]string{"Title": title, "Code": code})
}
