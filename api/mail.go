package api

import (
	"context"

	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
)

// outgoing is an email a handler sends.
type outgoing = jobs.Outgoing

// sendMail records the message in the outbox and enqueues its delivery in the caller's
// transaction, so the message exists if and only if the write that caused it commits.
func (s *Server) sendMail(ctx context.Context, tx models.Tx, o outgoing) error {
	return jobs.QueueMail(ctx, s.jobs, s.keyring, tx, o)
}
