//go:build race

package callmap

// raceEnabled: built with -race, where sync.Pool drops some of what is put
// back (the mapper's pooled state among it) and allocation counts mean
// nothing; the non-race run asserts them.
const raceEnabled = true
