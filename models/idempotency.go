package models

import (
	"bytes"
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// IdempotentRequest is a stored request made with an Idempotency-Key, and its response once
// one was stored.
type IdempotentRequest struct {
	UserID      uuid.UUID
	Key         string
	Route       string
	RequestHash []byte
	Status      *int
	Body        []byte
	ContentType *string
	CreatedAt   time.Time
}

// TableName is the table of idempotency keys.
func (IdempotentRequest) TableName() string { return "idempotency_keys" }

// Errors of idempotent requests.
var (
	ErrIdempotencyInProgress = NewError("idempotency-key-in-progress", ErrConflict, "a request with this Idempotency-Key is still being processed; retry shortly")
)

// ClaimIdempotencyKey records that the caller is making the request under key. It returns
// (nil, nil) if the key is new and now claimed; the stored request if it completed before
// with the same hash (replay it); ErrIdempotencyReused if the key was used with a different
// request; ErrIdempotencyInProgress if the first request has not finished.
func ClaimIdempotencyKey(ctx context.Context, db *gorm.DB, r *IdempotentRequest) (*IdempotentRequest, error) {
	res := db.WithContext(ctx).Exec(`INSERT INTO idempotency_keys (user_id, key, route, request_hash, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, r.UserID, r.Key, r.Route, r.RequestHash, r.CreatedAt)
	if res.Error != nil {
		return nil, translate(res.Error)
	}
	if res.RowsAffected == 1 {
		return nil, nil
	}
	var prev IdempotentRequest
	err := db.WithContext(ctx).First(&prev, "user_id = ? AND route = ? AND key = ?", r.UserID, r.Route, r.Key).Error
	if err != nil {
		return nil, translate(err)
	}
	switch {
	case !bytes.Equal(prev.RequestHash, r.RequestHash):
		return nil, ErrIdempotencyReused
	case prev.Status == nil:
		return nil, ErrIdempotencyInProgress
	}
	return &prev, nil
}

// CompleteIdempotencyKey stores the response of a claimed request.
func CompleteIdempotencyKey(ctx context.Context, db *gorm.DB, r *IdempotentRequest, status int, contentType string, body []byte) error {
	return translate(db.WithContext(ctx).Model(&IdempotentRequest{}).
		Where("user_id = ? AND route = ? AND key = ?", r.UserID, r.Route, r.Key).
		Updates(map[string]any{"status": status, "content_type": contentType, "body": body}).Error)
}

// ReleaseIdempotencyKey forgets a claimed request whose response is not to be kept, so the
// key can be used again.
func ReleaseIdempotencyKey(ctx context.Context, db *gorm.DB, r *IdempotentRequest) error {
	return translate(db.WithContext(ctx).Exec(`DELETE FROM idempotency_keys WHERE user_id = ? AND route = ? AND key = ? AND status IS NULL`,
		r.UserID, r.Route, r.Key).Error)
}
