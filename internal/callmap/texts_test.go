package callmap

import (
	"strings"
	"testing"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

func appendText(s string) func([]byte) []byte {
	return func(b []byte) []byte { return append(b, s...) }
}

// follows reports whether b's bytes start right after a's in memory.
func follows(a, b string) bool {
	return uintptr(unsafe.Pointer(unsafe.StringData(a)))+uintptr(len(a)) == uintptr(unsafe.Pointer(unsafe.StringData(b)))
}

// TestTexts checks what Texts promises: every text reads back as written,
// texts that fit share a chunk (written in place, one after the other), a
// text too large for the chunk's room gets an exact allocation of its own
// and leaves the room to the next one, and a nil Texts allocates each.
func TestTexts(t *testing.T) {
	long := strings.Repeat("x", textChunk+1)
	tests := []struct {
		name  string
		texts []string
		// adjacent[i]: text i directly follows the last non-empty text before it in memory
		adjacent []bool
	}{
		{"small texts share a chunk", []string{`{"a":1}`, `{"b":2}`, `{"c":3}`}, []bool{false, true, true}},
		{"a text longer than a chunk stands alone", []string{`{"a":1}`, long, `{"b":2}`}, []bool{false, false, false}},
		{"the room is kept after a long text", []string{`{"a":1}`, long, `{"b":2}`, `{"c":3}`}, []bool{false, false, false, true}},
		{"empty texts take nothing", []string{`{"a":1}`, "", `{"b":2}`}, []bool{false, false, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var texts Texts
			got := make([]string, len(tc.texts))
			for i, s := range tc.texts {
				got[i] = texts.text(appendText(s))
				if got[i] != s {
					t.Fatalf("text %d = %.40q, want %.40q", i, got[i], s)
				}
			}
			// the text after an empty one follows the one before it
			prev := ""
			for i, s := range got {
				if s == "" {
					continue
				}
				if adj := prev != "" && follows(prev, s); adj != tc.adjacent[i] {
					t.Errorf("text %d follows the previous one in memory: %v, want %v", i, adj, tc.adjacent[i])
				}
				prev = s
			}
			// later texts do not overwrite earlier ones
			for i, s := range got {
				if s != tc.texts[i] {
					t.Errorf("text %d changed to %.40q", i, s)
				}
			}
		})
	}
}

// TestTextsAllocations: a nil Texts gives each text an allocation of its
// own; a Texts shares one chunk among many.
func TestTextsAllocations(t *testing.T) {
	const text = `{"usage":{"gpt-4o":{"requests":1}}}`
	var none *Texts
	if n := testing.AllocsPerRun(100, func() {
		if none.text(appendText(text)) != text {
			t.Fatal("wrong text")
		}
	}); n != 1 {
		t.Errorf("nil Texts: %v allocations per text, want 1", n)
	}
	var shared Texts
	if n := testing.AllocsPerRun(100, func() {
		if shared.text(appendText(text)) != text {
			t.Fatal("wrong text")
		}
	}); n >= 0.1 {
		t.Errorf("Texts: %v allocations per text, want one per chunk (< 0.1)", n)
	}
}

// TestTextsReset: after Reset the next text is written where the chunk's
// first text was (no new chunk), and a reset Texts without a chunk yet
// works as a new one.
func TestTextsReset(t *testing.T) {
	var texts Texts
	texts.Reset()
	first := texts.text(appendText(`{"a":1}`))
	_ = texts.text(appendText(`{"b":2}`))
	texts.Reset()
	again := texts.text(appendText(`{"c":3}`))
	if again != `{"c":3}` {
		t.Fatalf("text after Reset = %q", again)
	}
	if unsafe.StringData(again) != unsafe.StringData(first) {
		t.Error("the text after Reset is not at the start of the chunk")
	}
	if n := testing.AllocsPerRun(100, func() {
		texts.Reset()
		_ = texts.text(appendText(`{"d":4}`))
	}); n != 0 {
		t.Errorf("%v allocations per Reset and text, want 0", n)
	}
}

// TestTextsRecordAndAnnotate: records and annotations written in a Texts,
// read back with their ids in one, and calls mapped into one (MapTo) are
// the same as with separate allocations, and stay so while more are
// written after them.
func TestTextsRecordAndAnnotate(t *testing.T) {
	m := benchMapper(t)
	res, scope, span := realisticSpan()
	c := m.Map(res, scope, span)
	want := c.ToRecord()
	var texts Texts
	var mapped []Call
	for i := 0; i < 100; i++ { // past a chunk
		mapped = append(mapped, m.MapTo(&texts, res, scope, span))
		r := texts.Record(&c)
		if r != want {
			t.Fatalf("record %d differs:\n%+v\nwant\n%+v", i, r, want)
		}
		texts.Annotate(span, &r)
		for _, read := range []func(ptrace.Span) (Record, bool){FromAnnotation, texts.FromAnnotation} {
			back, ok := read(span)
			if !ok || back != want {
				t.Fatalf("annotation %d read back as %+v (ok %v)", i, back, ok)
			}
		}
	}
	for i := range mapped {
		if r := mapped[i].ToRecord(); r != want {
			t.Fatalf("call %d mapped into the Texts:\n%+v\nwant\n%+v", i, r, want)
		}
	}
}

// TestRecycledTexts: a recycled Texts's Reset gives back every chunk it
// filled, so a block of texts larger than a chunk, written again after
// each Reset, allocates nothing once the first block has made the chunks;
// the texts read back as written. A plain Texts reuses its last chunk only.
func TestRecycledTexts(t *testing.T) {
	text := []byte(strings.Repeat("y", 3000)) // ten to a chunk, so a block of 40 fills four
	block := func(texts *Texts) {
		for range 40 {
			if got := texts.bytes(text); string(got) != string(text) {
				t.Fatalf("text = %.20q…, want %.20q…", got, text)
			}
		}
		texts.Reset()
	}
	for _, tc := range []struct {
		name  string
		texts *Texts
		want  float64 // allocations per block, after the first
	}{
		{"recycled", NewRecycledTexts(), 0},
		{"plain", new(Texts), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			block(tc.texts)
			if n := testing.AllocsPerRun(20, func() { block(tc.texts) }); n != tc.want {
				t.Errorf("%v allocations per block, want %v", n, tc.want)
			}
		})
	}
}

// TestTextsBytes: bytes copies into the chunk (the next copy follows it in
// memory), a copy too long to share a chunk and a nil Texts's copy are
// allocations of their own; the capacity of a copy ends with it, so an
// append to it cannot write over the next.
func TestTextsBytes(t *testing.T) {
	small, long := []byte(`{"a":1}`), []byte(strings.Repeat("z", textChunk/4+1))
	var texts Texts
	a, b := texts.bytes(small), texts.bytes(small)
	if string(a) != string(small) || string(b) != string(small) || cap(a) != len(a) {
		t.Fatalf("copies %q %q (cap %d)", a, b, cap(a))
	}
	view := func(b []byte) string { return unsafe.String(&b[0], len(b)) }
	if !follows(view(a), view(b)) {
		t.Error("the second copy does not follow the first in the chunk")
	}
	l := texts.bytes(long)
	if string(l) != string(long) || follows(view(b), view(l)) {
		t.Error("a long copy is not one of its own")
	}
	if c := texts.bytes(small); !follows(view(b), view(c)) {
		t.Error("the room after a long copy is not kept for the next")
	}
	var none *Texts
	if n := testing.AllocsPerRun(100, func() { _ = none.bytes(small) }); n != 1 {
		t.Errorf("nil Texts: %v allocations per copy, want 1", n)
	}
}

// TestMapToRecycled: calls mapped into a recycled Texts each have usage
// and cost entries of their own (more calls than a block of them, each
// with its own token count) and keep them until Reset; after the first
// block, mapping a block allocates nothing.
func TestMapToRecycled(t *testing.T) {
	m := benchMapper(t)
	res, scope, span := realisticSpan()
	texts := NewRecycledTexts()
	const calls = 2*spendBlock + 1
	spans := make([]ptrace.Span, calls)
	for i := range spans {
		spans[i] = ptrace.NewSpan()
		span.CopyTo(spans[i])
		spans[i].Attributes().PutInt("gen_ai.usage.input_tokens", int64(1000+i))
	}
	mapBlock := func() {
		got := make([]Call, 0, calls)
		for _, sp := range spans {
			got = append(got, m.MapTo(texts, res, scope, sp))
		}
		for i, c := range got {
			if u := c.Summary.Usage[0].InputTokens; u != int64(1000+i) {
				t.Fatalf("call %d has %d input tokens, want %d", i, u, 1000+i)
			}
			if p := c.Summary.Costs[0].Cost.PromptTokens; p != int64(1000+i) {
				t.Fatalf("call %d's cost counts %d prompt tokens, want %d", i, p, 1000+i)
			}
		}
		texts.Reset()
	}
	mapBlock()
	if n := testing.AllocsPerRun(5, mapBlock); n > 1 && !raceEnabled { // the test's own slice of calls
		t.Errorf("%v allocations per block of %d calls, want none but the test's slice", n, calls)
	}
	if texts.spendNext != 0 || texts.spends[0][0].u[0].Model != "" {
		t.Error("Reset left the usage entries in place")
	}
}
