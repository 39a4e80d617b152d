//go:build race

package proc

const raceOn = true
