package exam

import (
	"net/netip"
	"time"
)

// Flag reasons.
const (
	FlagTooFast       = "too_fast"
	FlagManyAddresses = "many_addresses"
)

// MinTimePerItem is the average time per item under which an attempt is flagged too fast.
// Reading a clinical stem and its options takes most people well over a minute; 20 seconds
// leaves room for the quickest honest learner and still catches an attempt answered from a
// list of keys.
const MinTimePerItem = 20 * time.Second

// AnswerEvent is one autosave of an attempt.
type AnswerEvent struct {
	ItemID string
	At     time.Time
	Addr   string
}

// Flags returns why an attempt looks unusual, in this order:
//   - FlagTooFast: it took less than MinTimePerItem per item of the form on average, from
//     started to finished;
//   - FlagManyAddresses: the start and the answers came from 2 or more distinct client
//     addresses. An attempt is one sitting, so a second address suggests a second device or
//     a second person. Empty addresses (unknown) are ignored, and an IPv4 address written as
//     IPv6 (::ffff:192.0.2.1) is the same address as its IPv4 form.
//
// It returns an empty, non-nil slice when nothing stands out, so the result can be stored as
// is in a NOT NULL column.
func Flags(started, finished time.Time, items int, startAddr string, events []AnswerEvent) []string {
	flags := []string{}
	if items > 0 && finished.Sub(started) < time.Duration(items)*MinTimePerItem {
		flags = append(flags, FlagTooFast)
	}
	addrs := map[string]bool{}
	if startAddr != "" {
		addrs[canonicalAddr(startAddr)] = true
	}
	for _, e := range events {
		if e.Addr != "" {
			addrs[canonicalAddr(e.Addr)] = true
		}
	}
	if len(addrs) >= 2 {
		flags = append(flags, FlagManyAddresses)
	}
	return flags
}

// canonicalAddr writes an IP address one way, so that two spellings of one address are not
// taken for two addresses; anything else is compared as given.
func canonicalAddr(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String()
	}
	return s
}
