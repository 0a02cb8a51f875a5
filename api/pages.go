package api

import "github.com/labstack/echo/v4"

func (s *Server) pageRoutes(e *echo.Echo) {}
