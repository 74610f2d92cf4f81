package callmap

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// MapFunc maps one span to its call, its JSON texts written in t (nil: an
// allocation of their own): Mapper.MapTo, or a stand-in in tests.
type MapFunc func(t *Texts, res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span) Call

// Keyed reports whether a span has the ids a call is keyed by (its trace
// and span id); a span without them has no call to be.
func Keyed(span ptrace.Span) bool { return !span.TraceID().IsEmpty() && !span.SpanID().IsEmpty() }

// MapGuarded writes mapFn's call of span to c. A panic in mapFn (a bug met
// on odd input) comes back as an error naming it, so one span cannot take
// a collector down; c is then not to be used.
func MapGuarded(mapFn MapFunc, t *Texts, res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span, c *Call) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("mapping span %s of trace %s panicked: %v", span.SpanID(), span.TraceID(), r)
		}
	}()
	*c = mapFn(t, res, scope, span)
	return nil
}
