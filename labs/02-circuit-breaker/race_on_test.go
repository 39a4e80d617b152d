//go:build race

package breaker

// raceDetector is whether the tests run under the race detector.
const raceDetector = true
