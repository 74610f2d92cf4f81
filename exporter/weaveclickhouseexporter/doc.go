// Package weaveclickhouseexporter writes OpenTelemetry spans as Weave calls
// to ClickHouse: spans annotated by the weavecall processor are written as
// annotated, others are mapped on the way with the shared callmap mapping.
// See README.md for the configuration, the schema and the views.
package weaveclickhouseexporter // import "github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"

//go:generate mdatagen metadata.yaml
