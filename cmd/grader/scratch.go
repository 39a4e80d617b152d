package main

import (
	"context"
	"io"

	"github.com/distlings/distlings/grader/scratch"
)

// runClean runs the grader with the temporary folders of graders that were
// killed swept away first, and its own removed after, however it ends.
func runClean(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	scratch.Sweep() // best effort: a folder that cannot go is no reason to stop
	defer scratch.Cleanup()
	return run(ctx, args, stdout, stderr)
}
