package grade

import (
	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/progress"
)

// PartState is where a learner stands on a part.
type PartState int

// Part states.
const (
	NotRun  PartState = iota
	Passed            // passed, and the files are as they were then
	Changed           // passed, but the files changed since: run it again
	Failing           // the last run failed
)

func (s PartState) String() string {
	return [...]string{"not run", "passed", "changed since it passed", "failing"}[s]
}

// Earns reports whether a part in this state counts towards the score. A
// changed part does not: the pass was earned by other code, so it counts
// again once it is run again and passes.
func (s PartState) Earns() bool { return s == Passed }

// LabView is one lab as the status screen shows it.
type LabView struct {
	Lab    *catalog.Lab
	Parts  []PartView // empty when Lab.Err is set
	Earned int
}

// PartView is one part and where the learner stands on it.
type PartView struct {
	Part   *catalog.Part
	State  PartState
	Record *progress.Part // nil if never run
}

// Passed counts the parts that earn points.
func (v *LabView) Passed() int {
	n := 0
	for _, p := range v.Parts {
		if p.State.Earns() {
			n++
		}
	}
	return n
}

// Changed reports whether some part passed but the lab's files changed
// since, so that pass may no longer hold.
func (v *LabView) Changed() bool {
	for _, p := range v.Parts {
		if p.State == Changed {
			return true
		}
	}
	return false
}

// Done reports whether every part passed with the current files.
func (v *LabView) Done() bool {
	if v.Lab.Err != nil {
		return false
	}
	for _, p := range v.Parts {
		if p.State != Passed {
			return false
		}
	}
	return true
}

// Overview is the whole workbook.
type Overview struct {
	Labs          []*LabView
	Earned, Total int
	Next          *Next    // nil when everything passed
	Notices       []string // e.g. a damaged progress file was set aside
}

// Next is the part to work on next.
type Next struct {
	Lab  *catalog.Lab
	Part *catalog.Part
	// Rerun is set when the part passed before but its files changed.
	Rerun bool
}

// Overview reads progress and says where the learner stands. It never runs
// tests and never fails on a damaged progress file.
func (g *Grader) Overview() *Overview {
	book, notices, err := g.Progress.Load()
	if err != nil {
		notices = append(notices, err.Error())
	}
	ov := &Overview{Notices: notices}
	for _, lab := range g.Catalog.Labs {
		v := g.labView(lab, book)
		ov.Labs = append(ov.Labs, v)
		if lab.Err != nil {
			continue
		}
		ov.Earned += v.Earned
		ov.Total += lab.Points()
		if ov.Next == nil {
			for _, p := range v.Parts {
				if p.State != Passed {
					ov.Next = &Next{Lab: lab, Part: p.Part, Rerun: p.State == Changed}
					break
				}
			}
		}
	}
	return ov
}

// LabView says where the learner stands on one lab.
func (g *Grader) LabView(lab *catalog.Lab) (*LabView, []string) {
	book, notices, err := g.Progress.Load()
	if err != nil {
		notices = append(notices, err.Error())
	}
	return g.labView(lab, book), notices
}

func (g *Grader) labView(lab *catalog.Lab, book *progress.Book) *LabView {
	v := &LabView{Lab: lab}
	if lab.Err != nil {
		return v
	}
	rec := book.Peek(lab.Name)
	hash := "" // computed only if some part has passed
	for _, p := range lab.Parts {
		pv := PartView{Part: p, Record: rec.Part(p.Number)}
		switch r := pv.Record; {
		case r == nil:
			pv.State = NotRun
		case r.Last != progress.Passed:
			pv.State = Failing
		default:
			if hash == "" {
				hash, _ = g.FilesHash(lab)
			}
			pv.State = Passed
			if r.PassedHash != hash {
				pv.State = Changed
			}
		}
		if pv.State.Earns() {
			v.Earned += p.Points
		}
		v.Parts = append(v.Parts, pv)
	}
	return v
}
