package api

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

const (
	defaultLimit = 50
	maxLimit     = 200
)

// listResponse is the shape of every list: items and the cursor of the next page.
type listResponse[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// pageParams reads ?limit= (clamped to 1..200, default 50) and ?cursor=.
func pageParams(c echo.Context) (models.Page, error) {
	p := models.Page{Limit: defaultLimit}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return p, models.Invalid("limit", "must be an integer")
		}
		p.Limit = min(max(n, 1), maxLimit)
	}
	if cur := c.QueryParam("cursor"); cur != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil || json.Unmarshal(b, &p.After) != nil || p.After.ID == "" {
			return p, models.Invalid("cursor", "is not a cursor this API returned")
		}
	}
	return p, nil
}

// encodeCursor returns the opaque cursor for a position, or "" for none.
func encodeCursor(c *models.Cursor) string {
	if c == nil {
		return ""
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newList builds a list response from a page of models and a converter.
func newList[M, T any](items []M, next *models.Cursor, conv func(M) T) listResponse[T] {
	out := listResponse[T]{Items: make([]T, 0, len(items)), NextCursor: encodeCursor(next)}
	for _, m := range items {
		out.Items = append(out.Items, conv(m))
	}
	return out
}
