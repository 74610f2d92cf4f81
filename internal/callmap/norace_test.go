//go:build !race

package callmap

// raceEnabled: see race_test.go.
const raceEnabled = false
