package content_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/aalscert/aalscert/content"
	"github.com/aalscert/aalscert/exam"
	"github.com/aalscert/aalscert/models"
)

// TestShippedBanksValidate checks the banks the product ships: every one parses and
// validates against its course, each course has one of at least 100 items marked for
// review, and three attempts in a row can each be given items the learner has not seen.
func TestShippedBanksValidate(t *testing.T) {
	t.Parallel()
	banks, err := content.Banks()
	if err != nil {
		t.Fatalf("shipped banks: %v", err)
	}
	courses, err := content.Courses()
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string]*content.Bank{}
	for _, b := range banks {
		byCode[b.Course] = b
	}
	for _, c := range courses {
		t.Run(c.Code, func(t *testing.T) {
			t.Parallel()
			b := byCode[c.Code]
			if b == nil {
				t.Fatalf("no bank for %s", c.Code)
			}
			if len(b.Items) < 100 {
				t.Errorf("%d items, want at least 100", len(b.Items))
			}
			if !strings.Contains(b.ReviewStatus, "review") {
				t.Errorf("review_status = %q, want it to mark the content for review", b.ReviewStatus)
			}
			items := b.ModelItems()
			seen := map[string]bool{}
			rng := rand.New(rand.NewPCG(4, 4))
			for attempt := 1; attempt <= 3; attempt++ {
				form, err := exam.Assemble(examItems(items), exam.Blueprint(c.Exam.Blueprint), c.Exam.Questions, seen, rng)
				if err != nil {
					t.Fatalf("attempt %d: %v", attempt, err)
				}
				for _, fi := range form {
					if seen[fi.ItemID] {
						t.Fatalf("attempt %d drew %s again although the bank holds 3 items per item drawn", attempt, fi.ItemID)
					}
					seen[fi.ItemID] = true
				}
			}
		})
	}
}

func examItems(items []models.Item) []exam.Item {
	out := make([]exam.Item, 0, len(items))
	for _, it := range items {
		if it.RetiredAt != nil {
			continue
		}
		e := exam.Item{ID: it.ID, Domain: it.Domain, Kind: it.Kind, Correct: it.Correct}
		for _, o := range it.Options {
			e.Options = append(e.Options, exam.Option{ID: o.ID, Text: o.Text})
		}
		out = append(out, e)
	}
	return out
}

// testCourse draws 1 item from each of two domains, so a bank needs 3 live items in each.
func testCourse(code string) *models.Course {
	return &models.Course{Code: code, Exam: models.ExamSettings{Questions: 2, PassPercent: 84,
		Blueprint: map[string]float64{"monitoring_deterioration": 0.5, "post_arrest_care": 0.5}}}
}

// validBank is a well-formed bank for testCourse("AALS"); the broken cases edit it. Rows:
// 0 AALS-001 (vitals), 1 AALS-002, 2 AALS-003 monitoring; 3 AALS-004, 4 AALS-005 (multiple),
// 5 AALS-006 post-arrest care.
const validBank = `course: AALS
review_status: sample content for review by the program's clinical faculty
items:
  - id: AALS-001
    domain: monitoring_deterioration
    kind: single
    stem: "Under general anesthesia the ETCO2 falls from 38 to 14 mmHg within a minute. What comes first?"
    vitals: {hr: 128, bp: "74/38", spo2: 93, etco2: 14, rhythm: sinus tachycardia, peak_airway_pressure: 22, text: "HR 128, BP 74/38, SpO2 93%, ETCO2 14 mmHg"}
    options: [{id: a, text: Raise the fresh gas flow}, {id: b, text: Check for a pulse}, {id: c, text: Deepen the anesthetic}]
    correct: [b]
    rationale: A sudden fall in ETCO2 with hypotension means low cardiac output until shown otherwise.
  - id: AALS-002
    domain: monitoring_deterioration
    kind: single
    stem: Peak airway pressure rises from 22 to 45 cmH2O with a falling SpO2. What is checked first?
    options: [{id: a, text: The tube and circuit}, {id: b, text: The blood pressure cuff}]
    correct: [a]
    rationale: A rising airway pressure points to the airway, the circuit or the lungs.
  - id: AALS-003
    domain: monitoring_deterioration
    kind: single
    stem: Which waveform change comes first when cardiac output falls?
    options: [{id: a, text: Falling ETCO2}, {id: b, text: Rising SpO2}, {id: c, text: Rising heart rate variability}]
    correct: [a]
    rationale: ETCO2 follows pulmonary blood flow.
  - id: AALS-004
    domain: post_arrest_care
    kind: single
    stem: After return of circulation in the OR, what blood pressure is aimed for?
    options: [{id: a, text: A mean arterial pressure of at least 65 mmHg}, {id: b, text: A systolic pressure under 80 mmHg}]
    correct: [a]
    rationale: Hypotension after arrest worsens outcome.
  - id: AALS-005
    domain: post_arrest_care
    kind: multiple
    stem: Which belong in care after return of circulation? Choose all that apply.
    options: [{id: a, text: A 12-lead ECG}, {id: b, text: Avoiding hypoxemia}, {id: c, text: Routine hyperventilation}, {id: d, text: Temperature control}]
    correct: [a, b, d]
    rationale: Hyperventilation lowers cerebral blood flow.
  - id: AALS-006
    domain: post_arrest_care
    kind: single
    stem: Who leads the handover to the intensive care team?
    options: [{id: a, text: The team leader}, {id: b, text: Whoever is free}]
    correct: [a]
    rationale: One leader gives one structured handover.
`

func TestValidBank(t *testing.T) {
	t.Parallel()
	b, err := content.ParseBank("banks/aals.yaml", []byte(validBank))
	if err != nil {
		t.Fatalf("ParseBank: %v", err)
	}
	if err := b.Validate(testCourse("AALS")); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	items := b.ModelItems()
	if len(items) != 6 {
		t.Fatalf("got %d items, want 6", len(items))
	}
	first := items[0]
	if first.ID != "AALS-001" || first.CourseCode != "AALS" || first.Kind != models.ItemSingle ||
		len(first.Options) != 3 || first.Options[1] != (models.ItemOption{ID: "b", Text: "Check for a pulse"}) ||
		!slices.Equal(first.Correct, []string{"b"}) || first.RetiredAt != nil || !strings.HasPrefix(first.Rationale, "A sudden fall") {
		t.Errorf("items[0] = %+v", first)
	}
	if v := first.Vitals; v == nil || *v.HR != 128 || v.BP != "74/38" || *v.SpO2 != 93 || *v.ETCO2 != 14 ||
		*v.PeakAirwayPressure != 22 || v.Rhythm != "sinus tachycardia" || !strings.HasPrefix(v.Text, "HR 128") {
		t.Errorf("items[0].Vitals = %+v", v)
	}
	// An explicit null (as a JSON import may send) is no retirement.
	notRetired := strings.Replace(validBank, "    kind: single\n    stem: Which", "    retired_at: null\n    kind: single\n    stem: Which", 1)
	if err := parseAndValidate(t, notRetired); err != nil {
		t.Errorf("retired_at: null: %v", err)
	}
	if items[1].Vitals != nil || !slices.Equal(items[4].Correct, []string{"a", "b", "d"}) || items[4].Kind != models.ItemMultiple {
		t.Errorf("items[1] = %+v, items[4] = %+v", items[1], items[4])
	}
}

func TestBrokenBankIsRejected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		old, new  string
		wantRow   int // -1: the file as a whole
		wantID    string
		wantField string
	}{
		{"UnknownTopKey", "review_status:", "reviewer: dr x\nreview_status:", -1, "", "reviewer"},
		{"UnknownItemKey", "    stem: Peak airway", "    stme: Peak airway", 1, "AALS-002", "stme"},
		{"UnknownVitalsKey", "spo2: 93", "sp02: 93", 0, "AALS-001", "vitals.sp02"},
		{"UnknownOptionKey", "{id: c, text: Deepen", "{id: c, txt: Deepen", 0, "AALS-001", "options[2].txt"},
		{"KeyGivenTwice", "    kind: multiple\n", "    kind: multiple\n    kind: single\n", 4, "AALS-005", "kind"},
		{"WrongType", "hr: 128", "hr: fast", 0, "AALS-001", "vitals"},
		{"ItemNotAMapping", "  - id: AALS-006", "  - just a sentence\n  - id: AALS-006", 5, "", ""},
		{"MissingID", "  - id: AALS-004\n", "  -\n", 3, "", "id"},
		{"MissingStem", "    stem: Who leads the handover to the intensive care team?\n", "", 5, "AALS-006", "stem"},
		{"BlankStem", "stem: Who leads the handover to the intensive care team?", "stem: \"  \"", 5, "AALS-006", "stem"},
		{"MissingRationale", "    rationale: Hypotension after arrest worsens outcome.\n", "", 3, "AALS-004", "rationale"},
		{"DuplicateID", "id: AALS-003", "id: AALS-002", 2, "AALS-002", "id"},
		{"IDOfAnotherCourse", "id: AALS-004", "id: ACLS-004", 3, "ACLS-004", "id"},
		{"IDWithSpace", "id: AALS-004", "id: AALS-00 4", 3, "AALS-00 4", "id"},
		{"MissingDomain", "    domain: post_arrest_care\n    kind: multiple", "    kind: multiple", 4, "AALS-005", "domain"},
		{"DomainNotInBlueprint", "    domain: post_arrest_care\n    kind: multiple", "    domain: post_arrest\n    kind: multiple", 4, "AALS-005", "domain"},
		{"BadKind", "    kind: single\n    stem: Peak", "    kind: true_false\n    stem: Peak", 1, "AALS-002", "kind"},
		{"OneOption", "[{id: a, text: The team leader}, {id: b, text: Whoever is free}]", "[{id: a, text: The team leader}]", 5, "AALS-006", "options"},
		{"SevenOptions", "[{id: a, text: The team leader}, {id: b, text: Whoever is free}]",
			"[{id: a, text: A}, {id: b, text: B}, {id: c, text: C}, {id: d, text: D}, {id: e, text: E}, {id: f, text: F}, {id: g, text: G}]", 5, "AALS-006", "options"},
		{"DuplicateOptionID", "{id: b, text: Whoever is free}", "{id: a, text: Whoever is free}", 5, "AALS-006", "options[1].id"},
		{"EmptyOptionID", "{id: a, text: The team leader}", "{id: \"\", text: The team leader}", 5, "AALS-006", "options[0].id"},
		{"EmptyOptionText", "{id: b, text: Whoever is free}", "{id: b, text: \"\"}", 5, "AALS-006", "options[1].text"},
		{"CorrectNotAnOption", "    correct: [a, b, d]", "    correct: [a, b, e]", 4, "AALS-005", "correct"},
		{"CorrectMissing", "    correct: [b]\n", "", 0, "AALS-001", "correct"},
		{"SingleWithTwoCorrect", "    correct: [b]", "    correct: [a, b]", 0, "AALS-001", "correct"},
		{"MultipleWithOneCorrect", "    correct: [a, b, d]", "    correct: [a]", 4, "AALS-005", "correct"},
		{"CorrectTwice", "    correct: [a, b, d]", "    correct: [a, b, b]", 4, "AALS-005", "correct"},
		{"VitalsWithoutText", `, text: "HR 128, BP 74/38, SpO2 93%, ETCO2 14 mmHg"}`, "}", 0, "AALS-001", "vitals.text"},
		{"SpO2Over100", "spo2: 93", "spo2: 930", 0, "AALS-001", "vitals.spo2"},
		{"BadRetiredDate", "    kind: single\n    stem: Which", "    retired_at: last spring\n    kind: single\n    stem: Which", 2, "AALS-003", "retired_at"},
		{"RetiringLeavesTooFew", "    kind: single\n    stem: Which", "    retired_at: 2026-05-01\n    kind: single\n    stem: Which", -1, "", "items"},
		{"OtherCourse", "course: AALS", "course: ACLS", -1, "", "course"},
		{"MissingCourse", "course: AALS\n", "", -1, "", "course"},
		{"MissingReviewStatus", "review_status: sample content for review by the program's clinical faculty\n", "", -1, "", "review_status"},
		{"ItemsNotAList", "items:\n", "items: none\nold_items:\n", -1, "", "items"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			broken := strings.Replace(validBank, tc.old, tc.new, 1)
			if broken == validBank {
				t.Fatal("case did not change the file")
			}
			err := parseAndValidate(t, broken)
			var be *content.BankError
			if !errors.As(err, &be) {
				t.Fatalf("err = %v, want a BankError", err)
			}
			for _, p := range be.Problems {
				if p.Row == tc.wantRow && p.ItemID == tc.wantID && p.Field == tc.wantField {
					return
				}
			}
			t.Fatalf("problems %q, want one at row %d (%q) field %q", be.Problems, tc.wantRow, tc.wantID, tc.wantField)
		})
	}
}

func parseAndValidate(t *testing.T, file string) error {
	t.Helper()
	b, err := content.ParseBank("banks/aals.yaml", []byte(file))
	if err != nil {
		return err
	}
	return b.Validate(testCourse("AALS"))
}

// TestBankReportsEveryProblemAtOnce breaks a file in several places, unknown keys included,
// and expects every problem in one error, the file's first and then row by row, each with its
// row, ID, line and field.
func TestBankReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	broken := validBank
	for _, edit := range [][2]string{
		{"course: AALS", "course: AALS\nauthor: someone"},                                   // file: unknown key
		{"    correct: [b]", "    correct: [e]"},                                            // row 0
		{"    stem: Which waveform", "    stme: Which waveform"},                            // row 2: unknown key and no stem
		{"id: AALS-005", "id: AALS-001"},                                                    // row 4: duplicate
		{"    rationale: One leader gives one structured handover.\n", "    tags: [crm]\n"}, // row 5
	} {
		broken = strings.Replace(broken, edit[0], edit[1], 1)
	}
	err := parseAndValidate(t, broken)
	var be *content.BankError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a BankError", err)
	}
	type where struct {
		row   int
		id    string
		field string
	}
	var got []where
	for _, p := range be.Problems {
		got = append(got, where{p.Row, p.ItemID, p.Field})
	}
	want := []where{
		{-1, "", "author"},
		{0, "AALS-001", "correct"},
		{2, "AALS-003", "stme"},
		{2, "AALS-003", "stem"},
		{4, "AALS-001", "id"},
		{5, "AALS-006", "tags"},
		{5, "AALS-006", "rationale"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("problems at\n%v\nwant\n%v\n(%v)", got, want, err)
	}
	msg := err.Error()
	for _, s := range []string{"banks/aals.yaml: ", "items[2] (AALS-003, line 23) stme: is not a known field", "items[2] (AALS-003, line 20) stem: is required", "items[0] (AALS-001, line 11) correct: names \"e\"", "items[4] (AALS-001, line 34) id: AALS-001 is also the ID of items[0]"} {
		if !strings.Contains(msg, s) {
			t.Errorf("err = %q, want it to contain %q", msg, s)
		}
	}
}

// TestBankErrorIsAValidationError: an import handler answers 422 with one entry per problem.
func TestBankErrorIsAValidationError(t *testing.T) {
	t.Parallel()
	err := parseAndValidate(t, strings.Replace(validBank, "    correct: [a, b, d]", "    correct: [a]", 1))
	var ve *models.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("err = %v, want a ValidationError wrapping ErrInvalid", err)
	}
	if len(ve.Fields) != 1 || ve.Fields[0].Field != "items[4].correct" || !strings.HasPrefix(ve.Fields[0].Message, "AALS-005 (line ") {
		t.Fatalf("fields = %+v, want items[4].correct naming AALS-005", ve.Fields)
	}
}

func TestParseBankRejectsWhatIsNotABank(t *testing.T) {
	t.Parallel()
	for name, file := range map[string]string{
		"Empty":     "",
		"NotYAML":   "course: [AALS\n",
		"AList":     "- id: AALS-001\n- id: AALS-002\n",
		"AScalar":   "just words",
		"TwoTopKey": "course: AALS\ncourse: ACLS\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := parseAndValidate(t, file)
			var be *content.BankError
			if !errors.As(err, &be) || !strings.HasPrefix(err.Error(), "banks/aals.yaml: ") {
				t.Fatalf("err = %v, want a BankError naming the file", err)
			}
		})
	}
}

func TestLoadBanks(t *testing.T) {
	t.Parallel()
	aals, acls := testCourse("AALS"), testCourse("ACLS")
	fsys := fstest.MapFS{
		"banks/aals.yaml": {Data: []byte(validBank)},
		// States AALS in the ACLS file, with ACLS-less IDs.
		"banks/acls.yaml": {Data: []byte(validBank)},
		"banks/bls.yaml":  {Data: []byte(strings.ReplaceAll(validBank, "AALS", "BLS"))},
	}
	banks, err := content.LoadBanks(fsys, []*models.Course{aals, acls})
	if err == nil {
		t.Fatal("LoadBanks accepted broken files")
	}
	for _, want := range []string{"banks/acls.yaml: course: is AALS; this bank is checked against the course ACLS", "id: must start with ACLS-", "banks/bls.yaml: there is no course BLS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to mention %q", err, want)
		}
	}
	if len(banks) != 1 || banks[0].Course != "AALS" {
		t.Errorf("banks = %v, want the valid AALS bank", banks)
	}

	_, err = content.LoadBanks(fstest.MapFS{"banks/aals.yaml": {Data: []byte(validBank)}}, []*models.Course{aals, acls})
	if err == nil || !strings.Contains(err.Error(), "course ACLS has no bank (banks/acls.yaml)") {
		t.Errorf("err = %v, want the course without a bank named", err)
	}
}
