//go:build !unix

package proc

import (
	"context"
	"os/exec"
)

// start runs the program directly: without process groups, killing it
// alone is the best that can be done, and there is no memory limit.
func start(ctx context.Context, s Spec, p *Process) (func() Exit, error) {
	cmd := exec.CommandContext(ctx, s.Path, s.Args...)
	cmd.Env = environ(s)
	cmd.Dir = s.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.Stdin, s.Stdout, s.Stderr
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.stop = func() { cmd.Process.Kill() }
	return func() Exit {
		err := cmd.Wait()
		e := Exit{Code: cmd.ProcessState.ExitCode()}
		if err != nil && e.Code == 0 {
			e.Leftovers = true // exited, but something kept its output open
		}
		return e
	}, nil
}
