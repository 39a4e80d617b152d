package main

import (
	"fmt"

	"github.com/distlings/distlings/grader/release"
)

const releaseHelp = `
Writes a student release of this workbook into DIR, a new or empty
folder: everything but the reference solutions and their wrong variants
and the maintainers' CI. Its README says what works there. Nothing is
overwritten.
`

func (c *cli) release(args []string) int {
	pos, err := parse(c.flags("release"), args)
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 {
		return c.usageError("release", "name the folder to write the release into, e.g. grader release ../course-copy")
	}
	g, code := c.open()
	if g == nil {
		return code
	}
	if !g.Workbook.HasSolutions() {
		c.errOut.Error(fmt.Errorf("this copy of the workbook is already a student release (it has no solutions/ folder): make releases from the maintainers' copy"))
		return exitUsage
	}
	n, err := release.Write(g.Workbook, pos[0])
	if err != nil {
		c.errOut.Error(fmt.Errorf("no release written: %w", err))
		return exitUsage
	}
	fmt.Fprintf(c.stdout, "wrote a student release of %d files to %s\n", n, pos[0])
	return exitOK
}
