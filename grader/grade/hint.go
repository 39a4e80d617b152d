package grade

import (
	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/progress"
)

// Hint is one hint shown to the learner.
type Hint struct {
	Lab    *catalog.Lab
	Part   *catalog.Part
	Number int  // 1-based
	Last   bool // no hint after this one
	Text   string
}

// NextHint returns the next hint not yet shown for a part and remembers that
// it was shown. Part 0 means the first part that has not passed; when every
// part has passed there is nothing to hint, and the Hint is nil with no
// error: a finished lab is not a mistake. Once every hint was shown, the
// last one is shown again.
func (g *Grader) NextHint(lab *catalog.Lab, part int) (*Hint, []string, error) {
	if lab.Err != nil {
		return nil, nil, lab.Err
	}
	view, notices := g.LabView(lab)
	var p *catalog.Part
	if part != 0 {
		if p = lab.Part(part); p == nil {
			return nil, notices, &NoSuchPartError{Lab: lab, Part: part}
		}
	} else {
		for _, pv := range view.Parts {
			if pv.State != Passed {
				p = pv.Part
				break
			}
		}
		if p == nil {
			return nil, notices, nil
		}
	}
	next := func(b *progress.Book) int { return min(b.Peek(lab.Name).HintsSeen(p.Number)+1, len(p.Hints)) }
	var n int
	more, err := g.Progress.Update(func(b *progress.Book) {
		n = next(b)
		b.Lab(lab.Name).SawHint(p.Number, n)
	})
	notices = append(notices, more...)
	if err != nil {
		// The hint cannot be remembered; show the one after those recorded.
		book, more, _ := g.Progress.Load()
		notices = append(notices, more...)
		n = next(book)
		notices = append(notices, err.Error()+"; the hint will be shown again next time")
	}
	return &Hint{Lab: lab, Part: p, Number: n, Last: n == len(p.Hints), Text: p.Hints[n-1]}, notices, nil
}
