package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/distlings/distlings/grader/catalog"
)

// solutionTag is the build tag of solution files (grader/verify.Tag).
const solutionTag = "solution"

// runSolution runs this command again on the reference solution:
//
//	go run -tags solution -overlay FILE ./cmd/raftrun FLAGS
//
// where FILE compiles solutions/LAB/*.go in place of the lab's files, as
// grader verify does. The learner's node.go is never touched.
func runSolution(opts options, stdin io.Reader, stdout, stderr io.Writer) int {
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(stderr, "raftrun:", err)
		return exitFail
	}
	wb, err := catalog.FindWorkbook(cwd)
	if err != nil {
		fmt.Fprintln(stderr, "raftrun: -solution:", err)
		return exitUsage
	}
	overlay, err := overlayJSON(wb.Root, opts.lab.dir)
	if err != nil {
		fmt.Fprintln(stderr, "raftrun:", err)
		return exitUsage
	}
	f, err := os.CreateTemp("", "raftrun-overlay-*.json")
	if err != nil {
		fmt.Fprintln(stderr, "raftrun:", err)
		return exitFail
	}
	defer os.Remove(f.Name())
	_, err = f.Write(overlay)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(stderr, "raftrun:", err)
		return exitFail
	}

	cmd := exec.Command("go", solutionArgs(f.Name(), opts.childArgs)...)
	cmd.Dir = wb.Root // for ./cmd/raftrun
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	fmt.Fprintf(stderr, "raftrun: building lab %s with the reference solution (solutions/%s)...\n", opts.lab.names[0], opts.lab.dir)
	// No context: Ctrl-C reaches the child from the terminal too, and it
	// closes its cluster and exits; this process only waits for it, while
	// main's signal handler keeps the interrupt from killing it first.
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return exit.ExitCode()
	default:
		fmt.Fprintln(stderr, "raftrun: go run:", err)
		return exitFail
	}
}

// solutionArgs are the go command's arguments for the run on the solution.
func solutionArgs(overlayFile string, childArgs []string) []string {
	return append([]string{"run", "-tags", solutionTag, "-overlay", overlayFile, "./cmd/raftrun"}, childArgs...)
}

// overlayJSON is the -overlay file that builds labDir on its reference
// solution (catalog.SolutionOverlay).
func overlayJSON(root, labDir string) ([]byte, error) {
	data, err := catalog.SolutionOverlay(root, labDir)
	if err != nil {
		return nil, fmt.Errorf("-solution: %w, so raftrun can run only your own code", err)
	}
	return data, nil
}
