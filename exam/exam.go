// Package exam assembles exam forms from a blueprint, fixes deadlines, grades attempts, flags
// unusual ones and computes item statistics. It is pure Go: it imports nothing of this module
// and takes plain structs, so it is tested without a database.
package exam

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
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

// shareTolerance is how far blueprint shares may sum from 1: the same tolerance the course
// settings are validated with, so every blueprint an admin can save can be allocated.
const shareTolerance = 0.001

// quotaPrecision is the grid quotas are rounded to before they are split into whole items
// and remainders, so that float noise (0.1 × 30 = 3.0000000000000004) neither moves an item
// nor breaks a tie that the domain names should break.
const quotaPrecision = 1e9

// Allocate turns a blueprint into item counts per domain for a form of n items (largest
// remainder method, ties broken by domain name, so the result is deterministic). Every domain
// of bp is in the result, with 0 if its share is too small to earn an item; the counts sum to
// n. It fails if bp is empty, a share is not in (0, 1], the shares do not sum to 1 (within
// 0.001), or n is negative.
func Allocate(bp Blueprint, n int) (map[string]int, error) {
	if n < 0 {
		return nil, fmt.Errorf("exam: a form cannot have %d items", n)
	}
	if len(bp) == 0 {
		return nil, errors.New("exam: the blueprint has no domains")
	}
	domains := slices.Sorted(maps.Keys(bp))
	sum := 0.0
	for _, d := range domains {
		if s := bp[d]; !(s > 0 && s <= 1) {
			return nil, fmt.Errorf("exam: the share of %s is %v; it must be more than 0 and at most 1", d, s)
		}
		sum += bp[d]
	}
	if math.Abs(sum-1) > shareTolerance {
		return nil, fmt.Errorf("exam: the blueprint's shares sum to %.3f; they must sum to 1", sum)
	}
	type remainder struct {
		domain string
		frac   float64
	}
	counts := make(map[string]int, len(domains))
	rems := make([]remainder, 0, len(domains))
	left := n
	for _, d := range domains {
		// Dividing by the sum makes the quotas add up to n even when the shares are off by
		// the tolerance.
		quota := math.Round(bp[d]/sum*float64(n)*quotaPrecision) / quotaPrecision
		whole := math.Floor(quota)
		counts[d] = int(whole)
		left -= int(whole)
		rems = append(rems, remainder{d, quota - whole})
	}
	// Stable, so equal remainders keep the domain-name order.
	slices.SortStableFunc(rems, func(a, b remainder) int { return cmp.Compare(b.frac, a.frac) })
	for i := 0; i < left && i < len(rems); i++ {
		counts[rems[i].domain]++
	}
	return counts, nil
}

// Assemble draws a form of n items from bank following bp. Per domain it takes items the
// learner has not seen (seen[itemID]) first, chosen at random; seen items are drawn, at
// random, only to fill the domain's allocation when it has too few unseen ones. The chosen
// items are then shuffled across the whole form and each item's options are shuffled, all
// with rng, so the same bank, seen set and rng state give the same form whatever the order of
// bank. No item appears twice, even if bank lists it twice. Items of domains that are not in
// bp are never drawn. It returns an error wrapping ErrBankTooSmall that names every domain
// with fewer items than its allocation, and Allocate's error for a bad blueprint. rng must
// not be nil.
func Assemble(bank []Item, bp Blueprint, n int, seen map[string]bool, rng *rand.Rand) ([]FormItem, error) {
	alloc, err := Allocate(bp, n)
	if err != nil {
		return nil, err
	}
	pools := poolsByDomain(bank, bp)
	domains := slices.Sorted(maps.Keys(alloc))
	var short []string
	for _, d := range domains {
		if have, need := len(pools[d]), alloc[d]; have < need {
			short = append(short, fmt.Sprintf("%s has %d items, the form needs %d", d, have, need))
		}
	}
	if len(short) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrBankTooSmall, strings.Join(short, "; "))
	}
	chosen := make([]*Item, 0, n)
	for _, d := range domains {
		chosen = append(chosen, draw(pools[d], alloc[d], seen, rng)...)
	}
	rng.Shuffle(len(chosen), func(i, j int) { chosen[i], chosen[j] = chosen[j], chosen[i] })
	form := make([]FormItem, len(chosen))
	for i, it := range chosen {
		opts := make([]string, len(it.Options))
		for j, o := range it.Options {
			opts[j] = o.ID
		}
		rng.Shuffle(len(opts), func(i, j int) { opts[i], opts[j] = opts[j], opts[i] })
		form[i] = FormItem{ItemID: it.ID, Options: opts}
	}
	return form, nil
}

// poolsByDomain groups the bank's items by blueprint domain, each group without repeated IDs
// and sorted by ID, so that what is drawn depends on rng only, not on the bank's order.
func poolsByDomain(bank []Item, bp Blueprint) map[string][]*Item {
	pools := make(map[string][]*Item, len(bp))
	ids := make(map[string]bool, len(bank))
	for i := range bank {
		it := &bank[i]
		if _, ok := bp[it.Domain]; !ok || ids[it.ID] {
			continue
		}
		ids[it.ID] = true
		pools[it.Domain] = append(pools[it.Domain], it)
	}
	for _, pool := range pools {
		slices.SortFunc(pool, func(a, b *Item) int { return strings.Compare(a.ID, b.ID) })
	}
	return pools
}

// draw picks k items of pool at random, unseen ones first. The caller has checked that pool
// holds at least k items.
func draw(pool []*Item, k int, seen map[string]bool, rng *rand.Rand) []*Item {
	unseen := make([]*Item, 0, len(pool))
	var again []*Item
	for _, it := range pool {
		if seen[it.ID] {
			again = append(again, it)
		} else {
			unseen = append(unseen, it)
		}
	}
	if len(unseen) >= k {
		return pick(unseen, k, rng)
	}
	return append(unseen, pick(again, k-len(unseen), rng)...)
}

// pick moves k random items of items to its front (a partial Fisher–Yates shuffle) and
// returns them; items is the caller's scratch copy.
func pick(items []*Item, k int, rng *rand.Rand) []*Item {
	for i := range k {
		j := i + rng.IntN(len(items)-i)
		items[i], items[j] = items[j], items[i]
	}
	return items[:k]
}

// Deadline is start plus the time limit times the learner's accommodation multiplier
// (1 when none), rounded up to the second. A multiplier under 1, or not finite, counts as 1:
// an accommodation only ever adds time. The product is taken to the nearest nanosecond before
// rounding up, so that float noise (60 min × 1.1) does not add a second.
func Deadline(start time.Time, limit time.Duration, multiplier float64) time.Time {
	if !(multiplier >= 1) || math.IsInf(multiplier, 1) {
		multiplier = 1
	}
	end := start.Add(time.Duration(math.Round(float64(limit) * multiplier)))
	if whole := end.Truncate(time.Second); !whole.Equal(end) {
		return whole.Add(time.Second)
	}
	return end
}
