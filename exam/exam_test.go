package exam_test

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aalscert/aalscert/exam"
)

// The shipped blueprints (content/courses/*.yaml).
var (
	aalsBlueprint = exam.Blueprint{
		"monitoring_deterioration":   0.2,
		"or_reversible_causes":       0.3,
		"resuscitation_in_or":        0.2,
		"crisis_resource_management": 0.2,
		"post_arrest_care":           0.1,
	}
	aclsBlueprint = exam.Blueprint{
		"rhythm_recognition":      0.2,
		"shockable_pathway":       0.2,
		"nonshockable_pathway":    0.1,
		"airway_ventilation":      0.1,
		"reversible_causes":       0.2,
		"post_resuscitation_care": 0.1,
		"team_dynamics":           0.1,
	}
)

func TestAllocate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		bp   exam.Blueprint
		n    int
		want map[string]int
	}{
		{"AALS", aalsBlueprint, 30, map[string]int{"monitoring_deterioration": 6, "or_reversible_causes": 9,
			"resuscitation_in_or": 6, "crisis_resource_management": 6, "post_arrest_care": 3}},
		{"ACLS", aclsBlueprint, 30, map[string]int{"rhythm_recognition": 6, "shockable_pathway": 6,
			"nonshockable_pathway": 3, "airway_ventilation": 3, "reversible_causes": 6,
			"post_resuscitation_care": 3, "team_dynamics": 3}},
		// 10/3 each: one item left over, and the tie goes to the first name.
		{"ThirdsTieByName", exam.Blueprint{"c": 1.0 / 3, "a": 1.0 / 3, "b": 1.0 / 3}, 10, map[string]int{"a": 4, "b": 3, "c": 3}},
		// Quotas 2.1, 2.8, 2.1: floors 2, 2, 2 and the one left goes to the largest remainder.
		{"LargestRemainder", exam.Blueprint{"a": 0.3, "b": 0.4, "c": 0.3}, 7, map[string]int{"a": 2, "b": 3, "c": 2}},
		// Quotas 0.3 and 29.7: a tiny share earns no item.
		{"TinyShare", exam.Blueprint{"a": 0.01, "b": 0.99}, 30, map[string]int{"a": 0, "b": 30}},
		{"OneItemTwoHalves", exam.Blueprint{"b": 0.5, "a": 0.5}, 1, map[string]int{"a": 1, "b": 0}},
		// Shares off 1 by less than the tolerance are scaled to sum to 1.
		{"SharesWithinTolerance", exam.Blueprint{"a": 0.333, "b": 0.333, "c": 0.333}, 30, map[string]int{"a": 10, "b": 10, "c": 10}},
		{"EmptyForm", aalsBlueprint, 0, map[string]int{"monitoring_deterioration": 0, "or_reversible_causes": 0,
			"resuscitation_in_or": 0, "crisis_resource_management": 0, "post_arrest_care": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := exam.Allocate(tc.bp, tc.n)
			if err != nil {
				t.Fatalf("Allocate: %v", err)
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAllocateSumsToN checks the largest remainder method on many awkward blueprints: the
// counts sum to n, each is its quota rounded down or up, and the same input gives the same
// counts.
func TestAllocateSumsToN(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		bp := exam.Blueprint{}
		weights := make([]float64, 1+rng.IntN(9))
		sum := 0.0
		for i := range weights {
			weights[i] = 0.01 + rng.Float64()
			sum += weights[i]
		}
		for i, w := range weights {
			bp[fmt.Sprintf("d%d", i)] = w / sum
		}
		n := rng.IntN(201)
		got, err := exam.Allocate(bp, n)
		if err != nil {
			t.Fatalf("Allocate(%v, %d): %v", bp, n, err)
		}
		total := 0
		for d, c := range got {
			total += c
			if q := bp[d] * float64(n); float64(c) < math.Floor(q)-1e-9 || float64(c) > math.Ceil(q)+1e-9 {
				t.Fatalf("Allocate(%v, %d)[%s] = %d, want %v rounded down or up", bp, n, d, c, q)
			}
		}
		if total != n || len(got) != len(bp) {
			t.Fatalf("Allocate(%v, %d) = %v: %d items in %d domains, want %d in %d", bp, n, got, total, len(got), n, len(bp))
		}
		if again, _ := exam.Allocate(bp, n); !maps.Equal(got, again) {
			t.Fatalf("Allocate(%v, %d) gave %v, then %v", bp, n, got, again)
		}
	}
}

func TestAllocateRejectsBadBlueprints(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		bp   exam.Blueprint
		n    int
	}{
		{"Empty", exam.Blueprint{}, 30},
		{"SumUnder1", exam.Blueprint{"a": 0.5, "b": 0.4}, 30},
		{"NegativeShare", exam.Blueprint{"a": 1.2, "b": -0.2}, 30},
		{"ZeroShare", exam.Blueprint{"a": 1, "b": 0}, 30},
		{"NaNShare", exam.Blueprint{"a": math.NaN()}, 30},
		{"NegativeN", aalsBlueprint, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got, err := exam.Allocate(tc.bp, tc.n); err == nil {
				t.Fatalf("got %v, want an error", got)
			}
		})
	}
}

// bank returns perDomain items for each domain of bp, with IDs D<domain index>-<n> and four
// options a–d, the key b.
func bank(bp exam.Blueprint, perDomain int) []exam.Item {
	var items []exam.Item
	for di, d := range slices.Sorted(maps.Keys(bp)) {
		for i := range perDomain {
			items = append(items, exam.Item{
				ID: fmt.Sprintf("D%d-%03d", di, i), Domain: d, Kind: exam.SingleBestAnswer,
				Options: []exam.Option{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}}, Correct: []string{"b"},
			})
		}
	}
	return items
}

func byID(items []exam.Item) map[string]exam.Item {
	m := make(map[string]exam.Item, len(items))
	for _, it := range items {
		m[it.ID] = it
	}
	return m
}

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

func TestAssembleFollowsTheBlueprint(t *testing.T) {
	t.Parallel()
	for name, bp := range map[string]exam.Blueprint{"AALS": aalsBlueprint, "ACLS": aclsBlueprint} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := bank(bp, 20)
			items := byID(b)
			want, _ := exam.Allocate(bp, 30)
			for seed := range uint64(50) {
				form, err := exam.Assemble(b, bp, 30, nil, seeded(seed))
				if err != nil {
					t.Fatalf("Assemble: %v", err)
				}
				got := map[string]int{}
				onForm := map[string]bool{}
				for _, fi := range form {
					it, ok := items[fi.ItemID]
					if !ok || onForm[fi.ItemID] {
						t.Fatalf("seed %d: item %q is not in the bank or is on the form twice", seed, fi.ItemID)
					}
					onForm[fi.ItemID] = true
					got[it.Domain]++
					if opts := slices.Sorted(slices.Values(fi.Options)); !slices.Equal(opts, []string{"a", "b", "c", "d"}) {
						t.Fatalf("seed %d: options of %s = %v, want a permutation of a–d", seed, fi.ItemID, fi.Options)
					}
				}
				if len(form) != 30 || !maps.Equal(got, want) {
					t.Fatalf("seed %d: %d items per domain %v, want 30 as %v", seed, len(form), got, want)
				}
			}
		})
	}
}

func TestAssemblePrefersUnseenItems(t *testing.T) {
	t.Parallel()
	bp := exam.Blueprint{"airway": 0.5, "drugs": 0.5} // 5 items each on a form of 10
	b := bank(bp, 10)                                 // D0-000…D0-009 airway, D1-000…D1-009 drugs
	// Airway: 7 of 10 seen, so the 3 unseen are always drawn and 2 seen fill the allocation.
	// Drugs: 4 of 10 seen, so 6 unseen are enough and no seen one is drawn.
	seen := map[string]bool{}
	for i := range 7 {
		seen[fmt.Sprintf("D0-%03d", i)] = true
	}
	for i := range 4 {
		seen[fmt.Sprintf("D1-%03d", i)] = true
	}
	seenDrawn := map[string]bool{}
	for seed := range uint64(200) {
		form, err := exam.Assemble(b, bp, 10, seen, seeded(seed))
		if err != nil {
			t.Fatalf("Assemble: %v", err)
		}
		var airwaySeen, airwayUnseen int
		for _, fi := range form {
			switch {
			case strings.HasPrefix(fi.ItemID, "D1-") && seen[fi.ItemID]:
				t.Fatalf("seed %d: drew seen drugs item %s while 6 unseen were left", seed, fi.ItemID)
			case strings.HasPrefix(fi.ItemID, "D0-") && seen[fi.ItemID]:
				airwaySeen++
				seenDrawn[fi.ItemID] = true
			case strings.HasPrefix(fi.ItemID, "D0-"):
				airwayUnseen++
			}
		}
		if airwayUnseen != 3 || airwaySeen != 2 {
			t.Fatalf("seed %d: airway drew %d unseen and %d seen, want 3 and 2", seed, airwayUnseen, airwaySeen)
		}
	}
	// The seen items that fill a domain are drawn at random, not always the same ones.
	if len(seenDrawn) != 7 {
		t.Fatalf("over 200 forms the seen airway items drawn were %v, want all 7 at some point", slices.Sorted(maps.Keys(seenDrawn)))
	}
}

func TestAssembleShuffles(t *testing.T) {
	t.Parallel()
	b := bank(aalsBlueprint, 20)
	one, _ := exam.Assemble(b, aalsBlueprint, 30, nil, seeded(1))
	again, _ := exam.Assemble(b, aalsBlueprint, 30, nil, seeded(1))
	two, _ := exam.Assemble(b, aalsBlueprint, 30, nil, seeded(2))
	if !reflect.DeepEqual(one, again) {
		t.Fatalf("seed 1 gave two different forms:\n%v\n%v", one, again)
	}
	if reflect.DeepEqual(ids(one), ids(two)) {
		t.Fatalf("seeds 1 and 2 gave the same item order %v", ids(one))
	}
	// Items of a domain are not grouped together: the form is shuffled as a whole.
	if sorted := slices.Sorted(slices.Values(ids(one))); slices.Equal(ids(one), sorted) {
		t.Fatalf("form is in ID order %v, want it shuffled", ids(one))
	}
	moved := 0
	for _, fi := range one {
		if !slices.Equal(fi.Options, []string{"a", "b", "c", "d"}) {
			moved++
		}
	}
	if moved < 20 { // 1 in 24 orders is the bank's own; 30 items left in it by chance is implausible
		t.Fatalf("only %d of 30 items have their options shuffled", moved)
	}
	// The bank's order does not matter, only the rng.
	reversed := slices.Clone(b)
	slices.Reverse(reversed)
	if rev, _ := exam.Assemble(reversed, aalsBlueprint, 30, nil, seeded(1)); !reflect.DeepEqual(one, rev) {
		t.Fatalf("the same seed gave another form for the bank in reverse order")
	}
}

func ids(form []exam.FormItem) []string {
	out := make([]string, len(form))
	for i, fi := range form {
		out[i] = fi.ItemID
	}
	return out
}

func TestAssembleNeverRepeatsAnItem(t *testing.T) {
	t.Parallel()
	bp := exam.Blueprint{"airway": 1}
	opts := []exam.Option{{ID: "a"}, {ID: "b"}}
	x := exam.Item{ID: "X", Domain: "airway", Options: opts, Correct: []string{"a"}}
	y := exam.Item{ID: "Y", Domain: "airway", Options: opts, Correct: []string{"a"}}
	z := exam.Item{ID: "Z", Domain: "airway", Options: opts, Correct: []string{"a"}}
	stray := exam.Item{ID: "S", Domain: "not_in_blueprint", Options: opts, Correct: []string{"a"}}
	for seed := range uint64(20) {
		form, err := exam.Assemble([]exam.Item{x, x, stray, y, x, z}, bp, 3, nil, seeded(seed))
		if err != nil {
			t.Fatalf("Assemble: %v", err)
		}
		if got := slices.Sorted(slices.Values(ids(form))); !slices.Equal(got, []string{"X", "Y", "Z"}) {
			t.Fatalf("seed %d: form %v, want X, Y and Z once each", seed, ids(form))
		}
	}
	// Listed three times, X is still one item: X and Y cannot fill 3 places.
	if _, err := exam.Assemble([]exam.Item{x, x, y, x, stray}, bp, 3, nil, seeded(1)); !errors.Is(err, exam.ErrBankTooSmall) {
		t.Fatalf("err = %v, want ErrBankTooSmall", err)
	}
}

func TestAssembleBankTooSmall(t *testing.T) {
	t.Parallel()
	b := bank(aalsBlueprint, 20)
	// Leave or_reversible_causes (9 on a form) with 4 items and post_arrest_care (3) with 2.
	var short []exam.Item
	count := map[string]int{}
	for _, it := range b {
		count[it.Domain]++
		if (it.Domain == "or_reversible_causes" && count[it.Domain] > 4) || (it.Domain == "post_arrest_care" && count[it.Domain] > 2) {
			continue
		}
		short = append(short, it)
	}
	_, err := exam.Assemble(short, aalsBlueprint, 30, map[string]bool{"D0-000": true}, seeded(1))
	if !errors.Is(err, exam.ErrBankTooSmall) {
		t.Fatalf("err = %v, want ErrBankTooSmall", err)
	}
	for _, want := range []string{"or_reversible_causes has 4 items, the form needs 9", "post_arrest_care has 2 items, the form needs 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to say %q", err, want)
		}
	}
	if _, err := exam.Assemble(b, exam.Blueprint{"a": 0.5}, 30, nil, seeded(1)); err == nil || errors.Is(err, exam.ErrBankTooSmall) {
		t.Fatalf("bad blueprint: err = %v, want the blueprint's error", err)
	}
}

func TestDeadline(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 14, 10, 0, 0, 300_000_000, time.UTC) // 10:00:00.3
	whole := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		start      time.Time
		limit      time.Duration
		multiplier float64
		want       time.Time
	}{
		{"NoAccommodationRoundsUp", start, time.Hour, 1, time.Date(2026, 3, 14, 11, 0, 1, 0, time.UTC)},
		{"NoneGivenAsZero", whole, time.Hour, 0, time.Date(2026, 3, 14, 11, 0, 0, 0, time.UTC)},
		{"TimeAndAHalf", start, time.Hour, 1.5, time.Date(2026, 3, 14, 11, 30, 1, 0, time.UTC)},
		// 3600 s × 1.1 is 3960.0000000000005 s in floating point; no extra second.
		{"FloatNoiseAddsNoSecond", whole, time.Hour, 1.1, time.Date(2026, 3, 14, 11, 6, 0, 0, time.UTC)},
		{"OddSecondsRoundUp", whole, 61 * time.Second, 1.25, time.Date(2026, 3, 14, 10, 1, 17, 0, time.UTC)}, // 76.25 s
		{"NeverShorter", whole, time.Hour, 0.5, time.Date(2026, 3, 14, 11, 0, 0, 0, time.UTC)},
		{"NaNIsNone", whole, time.Hour, math.NaN(), time.Date(2026, 3, 14, 11, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := exam.Deadline(tc.start, tc.limit, tc.multiplier); !got.Equal(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// gradeItems is a small bank for grading: two domains, single and multiple-response items.
var gradeItems = byID([]exam.Item{
	{ID: "S1", Domain: "rhythm", Kind: exam.SingleBestAnswer, Options: opts("a", "b", "c", "d"), Correct: []string{"b"}},
	{ID: "S2", Domain: "rhythm", Kind: exam.SingleBestAnswer, Options: opts("a", "b", "c", "d"), Correct: []string{"a"}},
	{ID: "S3", Domain: "rhythm", Kind: exam.SingleBestAnswer, Options: opts("a", "b", "c"), Correct: []string{"c"}},
	{ID: "M1", Domain: "airway", Kind: exam.MultipleResponse, Options: opts("a", "b", "c", "d", "e"), Correct: []string{"a", "c"}},
	{ID: "M2", Domain: "airway", Kind: exam.MultipleResponse, Options: opts("a", "b", "c", "d"), Correct: []string{"b", "d"}},
	{ID: "M3", Domain: "airway", Kind: exam.MultipleResponse, Options: opts("a", "b", "c", "d"), Correct: []string{"a", "b", "d"}},
	{ID: "S4", Domain: "drugs", Kind: exam.SingleBestAnswer, Options: opts("a", "b"), Correct: []string{"a"}},
})

func opts(ids ...string) []exam.Option {
	out := make([]exam.Option, len(ids))
	for i, id := range ids {
		out[i] = exam.Option{ID: id, Text: "option " + id}
	}
	return out
}

func formOf(itemIDs ...string) []exam.FormItem {
	form := make([]exam.FormItem, len(itemIDs))
	for i, id := range itemIDs {
		form[i] = exam.FormItem{ItemID: id}
	}
	return form
}

func TestGrade(t *testing.T) {
	t.Parallel()
	form := formOf("M1", "S1", "S2", "M2", "S3", "M3", "S4")
	answers := map[string][]string{
		"S1":  {"b"},           // right
		"M1":  {"c", "a", "a"}, // right: order and a repeated choice do not matter
		"S2":  {"a", "b"},      // wrong: the key and another choice
		"M2":  {"b"},           // wrong: half the key scores nothing
		"M3":  {"a", "b", "d"}, // right
		"S4":  {"z"},           // wrong: not an option of the item
		"OFF": {"a"},           // not on the form: ignored
		// S3 unanswered: wrong.
	}
	got := exam.Grade(gradeItems, form, answers, 84)
	want := exam.Result{
		Correct: 3, Total: 7, Score: 42.86, PassMark: 84, Passed: false,
		Domains: []exam.DomainResult{
			{Domain: "airway", Correct: 2, Total: 3},
			{Domain: "drugs", Correct: 0, Total: 1},
			{Domain: "rhythm", Correct: 1, Total: 3},
		},
		ItemCorrect: map[string]bool{"S1": true, "M1": true, "S2": false, "M2": false, "S3": false, "M3": true, "S4": false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestGradeCases(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		item    string
		choices []string
		want    bool
	}{
		{"SingleRight", "S1", []string{"b"}, true},
		{"SingleRepeated", "S1", []string{"b", "b"}, true},
		{"SingleWrong", "S1", []string{"a"}, false},
		{"SingleTwoChoices", "S1", []string{"b", "c"}, false},
		{"SingleEmptyChoices", "S1", []string{}, false},
		{"SingleUnknownOption", "S1", []string{"x"}, false},
		{"MultipleRight", "M3", []string{"d", "a", "b"}, true},
		{"MultipleRepeated", "M3", []string{"a", "b", "d", "b"}, true},
		{"MultipleOneMissing", "M3", []string{"a", "b"}, false},
		{"MultipleOneExtra", "M3", []string{"a", "b", "c", "d"}, false},
		{"MultipleKeyAndUnknownOption", "M3", []string{"a", "b", "d", "x"}, false},
		{"MultipleAllOptions", "M1", []string{"a", "b", "c", "d", "e"}, false},
		{"CaseMatters", "S1", []string{"B"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := exam.Grade(gradeItems, formOf(tc.item), map[string][]string{tc.item: tc.choices}, 50)
			if res.ItemCorrect[tc.item] != tc.want || (res.Correct == 1) != tc.want {
				t.Fatalf("%s with %v: got %+v, want correct = %v", tc.item, tc.choices, res, tc.want)
			}
		})
	}
}

func TestGradePassMark(t *testing.T) {
	t.Parallel()
	item := exam.Item{ID: "I", Domain: "rhythm", Options: opts("a", "b"), Correct: []string{"a"}}
	for _, tc := range []struct {
		correct, total int
		score          float64
		passed         bool
	}{
		{26, 30, 86.67, true},
		{25, 30, 83.33, false},
		{21, 25, 84, true}, // exactly the pass mark passes
		{30, 30, 100, true},
		{0, 30, 0, false},
		{0, 0, 0, false}, // an empty form never passes
	} {
		t.Run(fmt.Sprintf("%dOf%d", tc.correct, tc.total), func(t *testing.T) {
			t.Parallel()
			items := map[string]exam.Item{}
			answers := map[string][]string{}
			var form []exam.FormItem
			for i := range tc.total {
				it := item
				it.ID = fmt.Sprintf("I%02d", i)
				items[it.ID] = it
				form = append(form, exam.FormItem{ItemID: it.ID})
				if i < tc.correct {
					answers[it.ID] = []string{"a"}
				} else {
					answers[it.ID] = []string{"b"}
				}
			}
			res := exam.Grade(items, form, answers, 84)
			if res.Score != tc.score || res.Passed != tc.passed || res.Correct != tc.correct || res.Total != tc.total {
				t.Fatalf("got %d/%d, score %v, passed %v; want %d/%d, %v, %v",
					res.Correct, res.Total, res.Score, res.Passed, tc.correct, tc.total, tc.score, tc.passed)
			}
		})
	}
}

func TestGradeItemMissingFromBank(t *testing.T) {
	t.Parallel()
	res := exam.Grade(gradeItems, formOf("S1", "GONE"), map[string][]string{"S1": {"b"}, "GONE": {"a"}}, 50)
	want := []exam.DomainResult{{Domain: "", Correct: 0, Total: 1}, {Domain: "rhythm", Correct: 1, Total: 1}}
	if res.Correct != 1 || res.Total != 2 || res.ItemCorrect["GONE"] || !reflect.DeepEqual(res.Domains, want) {
		t.Fatalf("got %+v, want GONE wrong under an empty domain", res)
	}
}

// FuzzGrade feeds Grade arbitrary forms and answers: spec is a list of "item=choice,choice"
// separated by ";" (items from gradeItems, unknown ones and repeats included).
func FuzzGrade(f *testing.F) {
	f.Add("S1=b;M1=a,c;S2=a,b;M2=b;S3=;M3=a,b,d;S4=z", 84)
	f.Add("S1=b;S1=b;GONE=a", 100)
	f.Add("", 0)
	f.Add(";;=;M1=,,,a", -5)
	f.Add("S1=b", 200)
	f.Fuzz(func(t *testing.T, spec string, passMark int) {
		var form []exam.FormItem
		answers := map[string][]string{}
		for _, part := range strings.Split(spec, ";") {
			id, choices, _ := strings.Cut(part, "=")
			form = append(form, exam.FormItem{ItemID: id})
			answers[id] = strings.Split(choices, ",")
		}
		res := exam.Grade(gradeItems, form, answers, passMark)
		if res.Score < 0 || res.Score > 100 || math.IsNaN(res.Score) {
			t.Fatalf("Score = %v, want 0–100", res.Score)
		}
		if res.Correct < 0 || res.Correct > res.Total || res.Total != len(form) {
			t.Fatalf("Correct = %d, Total = %d for a form of %d", res.Correct, res.Total, len(form))
		}
		sumTotal, sumCorrect := 0, 0
		for _, d := range res.Domains {
			sumTotal += d.Total
			sumCorrect += d.Correct
		}
		if sumTotal != res.Total || sumCorrect != res.Correct {
			t.Fatalf("domains add up to %d/%d, result is %d/%d", sumCorrect, sumTotal, res.Correct, res.Total)
		}
		if res.Passed != (res.Total > 0 && res.Score >= float64(passMark)) {
			t.Fatalf("Passed = %v with score %v and pass mark %d", res.Passed, res.Score, passMark)
		}
	})
}

func TestFlags(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	at := func(min int, addr string) exam.AnswerEvent {
		return exam.AnswerEvent{ItemID: "I", At: start.Add(time.Duration(min) * time.Minute), Addr: addr}
	}
	oneAddr := []exam.AnswerEvent{at(1, "192.0.2.1"), at(5, "192.0.2.1")}
	for _, tc := range []struct {
		name     string
		took     time.Duration
		items    int
		start    string
		events   []exam.AnswerEvent
		wantFlag []string
	}{
		{"Ordinary", 35 * time.Minute, 30, "192.0.2.1", oneAddr, []string{}},
		// 30 items × 20 s = 10 min.
		{"TooFast", 10*time.Minute - time.Second, 30, "192.0.2.1", oneAddr, []string{exam.FlagTooFast}},
		{"JustNotTooFast", 10 * time.Minute, 30, "192.0.2.1", oneAddr, []string{}},
		{"NoItems", 0, 0, "192.0.2.1", nil, []string{}},
		{"AnswerFromAnotherAddress", time.Hour, 30, "192.0.2.1",
			[]exam.AnswerEvent{at(1, "192.0.2.1"), at(9, "198.51.100.7")}, []string{exam.FlagManyAddresses}},
		{"StartedElsewhere", time.Hour, 30, "203.0.113.5", oneAddr, []string{exam.FlagManyAddresses}},
		{"SameAddressTwoSpellings", time.Hour, 30, "::ffff:192.0.2.1", oneAddr, []string{}},
		{"UnknownAddressesIgnored", time.Hour, 30, "", []exam.AnswerEvent{at(1, ""), at(2, "192.0.2.1")}, []string{}},
		{"Both", time.Minute, 30, "192.0.2.1", []exam.AnswerEvent{at(1, "2001:db8::1")},
			[]string{exam.FlagTooFast, exam.FlagManyAddresses}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := exam.Flags(start, start.Add(tc.took), tc.items, tc.start, tc.events)
			if got == nil || !slices.Equal(got, tc.wantFlag) {
				t.Fatalf("got %#v, want %#v", got, tc.wantFlag)
			}
		})
	}
}

// TestAnalyzeHandComputed checks Analyze against a 5 × 4 response matrix worked by hand.
//
//	attempt  Q1 Q2 Q3 Q4  total
//	A1        1  1  1  0    3
//	A2        1  1  0  1    3
//	A3        1  0  1  0    2
//	A4        1  0  0  0    1
//	A5        1  0  0  0    1
//
// Rest score = total − the item. Population SD s = √(Σ(rest − mean)² / 5).
//
//	Q1: everyone right: p = 1, q = 0, so the point-biserial is undefined (nil).
//	    Flags: low_discrimination, too_easy.
//	Q2: x = 1 1 0 0 0, rest = 2 2 2 1 1. p = 0.4, q = 0.6, √(pq) = √0.24 = 0.489898.
//	    M1 = (2+2)/2 = 2, M0 = (2+1+1)/3 = 4/3 = 1.333333.
//	    mean = 8/5 = 1.6; Σ(dev²) = 3·0.16 + 2·0.36 = 1.2; s² = 0.24, s = 0.489898.
//	    r = (2 − 4/3) / 0.489898 · 0.489898 = 2/3 = 0.666667. No flag.
//	Q3: x = 1 0 1 0 0, rest = 2 3 1 1 1. p = 0.4, q = 0.6, √(pq) = 0.489898.
//	    M1 = (2+1)/2 = 1.5, M0 = (3+1+1)/3 = 5/3 = 1.666667.
//	    mean = 8/5 = 1.6; Σ(dev²) = 0.16 + 1.96 + 3·0.36 = 3.2; s² = 0.64, s = 0.8.
//	    r = (1.5 − 1.666667) / 0.8 · 0.489898 = −0.208333 · 0.489898 = −0.102062.
//	    Flags: low_discrimination.
//	Q4: x = 0 1 0 0 0, rest = 3 2 2 1 1. p = 0.2, q = 0.8, √(pq) = 0.4.
//	    M1 = 2, M0 = (3+2+1+1)/4 = 1.75.
//	    mean = 9/5 = 1.8; Σ(dev²) = 1.44 + 0.04 + 0.04 + 0.64 + 0.64 = 2.8; s² = 0.56, s = 0.748331.
//	    r = 0.25 / 0.748331 · 0.4 = 0.133631.
//	    Flags: low_discrimination (p = 0.2 is not under 0.2, so not too_hard).
func TestAnalyzeHandComputed(t *testing.T) {
	t.Parallel()
	matrix := [][4]bool{
		{true, true, true, false},
		{true, true, false, true},
		{true, false, true, false},
		{true, false, false, false},
		{true, false, false, false},
	}
	var attempts []exam.AttemptResponses
	for _, row := range matrix {
		a := exam.AttemptResponses{}
		for j, ok := range row {
			a[fmt.Sprintf("Q%d", j+1)] = ok
		}
		attempts = append(attempts, a)
	}
	checkStats(t, exam.Analyze(attempts), []wantStats{
		{"Q1", 5, 1, nil, []string{exam.FlagLowDiscrimination, exam.FlagTooEasy}},
		{"Q2", 5, 0.4, ptr(0.666667), []string{}},
		{"Q3", 5, 0.4, ptr(-0.102062), []string{exam.FlagLowDiscrimination}},
		{"Q4", 5, 0.2, ptr(0.133631), []string{exam.FlagLowDiscrimination}},
	})
}

// TestAnalyzeOnlyFormsWithTheItem checks that an item's statistics use only the attempts
// whose form had it.
//
//	attempt  X  Y  Z
//	B1       1  1  –
//	B2       0  1  1
//	B3       –  0  0
//	B4       1  –  1
//
//	X (B1, B2, B4): x = 1 0 1, rest = 1 2 1. p = 2/3, √(pq) = √(2/9) = 0.471405.
//	   M1 = 1, M0 = 2; mean = 4/3, Σ(dev²) = 1/9 + 4/9 + 1/9 = 2/3, s² = 2/9, s = 0.471405.
//	   r = (1 − 2) / 0.471405 · 0.471405 = −1.
//	Y (B1, B2, B3): x = 1 1 0, rest = 1 1 0. p = 2/3. M1 = 1, M0 = 0; mean = 2/3,
//	   Σ(dev²) = 1/9 + 1/9 + 4/9 = 2/3, s = 0.471405. r = 1.
//	Z (B2, B3, B4): x = 1 0 1, rest = 1 0 1. The same numbers as Y: r = 1.
func TestAnalyzeOnlyFormsWithTheItem(t *testing.T) {
	t.Parallel()
	attempts := []exam.AttemptResponses{
		{"X": true, "Y": true},
		{"X": false, "Y": true, "Z": true},
		{"Y": false, "Z": false},
		{"X": true, "Z": true},
	}
	checkStats(t, exam.Analyze(attempts), []wantStats{
		{"X", 3, 2.0 / 3, ptr(-1), []string{exam.FlagLowDiscrimination}},
		{"Y", 3, 2.0 / 3, ptr(1), []string{}},
		{"Z", 3, 2.0 / 3, ptr(1), []string{}},
	})
}

// TestAnalyzeUndefined covers the nil discrimination cases: p = 0 and rest scores that are
// all equal (s = 0) while p is neither 0 nor 1.
//
//	attempt  X  Y  Z  W
//	C1       1  1  0  0
//	C2       0  0  1  0
//	C3       1  0  1  0
//
//	X: rest = 1 1 1, so s = 0 although p = 2/3: nil.
//	W: nobody right, p = 0: nil, and too_hard.
func TestAnalyzeUndefined(t *testing.T) {
	t.Parallel()
	attempts := []exam.AttemptResponses{
		{"X": true, "Y": true, "Z": false, "W": false},
		{"X": false, "Y": false, "Z": true, "W": false},
		{"X": true, "Y": false, "Z": true, "W": false},
	}
	stats := exam.Analyze(attempts)
	byItem := map[string]exam.ItemStats{}
	for _, s := range stats {
		byItem[s.ItemID] = s
	}
	if x := byItem["X"]; x.Discrimination != nil || math.Abs(x.Difficulty-2.0/3) > 1e-9 || !slices.Equal(x.Flags, []string{exam.FlagLowDiscrimination}) {
		t.Errorf("X = %+v, want p = 2/3, nil discrimination, low_discrimination", x)
	}
	if w := byItem["W"]; w.Discrimination != nil || w.Difficulty != 0 || !slices.Equal(w.Flags, []string{exam.FlagLowDiscrimination, exam.FlagTooHard}) {
		t.Errorf("W = %+v, want p = 0, nil discrimination, low_discrimination and too_hard", w)
	}
	if got := exam.Analyze(nil); got == nil || len(got) != 0 {
		t.Errorf("Analyze(nil) = %#v, want an empty list", got)
	}
}

// TestAnalyzeDifficultyFlags checks the difficulty thresholds at and past their edges.
func TestAnalyzeDifficultyFlags(t *testing.T) {
	t.Parallel()
	// n attempts; item E is right in all but wrong of them, item H in right of them.
	run := func(n, wrong, right int) map[string][]string {
		var attempts []exam.AttemptResponses
		for i := range n {
			attempts = append(attempts, exam.AttemptResponses{"E": i >= wrong, "H": i < right})
		}
		flags := map[string][]string{}
		for _, s := range exam.Analyze(attempts) {
			flags[s.ItemID] = s.Flags
		}
		return flags
	}
	edge := run(20, 1, 4) // E: p = 0.95, H: p = 0.2: neither is flagged for difficulty
	if slices.Contains(edge["E"], exam.FlagTooEasy) || slices.Contains(edge["H"], exam.FlagTooHard) {
		t.Errorf("at the edges: %v, want neither too_easy nor too_hard", edge)
	}
	past := run(40, 1, 7) // E: p = 0.975, H: p = 0.175
	if !slices.Contains(past["E"], exam.FlagTooEasy) || !slices.Contains(past["H"], exam.FlagTooHard) {
		t.Errorf("past the edges: %v, want E too_easy and H too_hard", past)
	}
}

type wantStats struct {
	id        string
	responses int
	p         float64
	r         *float64
	flags     []string
}

func ptr(f float64) *float64 { return &f }

// checkStats compares to the hand values, which are given to six decimals.
func checkStats(t *testing.T, got []exam.ItemStats, want []wantStats) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d items %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ItemID != w.id || g.Responses != w.responses || math.Abs(g.Difficulty-w.p) > 1e-9 || !slices.Equal(g.Flags, w.flags) {
			t.Errorf("got %s: %d responses, p = %v, flags %v; want %s: %d, %v, %v",
				g.ItemID, g.Responses, g.Difficulty, g.Flags, w.id, w.responses, w.p, w.flags)
		}
		switch {
		case w.r == nil && g.Discrimination != nil:
			t.Errorf("%s: discrimination = %v, want nil", w.id, *g.Discrimination)
		case w.r != nil && g.Discrimination == nil:
			t.Errorf("%s: discrimination = nil, want %v", w.id, *w.r)
		case w.r != nil && math.Abs(*g.Discrimination-*w.r) > 5e-7:
			t.Errorf("%s: discrimination = %v, want %v", w.id, *g.Discrimination, *w.r)
		}
	}
}
