package bench

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/aalscert/aalscert/exam"
)

// examBlueprint is the AALS blueprint: 6, 9, 6, 6 and 3 items on a form of 30.
var examBlueprint = exam.Blueprint{
	"monitoring_deterioration":   0.2,
	"or_reversible_causes":       0.3,
	"resuscitation_in_or":        0.2,
	"crisis_resource_management": 0.2,
	"post_arrest_care":           0.1,
}

// examBank is a bank of 100 items, 20 per domain, every fourth one multiple-response with
// five options, the rest single-best-answer with four.
func examBank() []exam.Item {
	domains := []string{"crisis_resource_management", "monitoring_deterioration", "or_reversible_causes", "post_arrest_care", "resuscitation_in_or"}
	items := make([]exam.Item, 0, 100)
	for i := range 100 {
		it := exam.Item{ID: fmt.Sprintf("AALS-%03d", i+1), Domain: domains[i%len(domains)], Kind: exam.SingleBestAnswer,
			Options: []exam.Option{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}}, Correct: []string{"c"}}
		if i%4 == 0 {
			it.Kind = exam.MultipleResponse
			it.Options = append(it.Options, exam.Option{ID: "e"})
			it.Correct = []string{"a", "c", "e"}
		}
		items = append(items, it)
	}
	return items
}

// BenchmarkAssemble is the cost of drawing one 30-item form from a 100-item bank for a
// learner who has seen a previous form.
func BenchmarkAssemble(b *testing.B) {
	bank := examBank()
	rng := rand.New(rand.NewPCG(1, 2))
	first, err := exam.Assemble(bank, examBlueprint, 30, nil, rng)
	if err != nil {
		b.Fatal(err)
	}
	seen := map[string]bool{}
	for _, fi := range first {
		seen[fi.ItemID] = true
	}
	for b.Loop() {
		if _, err := exam.Assemble(bank, examBlueprint, 30, seen, rng); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGrade is the cost of grading a 30-item attempt with every item answered, the
// multiple-response ones with their choices out of order.
func BenchmarkGrade(b *testing.B) {
	bank := examBank()
	form, err := exam.Assemble(bank, examBlueprint, 30, nil, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		b.Fatal(err)
	}
	items := make(map[string]exam.Item, len(bank))
	for _, it := range bank {
		items[it.ID] = it
	}
	answers := make(map[string][]string, len(form))
	for i, fi := range form {
		switch it := items[fi.ItemID]; {
		case i%5 == 0:
			answers[fi.ItemID] = []string{"b"} // wrong
		case it.Kind == exam.MultipleResponse:
			answers[fi.ItemID] = []string{"e", "a", "c"}
		default:
			answers[fi.ItemID] = []string{"c"}
		}
	}
	for b.Loop() {
		if res := exam.Grade(items, form, answers, 84); res.Total != 30 {
			b.Fatalf("graded %d items, want 30", res.Total)
		}
	}
}
