package textout

import (
	"fmt"

	"github.com/distlings/distlings/grader/grade"
)

// Status prints every lab, its parts passed and points, and what to do next.
func (p *Printer) Status(ov *grade.Overview) {
	p.Notices(ov.Notices)
	parts, passed := 0, 0
	for _, v := range ov.Labs {
		parts += len(v.Parts)
		passed += v.Passed()
	}
	p.printf("%s  %d/%d points · %d of %d parts passed\n\n", p.st.title.Render("distlings"), ov.Earned, ov.Total, passed, parts)
	for _, v := range ov.Labs {
		lab := v.Lab
		if lab.Err != nil {
			p.printf("  %02d %-16s %s %s\n", lab.Number, lab.Slug, p.st.bad.Render("broken:"), lab.Err)
			continue
		}
		mark := "  "
		switch {
		case v.Done():
			mark = p.st.good.Render("✓ ")
		case ov.Next != nil && ov.Next.Lab == lab:
			mark = p.st.warn.Render("→ ")
		}
		// A long slug takes its room from the title, so the row stays
		// within 80 columns.
		titleWidth := max(30-max(len(lab.Slug)-16, 0), 10)
		p.printf("%s%02d %-16s %s %d/%d parts  %7s pts\n", mark, lab.Number, lab.Slug,
			pad(cut(lab.Title, titleWidth), titleWidth), v.Passed(), len(v.Parts), fmt.Sprintf("%d/%d", v.Earned, lab.Points()))
		if v.Changed() {
			// On a line of its own: at the end of the row it would wrap.
			p.printf("     %s\n", p.st.warn.Render(fmt.Sprintf("%s: run grader test %02d again", grade.Changed, lab.Number)))
		}
	}
	p.printf("\n")
	p.next(ov.Next)
}

func (p *Printer) next(n *grade.Next) {
	if n == nil {
		p.printf("%s every part of every lab passes. Well done.\n", p.st.good.Render("Done:"))
		return
	}
	// The title is cut so the line fits in 80 columns whatever it is.
	head := fmt.Sprintf("work on lab %02d part %d, ", n.Lab.Number, n.Part.Number)
	if n.Rerun {
		head = fmt.Sprintf("run lab %02d part %d again, ", n.Lab.Number, n.Part.Number)
	}
	p.printf("%s %s%q\n", p.st.title.Render("Next:"), head, cut(n.Part.Title, 80-len("Next: ")-len(head)-2))
	if n.Rerun {
		p.printf("      %s\n", p.st.warn.Render("its files "+grade.Changed.String()))
	}
	p.printf("      edit %s/%s, then run %s\n", n.Lab.RelDir, n.Part.File,
		p.st.code.Render(fmt.Sprintf("grader test %02d %d", n.Lab.Number, n.Part.Number)))
	p.printf("      stuck? %s · the guide: %s/README.md\n", p.st.code.Render(fmt.Sprintf("grader hint %02d %d", n.Lab.Number, n.Part.Number)), n.Lab.RelDir)
}

// LabStatus prints one lab's parts.
func (p *Printer) LabStatus(v *grade.LabView) {
	lab := v.Lab
	p.printf("%s  %s\n", p.st.title.Render(fmt.Sprintf("lab %02d %s", lab.Number, lab.Slug)), lab.Title)
	for _, pv := range v.Parts {
		p.printf("  %s part %d  %-44s %d pts\n", p.state(pv.State), pv.Part.Number, cut(pv.Part.Title, 44), pv.Part.Points)
	}
}

func (p *Printer) state(s grade.PartState) string {
	switch s {
	case grade.Passed:
		return pad(p.st.good.Render("PASS"), 8)
	case grade.Changed:
		return pad(p.st.warn.Render("CHANGED"), 8)
	case grade.Failing:
		return pad(p.st.bad.Render("FAIL"), 8)
	}
	return pad(p.st.dim.Render("-"), 8)
}
