//go:build race

package lockstep

// RaceDetector is whether the code runs under the race detector.
const RaceDetector = true
