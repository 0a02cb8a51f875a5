package exam

import (
	"maps"
	"math"
	"slices"
)

// Item analysis flags.
const (
	FlagLowDiscrimination = "low_discrimination"
	FlagTooEasy           = "too_easy"
	FlagTooHard           = "too_hard"
)

// Item analysis thresholds: an item discriminating under MinDiscrimination (or not at all),
// or with a difficulty over MaxDifficulty or under MinDifficulty, is flagged for review.
const (
	MinDiscrimination = 0.2
	MaxDifficulty     = 0.95
	MinDifficulty     = 0.2
)

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

// Analyze computes difficulty and discrimination per item over graded attempts; an item's
// statistics use only the attempts whose form had it, and Responses counts them. The rest
// score of an attempt for an item is its number correct on the other items of its form; the
// point-biserial is (M1 − M0) / s · √(p·q) over the rest scores with the population standard
// deviation s, where M1 and M0 are the mean rest scores of the attempts that got the item right
// and wrong. Discrimination is nil when it is undefined: everyone or no one got the item right
// (p is 0 or 1), or every rest score is the same (s is 0). Items discriminating under 0.2 (or
// not at all), or with difficulty over 0.95 or under 0.2, are flagged, in the order
// low_discrimination, too_easy, too_hard; Flags is never nil. Results are ordered by item ID.
func Analyze(attempts []AttemptResponses) []ItemStats {
	sums := map[string]*itemSums{}
	totals := make([]int, len(attempts))
	for i, a := range attempts {
		for _, ok := range a {
			totals[i] += b2i(ok)
		}
		for id, ok := range a {
			s := sums[id]
			if s == nil {
				s = &itemSums{}
				sums[id] = s
			}
			s.add(ok, totals[i]-b2i(ok))
		}
	}
	// A second pass over the attempts gives the spread of the rest scores around their mean
	// without the cancellation of the sum-of-squares shortcut, and exactly 0 when they are
	// all equal.
	for i, a := range attempts {
		for id, ok := range a {
			s := sums[id]
			d := float64(totals[i]-b2i(ok)) - s.meanRest()
			s.squares += d * d
		}
	}
	out := make([]ItemStats, 0, len(sums))
	for _, id := range slices.Sorted(maps.Keys(sums)) {
		out = append(out, sums[id].stats(id))
	}
	return out
}

// itemSums accumulates one item's responses.
type itemSums struct {
	n, correct int
	rest       int     // sum of the rest scores
	restRight  int     // sum of the rest scores of the attempts that got the item right
	squares    float64 // sum of squared deviations of the rest scores from their mean
}

func (s *itemSums) add(right bool, rest int) {
	s.n++
	s.rest += rest
	if right {
		s.correct++
		s.restRight += rest
	}
}

func (s *itemSums) meanRest() float64 { return float64(s.rest) / float64(s.n) }

func (s *itemSums) stats(id string) ItemStats {
	p := float64(s.correct) / float64(s.n)
	st := ItemStats{ItemID: id, Responses: s.n, Difficulty: p, Discrimination: s.pointBiserial(p), Flags: []string{}}
	if st.Discrimination == nil || *st.Discrimination < MinDiscrimination {
		st.Flags = append(st.Flags, FlagLowDiscrimination)
	}
	if p > MaxDifficulty {
		st.Flags = append(st.Flags, FlagTooEasy)
	}
	if p < MinDifficulty {
		st.Flags = append(st.Flags, FlagTooHard)
	}
	return st
}

// pointBiserial is (M1 − M0) / s · √(p·q), or nil when p is 0 or 1 or s is 0.
func (s *itemSums) pointBiserial(p float64) *float64 {
	wrong := s.n - s.correct
	sd := math.Sqrt(s.squares / float64(s.n))
	if s.correct == 0 || wrong == 0 || sd == 0 {
		return nil
	}
	m1 := float64(s.restRight) / float64(s.correct)
	m0 := float64(s.rest-s.restRight) / float64(wrong)
	r := (m1 - m0) / sd * math.Sqrt(p*(1-p))
	return &r
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
