// Package integration tests the weaveclickhouse exporter against a real
// ClickHouse: the embedded server (internal/embeddedch) started once for the
// test binary, plus child servers the tests stop and start themselves.
package integration
