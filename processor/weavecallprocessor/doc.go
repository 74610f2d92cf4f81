// Package weavecallprocessor turns spans into W&B Weave calls: it groups the
// spans of each trace, maps every span with internal/callmap, derives the
// trace-level fields (status with descendant_error, status counts, usage
// and cost roll-ups, thread and turn ids) and annotates each span with its
// call under the `callhouse.call` attribute before passing it on.
package weavecallprocessor // import "github.com/callhouse/callhouse/processor/weavecallprocessor"

//go:generate mdatagen metadata.yaml
