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

// ReadCall returns the record of span as the exporter writes it: the
// processor's annotation, completed with the inputs, output and attributes
// textsFn (Mapper.MapTextsTo) maps from the span itself when the
// annotation lacks them (see AnnotationKey), or else the span's own
// mapping by mapFn (Mapper.MapTo). annotated reports that the span carried
// an annotation; err is MapGuarded's, and r is then not to be used. The
// texts are written in t.
func ReadCall(mapFn, textsFn MapFunc, t *Texts, res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span) (r Record, annotated bool, err error) {
	r, annotated = t.FromAnnotation(span)
	if annotated && !r.NeedsTexts() {
		return r, true, nil
	}
	if annotated {
		mapFn = textsFn
	}
	var c Call
	if err := MapGuarded(mapFn, t, res, scope, span, &c); err != nil {
		return Record{}, annotated, err
	}
	if annotated {
		r.SetTexts(&c)
	} else {
		r = t.Record(&c)
	}
	return r, annotated, nil
}
