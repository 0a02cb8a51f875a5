package mail

import "context"

// Sender delivers a rendered message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}
