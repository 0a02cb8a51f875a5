package exam

import (
	"maps"
	"math"
	"slices"
)

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
// wrong. An item is right only if the set of choices equals the set of its key: the order of
// the choices does not matter and a choice given twice counts once, so a multiple-response
// item scores all-or-nothing; a choice that is not an option of the item makes the answer
// wrong. Answers to items that are not on the form are ignored. An item of the form missing
// from items counts as wrong, under an empty domain name. Score is the percent correct rounded
// to two decimals; an empty form scores 0 and does not pass. Domains are ordered by name.
func Grade(items map[string]Item, form []FormItem, answers map[string][]string, passMark int) Result {
	res := Result{Total: len(form), PassMark: passMark, ItemCorrect: make(map[string]bool, len(form))}
	domains := map[string]*DomainResult{}
	for _, fi := range form {
		it := items[fi.ItemID]
		ok := answeredCorrectly(it, answers[fi.ItemID])
		res.ItemCorrect[fi.ItemID] = ok
		d := domains[it.Domain]
		if d == nil {
			d = &DomainResult{Domain: it.Domain}
			domains[it.Domain] = d
		}
		d.Total++
		if ok {
			d.Correct++
			res.Correct++
		}
	}
	res.Domains = make([]DomainResult, 0, len(domains))
	for _, name := range slices.Sorted(maps.Keys(domains)) {
		res.Domains = append(res.Domains, *domains[name])
	}
	if res.Total > 0 {
		res.Score = math.Round(float64(res.Correct)*10000/float64(res.Total)) / 100
	}
	res.Passed = res.Total > 0 && res.Score >= float64(passMark)
	return res
}

// answeredCorrectly reports whether choices, as a set, equal the item's key. Items have at
// most a handful of options, so scanning slices beats building sets.
func answeredCorrectly(it Item, choices []string) bool {
	if len(choices) == 0 || len(it.Correct) == 0 {
		return false
	}
	for _, c := range choices {
		if !slices.Contains(it.Correct, c) || !it.hasOption(c) {
			return false
		}
	}
	for _, k := range it.Correct {
		if !slices.Contains(choices, k) {
			return false
		}
	}
	return true
}

func (it Item) hasOption(id string) bool {
	return slices.ContainsFunc(it.Options, func(o Option) bool { return o.ID == id })
}
