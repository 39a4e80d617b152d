package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/distlings/distlings/grader/catalog"
)

// reference is set when this binary was built on the reference solution
// (solution.go).
var reference = false

// labDir is the lab whose services the demo runs.
const labDir = "06-observability"

// runReference builds this command on the reference solution, as grader
// verify does (go build -tags solution -overlay FILE), and runs it with
// the same flags. The learner's files are never touched.
func runReference(childArgs []string, stdout, stderr io.Writer) int {
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return exitFail
	}
	wb, err := catalog.FindWorkbook(cwd)
	if err != nil {
		fmt.Fprintln(stderr, "demo: -reference:", err)
		return exitUsage
	}
	overlay, err := catalog.SolutionOverlay(wb.Root, labDir)
	if err != nil {
		fmt.Fprintf(stderr, "demo: -reference: %v, so the demo can run only your own code\n", err)
		return exitUsage
	}
	dir, err := os.MkdirTemp("", "distlings-demo-")
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return exitFail
	}
	defer os.RemoveAll(dir)
	overlayFile, bin := filepath.Join(dir, "overlay.json"), filepath.Join(dir, "demo")
	if err := os.WriteFile(overlayFile, overlay, 0o600); err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return exitFail
	}
	fmt.Fprintf(stderr, "demo: building with the reference solution (solutions/%s)...\n", labDir)
	build := exec.Command("go", buildArgs(overlayFile, bin)...)
	build.Dir, build.Stdout, build.Stderr = wb.Root, stderr, stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(stderr, "demo: go build:", err)
		return exitFail
	}

	// Run the binary as a child rather than through go run, so that a
	// SIGTERM (docker stop) reaches the services and they shut down
	// gracefully; this process relays it, and waits.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	child := exec.Command(bin, childArgs...)
	child.Stdout, child.Stderr = stdout, stderr
	if err := child.Start(); err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return exitFail
	}
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()
	for {
		select {
		case s := <-sigs:
			child.Process.Signal(s)
		case err := <-done:
			var exit *exec.ExitError
			switch {
			case err == nil:
				return exitOK
			case errors.As(err, &exit) && exit.ExitCode() > 0:
				return exit.ExitCode()
			default:
				fmt.Fprintln(stderr, "demo:", err)
				return exitFail
			}
		}
	}
}

// buildArgs are the go command's arguments for the build on the solution.
func buildArgs(overlayFile, bin string) []string {
	return []string{"build", "-tags", "solution", "-overlay", overlayFile, "-o", bin, "./cmd/demo"}
}
