// Package exam assembles exam forms from a blueprint, fixes deadlines, grades attempts, flags
// unusual ones and computes item statistics. It is pure Go: it imports nothing of this module
// and takes plain structs, so it is tested without a database.
package exam

import (
	"errors"
	"math/rand/v2"
	"time"
)

// Item kinds.
const (
	SingleBestAnswer = "single"   // exactly one option is correct
	MultipleResponse = "multiple" // one or more are correct; scored all-or-nothing
)

// Option is one answer choice.
type Option struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// Item is a bank item as the exam engine needs it.
type Item struct {
	ID      string
	Domain  string
	Kind    string
	Options []Option
	Correct []string // option IDs
}

// Blueprint is the share of a form per domain; shares sum to 1.
type Blueprint map[string]float64

// FormItem is one item on a form with its options in the order the learner sees them.
type FormItem struct {
	ItemID  string   `json:"item_id"`
	Options []string `json:"options"`
}

// ErrBankTooSmall means the bank has fewer live items in a domain than the form needs.
var ErrBankTooSmall = errors.New("exam: the bank has too few items for the blueprint")

// Allocate turns a blueprint into item counts per domain for a form of n items (largest
// remainder method, ties broken by domain name, so the result is deterministic).
func Allocate(bp Blueprint, n int) (map[string]int, error) {
	panic("exam.Allocate: not implemented yet")
}

// Assemble draws a form of n items from bank following bp: per domain, items the learner has
// not seen (seen[itemID]) first, then the least recently... any seen ones only where the
// domain has too few unseen; items and each item's options are shuffled with rng. It returns
// ErrBankTooSmall if a domain has fewer items than its allocation.
func Assemble(bank []Item, bp Blueprint, n int, seen map[string]bool, rng *rand.Rand) ([]FormItem, error) {
	panic("exam.Assemble: not implemented yet")
}

// Deadline is start plus the time limit times the learner's accommodation multiplier
// (1 when none), rounded up to the second.
func Deadline(start time.Time, limit time.Duration, multiplier float64) time.Time {
	panic("exam.Deadline: not implemented yet")
}

// DomainResult is a learner's result in one domain.
type DomainResult struct {
	Domain  string `json:"domain"`
	Correct int    `json:"correct"`
	Total   int    `json:"total"`
}

// Result is a graded attempt.
type Result struct {
	Correct     int
	Total       int
	Score       float64 // percent, 0–100, two decimals
	PassMark    int     // percent
	Passed      bool    // Score >= PassMark
	Domains     []DomainResult
	ItemCorrect map[string]bool // per item on the form
}

// Grade scores the answers (item ID → chosen option IDs) to the form. An unanswered item is
// wrong; a multiple-response item is right only if the choices equal the key exactly.
func Grade(items map[string]Item, form []FormItem, answers map[string][]string, passMark int) Result {
	panic("exam.Grade: not implemented yet")
}

// Flag reasons.
const (
	FlagTooFast       = "too_fast"
	FlagManyAddresses = "many_addresses"
)

// AnswerEvent is one autosave of an attempt.
type AnswerEvent struct {
	ItemID string
	At     time.Time
	Addr   string
}

// Flags returns why an attempt looks unusual: finished implausibly fast for its number of
// items, or answered from several client addresses. Empty when nothing stands out.
func Flags(started, finished time.Time, items int, startAddr string, events []AnswerEvent) []string {
	panic("exam.Flags: not implemented yet")
}

// AttemptResponses is one graded attempt for item analysis: per item on its form, whether it
// was answered correctly.
type AttemptResponses map[string]bool

// ItemStats is the classical item analysis of one item.
type ItemStats struct {
	ItemID         string   `json:"item_id"`
	Responses      int      `json:"responses"`
	Difficulty     float64  `json:"difficulty"`     // proportion correct (p-value)
	Discrimination *float64 `json:"discrimination"` // point-biserial with the rest score; nil when undefined
	Flags          []string `json:"flags"`          // low_discrimination, too_easy, too_hard
}

// Analyze computes difficulty and discrimination per item over graded attempts. The rest
// score of an attempt for an item is its number correct on the other items of its form; the
// point-biserial is (M1 − M0) / s · √(p·q) over the rest scores with the population standard
// deviation s. Items under 0.2 discrimination, or with difficulty over 0.95 or under 0.2, are
// flagged. Results are ordered by item ID.
func Analyze(attempts []AttemptResponses) []ItemStats {
	panic("exam.Analyze: not implemented yet")
}
