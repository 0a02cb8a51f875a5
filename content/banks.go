package content

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/aalscert/aalscert/exam"
	"github.com/aalscert/aalscert/models"
)

// bankFiles holds the shipped question banks, one file per course (banks/aals.yaml holds the
// AALS bank).
//
//go:embed banks/*.yaml
var bankFiles embed.FS

// Bank is a course's question bank as its data file states it. The file is a mapping:
//
//	course: AALS
//	review_status: sample content for review by the program's clinical faculty
//	items:
//	  - id: AALS-001
//	    domain: monitoring_deterioration
//	    kind: single            # or multiple
//	    stem: "..."
//	    vitals: {hr: 128, bp: "74/38", spo2: 93, etco2: 14, rhythm: "...", peak_airway_pressure: 22, text: "..."}
//	    options: [{id: a, text: "..."}, ...]
//	    correct: [b]
//	    rationale: "..."
//	    retired_at: 2026-05-01  # optional: kept for history, never drawn again
//
// vitals is optional; when it is there its text (the panel read aloud) is required.
type Bank struct {
	File         string
	Course       string
	ReviewStatus string     // who is to review the content before it is used for real
	Items        []BankItem // Items[i] is row i under items, whatever is wrong with it
	problems     []BankProblem
}

// BankItem is one item of a bank file.
type BankItem struct {
	ID        string         `yaml:"id"`
	Domain    string         `yaml:"domain"`
	Kind      string         `yaml:"kind"`
	Stem      string         `yaml:"stem"`
	Vitals    *BankVitals    `yaml:"vitals"`
	Options   []BankOption   `yaml:"options"`
	Correct   []string       `yaml:"correct"`
	Rationale string         `yaml:"rationale"`
	RetiredAt *time.Time     `yaml:"-"` // from retired_at, a date
	Line      int            `yaml:"-"` // where the item starts in the file
	lines     map[string]int // where each of its keys is, so a problem points at its line
	malformed bool           // not a mapping: reported once, not field by field
}

// BankVitals is the monitor panel of an item.
type BankVitals struct {
	HR                 *int   `yaml:"hr"`
	BP                 string `yaml:"bp"`
	SpO2               *int   `yaml:"spo2"`
	ETCO2              *int   `yaml:"etco2"`
	Rhythm             string `yaml:"rhythm"`
	PeakAirwayPressure *int   `yaml:"peak_airway_pressure"`
	Text               string `yaml:"text"`
}

// BankOption is one answer choice of an item.
type BankOption struct {
	ID   string `yaml:"id"`
	Text string `yaml:"text"`
}

// BankProblem is one problem of a bank file.
type BankProblem struct {
	Row     int    // index under items, from 0; -1 for the file as a whole
	ItemID  string // the row's ID, when it has one
	Line    int    // line in the file, when known
	Field   string // within the row ("options[1].id"), or a top-level key
	Message string
}

func (p BankProblem) path() string {
	if p.Row < 0 {
		return p.Field
	}
	return strings.TrimSuffix(fmt.Sprintf("items[%d].%s", p.Row, p.Field), ".")
}

func (p BankProblem) String() string {
	where := p.Field
	if p.Row >= 0 {
		where = fmt.Sprintf("items[%d] (%s, line %d) %s", p.Row, cmp.Or(p.ItemID, "no id"), p.Line, p.Field)
	}
	if where = strings.TrimSpace(where); where == "" {
		return p.Message
	}
	return where + ": " + p.Message
}

// BankError lists every problem of a bank file. It unwraps to a *models.ValidationError
// whose fields are paths such as items[3].options[1].id, so an import answers 422 with one
// entry per problem.
type BankError struct {
	File     string
	Problems []BankProblem
}

func (e *BankError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return e.File + ": " + strings.Join(parts, "; ")
}

func (e *BankError) Unwrap() error {
	v := &models.ValidationError{}
	for _, p := range e.Problems {
		msg := p.Message
		if p.Row >= 0 {
			msg = fmt.Sprintf("%s (line %d): %s", cmp.Or(p.ItemID, "item without id"), p.Line, msg)
		}
		v.Add(p.path(), msg)
	}
	return v
}

// ParseBank reads a bank file. It fails, with a *BankError, only when the file is not a bank
// at all (not YAML, or not a mapping); every problem inside it, unknown keys and wrong types
// included, is kept for Validate, so that one run reports them all.
func ParseBank(name string, data []byte) (*Bank, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &BankError{File: name, Problems: []BankProblem{{Row: -1, Message: err.Error()}}}
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return nil, &BankError{File: name, Problems: []BankProblem{{Row: -1, Line: doc.Line,
			Message: "a bank file is a mapping of course, review_status and items"}}}
	}
	b := &Bank{File: name}
	r := reader{bank: b, row: -1}
	r.mapping(doc, "", func(key string, v *yaml.Node) bool {
		switch key {
		case "course":
			r.decode(v, key, &b.Course)
		case "review_status":
			r.decode(v, key, &b.ReviewStatus)
		case "items":
			if v.Kind != yaml.SequenceNode {
				r.add(v.Line, key, "must be a list of items")
				break
			}
			for i, n := range v.Content {
				b.Items = append(b.Items, readItem(b, i, n))
			}
		default:
			return false
		}
		return true
	})
	return b, nil
}

// reader records the problems met while reading one row (or the file, row -1).
type reader struct {
	bank *Bank
	row  int
	id   string
}

func (r reader) add(line int, field, msg string) {
	r.bank.problems = append(r.bank.problems, BankProblem{Row: r.row, ItemID: r.id, Line: line, Field: field, Message: msg})
}

func (r reader) decode(v *yaml.Node, field string, dst any) {
	if err := v.Decode(dst); err != nil {
		// The problem carries the line already.
		msg := yamlLine.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n"), "")
		r.add(v.Line, field, "has the wrong type: "+strings.ReplaceAll(msg, "\n", "; "))
	}
}

// mapping calls known for each key of n; a key it does not know (known returns false) or
// that is given twice is a problem. prefix names where n is ("vitals.").
func (r reader) mapping(n *yaml.Node, prefix string, known func(key string, v *yaml.Node) bool) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case seen[k.Value]:
			r.add(k.Line, prefix+k.Value, "is given twice")
		case !known(k.Value, v):
			r.add(k.Line, prefix+k.Value, "is not a known field")
		}
		seen[k.Value] = true
	}
}

func readItem(b *Bank, row int, n *yaml.Node) BankItem {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	it := BankItem{Line: n.Line}
	r := reader{bank: b, row: row}
	if n.Kind != yaml.MappingNode {
		r.add(n.Line, "", "must be a mapping of id, domain, kind, stem, options, correct and rationale")
		it.malformed = true
		return it
	}
	// The ID first, so that every problem of the row can name it.
	it.lines = map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if _, dup := it.lines[k.Value]; dup {
			continue
		}
		it.lines[k.Value] = k.Line
		if k.Value == "id" {
			_ = n.Content[i+1].Decode(&it.ID)
		}
	}
	r.id = it.ID
	fields := map[string]any{"id": &it.ID, "domain": &it.Domain, "kind": &it.Kind, "stem": &it.Stem,
		"vitals": &it.Vitals, "options": &it.Options, "correct": &it.Correct, "rationale": &it.Rationale}
	r.mapping(n, "", func(key string, v *yaml.Node) bool {
		switch key {
		case "retired_at":
			r.retiredAt(v, &it)
			return true
		case "vitals":
			r.nested(v, "vitals.", "hr", "bp", "spo2", "etco2", "rhythm", "peak_airway_pressure", "text")
		case "options":
			if v.Kind == yaml.SequenceNode {
				for j, o := range v.Content {
					r.nested(o, fmt.Sprintf("options[%d].", j), "id", "text")
				}
			}
		}
		dst, ok := fields[key]
		if ok {
			r.decode(v, key, dst)
		}
		return ok
	})
	return it
}

// nested reports the keys of a mapping inside an item that are not among known.
func (r reader) nested(n *yaml.Node, prefix string, known ...string) {
	if n.Kind == yaml.MappingNode {
		r.mapping(n, prefix, func(key string, _ *yaml.Node) bool { return slices.Contains(known, key) })
	}
}

func (r reader) retiredAt(v *yaml.Node, it *BankItem) {
	if v.Tag == "!!null" {
		return
	}
	t, err := time.Parse(time.DateOnly, v.Value)
	if v.Kind != yaml.ScalarNode || err != nil {
		r.add(v.Line, "retired_at", "must be a date YYYY-MM-DD")
		return
	}
	it.RetiredAt = &t
}

var yamlLine = regexp.MustCompile(`(?m)^\s*line \d+: `)

// minItemsPerDrawn is how many live items a bank holds in a domain for each item a form
// draws from it, so that a learner who retakes or renews can be given items not seen before.
const minItemsPerDrawn = 3

// idPattern is the item ID the database accepts: the course code, a hyphen and a name.
var idPattern = regexp.MustCompile(`^[A-Z]{2,10}-[A-Za-z0-9-]{1,40}$`)

// Validate checks the bank against its course and returns a *BankError listing every
// problem, row by row, with what ParseBank found: each item's fields (ID unique and starting
// with the course code, a domain of the course's blueprint, kind, 2 to 6 options with unique
// IDs, a key of options that exist, exactly one for a single-best-answer item and at least two
// for a multiple-response one, a text alternative for a vitals panel, a rationale), and
// coverage: in each domain, at least three live items for each item a form of the course
// draws from it. Problems of the file as a whole have Row -1; those of coverage, and only
// those once the file has items, have the Field "items", so an import of a few items can
// leave them out. course must not be nil.
func (b *Bank) Validate(course *models.Course) error {
	ps := slices.Clone(b.problems)
	file := func(field, msg string) { ps = append(ps, BankProblem{Row: -1, Field: field, Message: msg}) }
	switch {
	case b.Course == "":
		file("course", "is required")
	case b.Course != course.Code:
		file("course", fmt.Sprintf("is %s; this bank is checked against the course %s", b.Course, course.Code))
	}
	if strings.TrimSpace(b.ReviewStatus) == "" {
		file("review_status", "is required: say who reviews this content and where that stands")
	}
	if len(b.Items) == 0 {
		file("items", "the bank has no items")
	}
	rows := map[string]int{}
	for i := range b.Items {
		ps = append(ps, b.Items[i].check(i, course, rows)...)
	}
	ps = append(ps, b.coverage(course)...)
	if len(ps) == 0 {
		return nil
	}
	slices.SortStableFunc(ps, func(x, y BankProblem) int { return cmp.Compare(x.Row, y.Row) })
	return &BankError{File: b.File, Problems: ps}
}

// check returns the problems of the item at row; rows maps the IDs met so far to their row.
func (it *BankItem) check(row int, course *models.Course, rows map[string]int) []BankProblem {
	if it.malformed {
		return nil
	}
	var ps []BankProblem
	add := func(field, msg string) {
		ps = append(ps, BankProblem{Row: row, ItemID: it.ID, Line: it.line(field), Field: field, Message: msg})
	}
	switch first, dup := rows[it.ID]; {
	case it.ID == "":
		add("id", "is required")
	case dup:
		add("id", fmt.Sprintf("%s is also the ID of items[%d]", it.ID, first))
	case !strings.HasPrefix(it.ID, course.Code+"-"):
		add("id", fmt.Sprintf("must start with %s-", course.Code))
	case !idPattern.MatchString(it.ID):
		add("id", "must be the course code, a hyphen and up to 40 letters, digits or hyphens")
	}
	if _, dup := rows[it.ID]; !dup && it.ID != "" {
		rows[it.ID] = row
	}
	if it.Domain == "" {
		add("domain", "is required")
	} else if _, ok := course.Exam.Blueprint[it.Domain]; !ok {
		add("domain", fmt.Sprintf("%q is not a domain of the %s blueprint (%s)", it.Domain, course.Code,
			strings.Join(slices.Sorted(maps.Keys(course.Exam.Blueprint)), ", ")))
	}
	if it.Kind == "" {
		add("kind", "is required")
	} else if it.Kind != models.ItemSingle && it.Kind != models.ItemMultiple {
		add("kind", fmt.Sprintf("is %q; it must be %q or %q", it.Kind, models.ItemSingle, models.ItemMultiple))
	}
	if strings.TrimSpace(it.Stem) == "" {
		add("stem", "is required")
	}
	it.checkVitals(add)
	it.checkOptions(add)
	it.checkKey(add)
	if strings.TrimSpace(it.Rationale) == "" {
		add("rationale", "is required")
	}
	return ps
}

// line is where field's top-level key is in the file, or where the item starts when the key
// is missing.
func (it *BankItem) line(field string) int {
	key, _, _ := strings.Cut(field, ".")
	key, _, _ = strings.Cut(key, "[")
	if l, ok := it.lines[key]; ok {
		return l
	}
	return it.Line
}

func (it *BankItem) checkVitals(add func(field, msg string)) {
	v := it.Vitals
	if v == nil {
		return
	}
	if strings.TrimSpace(v.Text) == "" {
		add("vitals.text", "is required with a vitals panel: it is what a screen reader reads")
	}
	for _, f := range []struct {
		field string
		n     *int
	}{{"hr", v.HR}, {"spo2", v.SpO2}, {"etco2", v.ETCO2}, {"peak_airway_pressure", v.PeakAirwayPressure}} {
		if f.n != nil && *f.n < 0 {
			add("vitals."+f.field, "cannot be negative")
		}
	}
	if v.SpO2 != nil && *v.SpO2 > 100 {
		add("vitals.spo2", "is a percentage: at most 100")
	}
}

func (it *BankItem) checkOptions(add func(field, msg string)) {
	if n := len(it.Options); n < 2 || n > 6 {
		add("options", fmt.Sprintf("has %d options; an item has 2 to 6", n))
	}
	at := map[string]int{}
	for j, o := range it.Options {
		field := fmt.Sprintf("options[%d]", j)
		if first, dup := at[o.ID]; dup && o.ID != "" {
			add(field+".id", fmt.Sprintf("%s is also the ID of options[%d]", o.ID, first))
		} else if strings.TrimSpace(o.ID) == "" {
			add(field+".id", "is required")
		} else {
			at[o.ID] = j
		}
		if strings.TrimSpace(o.Text) == "" {
			add(field+".text", "is required")
		}
	}
}

func (it *BankItem) checkKey(add func(field, msg string)) {
	key := map[string]bool{}
	for _, c := range it.Correct {
		switch {
		case key[c]:
			add("correct", fmt.Sprintf("lists %q twice", c))
		case !slices.ContainsFunc(it.Options, func(o BankOption) bool { return o.ID == c }):
			add("correct", fmt.Sprintf("names %q, which is not an option of the item", c))
		}
		key[c] = true
	}
	switch n := len(key); {
	case n == 0:
		add("correct", "is required")
	case it.Kind == models.ItemSingle && n != 1:
		add("correct", fmt.Sprintf("names %d options; a single-best-answer item has exactly 1", n))
	case it.Kind == models.ItemMultiple && n < 2:
		add("correct", fmt.Sprintf("names %d option; a multiple-response item has at least 2", n))
	}
}

// coverage checks that each domain has enough live items for the course's forms.
func (b *Bank) coverage(course *models.Course) []BankProblem {
	alloc, err := exam.Allocate(exam.Blueprint(course.Exam.Blueprint), course.Exam.Questions)
	if err != nil {
		return []BankProblem{{Row: -1, Field: "course", Message: fmt.Sprintf("the exam settings of %s cannot make a form: %v", course.Code, err)}}
	}
	live := map[string]int{}
	for _, it := range b.Items {
		if it.RetiredAt == nil {
			live[it.Domain]++
		}
	}
	var ps []BankProblem
	for _, d := range slices.Sorted(maps.Keys(alloc)) {
		if need := minItemsPerDrawn * alloc[d]; live[d] < need {
			ps = append(ps, BankProblem{Row: -1, Field: "items", Message: fmt.Sprintf(
				"domain %s has %d live items; a form of %d questions draws %d from it, so the bank needs at least %d",
				d, live[d], course.Exam.Questions, alloc[d], need)})
		}
	}
	return ps
}

// ModelItems returns the bank's items as stored, in file order, for seeding and import. Call
// it on a bank that validated.
func (b *Bank) ModelItems() []models.Item {
	out := make([]models.Item, len(b.Items))
	for i, it := range b.Items {
		m := models.Item{ID: it.ID, CourseCode: b.Course, Domain: it.Domain, Kind: it.Kind,
			Stem: strings.TrimSpace(it.Stem), Rationale: strings.TrimSpace(it.Rationale),
			Correct: slices.Clone(it.Correct), RetiredAt: it.RetiredAt}
		for _, o := range it.Options {
			m.Options = append(m.Options, models.ItemOption{ID: o.ID, Text: strings.TrimSpace(o.Text)})
		}
		if v := it.Vitals; v != nil {
			m.Vitals = &models.Vitals{HR: v.HR, BP: v.BP, SpO2: v.SpO2, ETCO2: v.ETCO2, Rhythm: v.Rhythm,
				PeakAirwayPressure: v.PeakAirwayPressure, Text: strings.TrimSpace(v.Text)}
		}
		out[i] = m
	}
	return out
}

// Banks returns every shipped bank, each parsed and validated against its course, ordered by
// course code.
func Banks() ([]*Bank, error) {
	courses, err := Courses()
	if err != nil {
		return nil, err
	}
	return LoadBanks(bankFiles, courses)
}

// LoadBanks parses every banks/*.yaml file of fsys and validates each against its course
// (banks/aals.yaml holds the bank of AALS). It returns one error listing every bad file with
// its problems, a bank file whose course is not in courses, and a course without a bank file,
// whose exam could not be drawn.
func LoadBanks(fsys fs.FS, courses []*models.Course) ([]*Bank, error) {
	names, err := fs.Glob(fsys, "banks/*.yaml")
	if err != nil {
		return nil, err
	}
	byCode := map[string]*models.Course{}
	for _, c := range courses {
		byCode[c.Code] = c
	}
	var out []*Bank
	var errs []error
	for _, name := range names {
		b, err := loadBank(fsys, name, byCode)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, b)
	}
	for _, code := range slices.Sorted(maps.Keys(byCode)) {
		errs = append(errs, fmt.Errorf("content: course %s has no bank (banks/%s.yaml)", code, strings.ToLower(code)))
	}
	slices.SortFunc(out, func(a, b *Bank) int { return strings.Compare(a.Course, b.Course) })
	return out, errors.Join(errs...)
}

func loadBank(fsys fs.FS, name string, courses map[string]*models.Course) (*Bank, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	b, err := ParseBank(name, data)
	if err != nil {
		return nil, err
	}
	code := strings.ToUpper(strings.TrimSuffix(path.Base(name), path.Ext(name)))
	course := courses[code]
	if course == nil {
		return nil, fmt.Errorf("%s: there is no course %s for this bank", name, code)
	}
	// A bank stating another course is caught by Validate: it is checked against the course
	// its file name names.
	delete(courses, code)
	if err := b.Validate(course); err != nil {
		return nil, err
	}
	return b, nil
}
