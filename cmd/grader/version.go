package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

func (c *cli) version(args []string) int {
	pos, err := parse(c.flags("version"), args)
	if err != nil {
		return exitUsage
	}
	if len(pos) > 0 {
		return c.usageError("version", "takes no arguments")
	}
	info, _ := debug.ReadBuildInfo() // nil in a binary built without modules
	fmt.Fprintf(c.stdout, "grader %s, built with %s for %s/%s\n", version(info), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}

// version says which grader this is, for a bug report: the module's version
// when it was installed from a release, otherwise "(devel)" and the commit
// it was built from, when the build recorded one.
func version(info *debug.BuildInfo) string {
	if info == nil {
		return "(unknown version)"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	v := "(devel)"
	if rev != "" {
		v += ", commit " + rev[:min(len(rev), 12)]
		if modified == "true" {
			v += " with uncommitted changes"
		}
	}
	return v
}
