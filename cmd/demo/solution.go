//go:build solution

package main

// -reference builds this command with -tags solution and the reference
// solution in place of the learner's files, so the banner says so.
func init() { reference = true }
