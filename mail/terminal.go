package mail

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// TerminalSender shows each message's text version on a writer (the terminal) instead of
// sending it, so links in emails can be followed in development without a mail server.
// The outbox records its messages as logged, not sent (see Delivers).
type TerminalSender struct {
	mu sync.Mutex // one message at a time, so concurrent workers do not interleave
	w  io.Writer
}

// NewTerminalSender returns a sender that writes messages to w. Use it only in development:
// it prints live tokens.
func NewTerminalSender(w io.Writer) *TerminalSender {
	return &TerminalSender{w: w}
}

const terminalRule = "────────────────────────────────────────────────────────────────────────"

// Send writes m, framed, in one write.
func (s *TerminalSender) Send(_ context.Context, m Message) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "\n%s\n  email (development: printed, not sent)\n%s\n", terminalRule, terminalRule)
	fmt.Fprintf(&b, "To:      %s\nSubject: %s\n", m.To, m.Subject)
	keys := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, m.Headers[k])
	}
	b.WriteString("\n")
	b.WriteString(strings.TrimRight(m.Text, "\n"))
	fmt.Fprintf(&b, "\n%s\n  end of email\n%s\n\n", terminalRule, terminalRule)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.w.Write(b.Bytes())
	return err
}

func (*TerminalSender) showsOnly() {}

// Delivers reports whether s hands messages to a mail server. It is false for nil and for
// the terminal sender, whose messages the outbox records as logged rather than sent.
func Delivers(s Sender) bool {
	if s == nil {
		return false
	}
	_, showsOnly := s.(interface{ showsOnly() })
	return !showsOnly
}
