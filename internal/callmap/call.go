// Package callmap maps one OpenTelemetry span (with its resource and scope)
// to one Weave Call. It is the single mapping used by the weavecall processor
// and, for spans the processor did not annotate, by the weaveclickhouse
// exporter. Trace-level derivations (roll-ups, descendant_error, thread
// propagation) are not done here: they need the whole trace and live in the
// processor.
package callmap

import "time"

// Status is the Weave TraceStatus of a call, lower-case as Weave reports it.
type Status string

// The statuses, in order of precedence: error › running › descendant_error › success.
const (
	StatusError           Status = "error"
	StatusRunning         Status = "running"
	StatusDescendantError Status = "descendant_error"
	StatusSuccess         Status = "success"
)

// Call is one Weave call: the fields of DESIGN §1. Optional fields are empty
// strings (or zero times) when absent; encoders turn those into JSON/SQL NULL.
type Call struct {
	ID       string // span id, 16 lowercase hex chars
	TraceID  string // trace id, 32 lowercase hex chars
	ParentID string // parent span id; "" for a root

	ProjectID   string // "entity/project"
	OpName      string // weave:///<project_id>/op/<safe name>:<digest>
	OpSafeName  string // the <safe name> part of OpName, for grouping in SQL
	DisplayName string // "" = null

	StartedAt time.Time // UTC
	EndedAt   time.Time // UTC; zero = still running

	Exception string // "" = null; never empty for an error

	// JSON text, already encoded. Inputs and Attributes are JSON objects,
	// Output any JSON value ("null" when the span has none). Treat the
	// bytes as immutable: ToRecord shares them. Replace a slice, never
	// write into it.
	Inputs     []byte
	Output     []byte
	Attributes []byte
	// NoTexts: the call was mapped by MapFactsTo, without Inputs, Output
	// and Attributes (nil, not empty); its Record then needs them (see
	// Record.NeedsTexts).
	NoTexts bool

	Summary Summary

	ThreadID string // "" = null
	TurnID   string // "" = null
	IsTurn   bool   // wandb.is_turn=true on the span

	WBUserID string // "" = null
	WBRunID  string // "" = null

	// Typed analysis fields, also found inside Attributes; the exporter
	// writes them to their own columns.
	Kind      string // normalized span kind: llm, agent, tool, chain, embedding, retriever, …
	Model     string // the model name usage is keyed by ("" when none)
	Provider  string // gen_ai.provider.name / gen_ai.system / llm.provider …
	Operation string // gen_ai.operation.name, when present

	// The call's own counted spend, summed over models: what SUM() over
	// calls may add up without double counting. The processor zeroes it for
	// aggregate spans (usage that repeats their descendants').
	InputTokens  int64
	OutputTokens int64
	TotalTokens  int64
	CostUSD      float64
	HasCost      bool // false: no known price, CostUSD is NULL rather than 0

	// Version orders versions of the same call: a larger one replaces a
	// smaller one in storage. 0 for a call mapped without the processor.
	Version uint64
}

// Summary is the Weave summary of a call: user keys at the top level plus
// the reserved, computed parts (usage, costs, status, status_counts).
type Summary struct {
	// Custom holds the app's own summary keys as a JSON object text
	// (from span attributes under the custom summary prefix), or nil.
	Custom []byte

	// Usage by model name, sorted by model. For a call mapped on its own it
	// is the span's own usage; after the processor's roll-up it covers the
	// call's whole subtree.
	Usage []ModelUsage
	// Costs by model name, sorted by model; models without a known price
	// have no entry.
	Costs []ModelCost

	Status       Status
	LatencyMS    int64 // whole milliseconds; meaningless while Status is running
	Unended      bool  // the span has no end time: latency_ms is null (whatever the status)
	TraceName    string
	StatusCounts StatusCounts
}

// ModelUsage is the token usage of one model.
type ModelUsage struct {
	Model string
	Usage
}

// Usage is token usage in Weave's shape (one naming pair: input/output).
// Detail fields are 0 when unknown and then left out of the JSON.
type Usage struct {
	Requests                 int64
	InputTokens              int64
	OutputTokens             int64
	TotalTokens              int64
	CacheReadInputTokens     int64
	CacheCreationInputTokens int64
	ReasoningTokens          int64
}

// ModelCost is the cost of one model's usage, in the shape of Weave's
// summary.weave.costs entries.
type ModelCost struct {
	Model string
	Cost
}

// Cost is USD cost of a model's usage.
type Cost struct {
	PromptTokens     int64
	CompletionTokens int64
	Requests         int64
	TotalTokens      int64

	// Unit prices in USD per token (0 when the cost was provided by the app).
	PromptTokenCost        float64
	CompletionTokenCost    float64
	CacheReadTokenCost     float64
	CacheCreationTokenCost float64

	PromptTokensTotalCost        float64
	CompletionTokensTotalCost    float64
	CacheReadTokensTotalCost     float64
	CacheCreationTokensTotalCost float64
	TotalCost                    float64

	ProviderID    string
	PricingLevel  string // "default" (built-in table), "file", "config" or "app" (provided by the span)
	EffectiveDate string // YYYY-MM-DD the price took effect, when known
}

// StatusCounts counts calls by final status over a call's subtree
// (the call itself included).
type StatusCounts struct {
	Success int64
	Error   int64
}
