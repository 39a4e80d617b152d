//go:build solution

package main

// -solution builds this command with -tags solution and the reference
// node.go in place of the learner's, so the banner and hint say so.
func init() { reference = true }
