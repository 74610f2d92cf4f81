package callmap

import (
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// unknownModel keys the usage of a span that names no model.
const unknownModel = "unknown"

// pricingLevelApp marks costs the span itself reported.
const pricingLevelApp = "app"

// tokenCount reads a token count: an int, an integral non-negative double,
// or a decimal string. Anything else is not a count (it stays visible in
// attributes only).
func tokenCount(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		n := v.Int()
		return n, n >= 0
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if f >= 0 && f < math.MaxInt64 && f == math.Trunc(f) {
			return int64(f), true
		}
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64)
		return n, err == nil && n >= 0
	}
	return 0, false
}

// usdAmount reads an app-reported cost: a finite, non-negative number or
// decimal string.
func usdAmount(v pcommon.Value) (float64, bool) {
	var f float64
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		f = v.Double()
	case pcommon.ValueTypeInt:
		f = float64(v.Int())
	case pcommon.ValueTypeStr:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(v.Str()), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	return f, f >= 0 && !math.IsInf(f, 0) && !math.IsNaN(f)
}

// firstValid returns the first value among the slots that read accepts.
func firstValid[T any](s *slots, list []slot, read func(pcommon.Value) (T, bool)) (T, bool) {
	for _, k := range list {
		if s.has[k] {
			if v, ok := read(s.v[k]); ok {
				return v, true
			}
		}
	}
	var zero T
	return zero, false
}

// count returns the first valid token count among the slots.
func (s *slots) count(list []slot) (int64, bool) { return firstValid(s, list, tokenCount) }

// amount returns the first valid USD amount among the slots.
func (s *slots) amount(list []slot) (float64, bool) { return firstValid(s, list, usdAmount) }

// usageAndCost fills the span's own usage and cost (summary and the Call's
// spend fields). See MAPPING.md for the sources and the cost rules.
func (m *Mapper) usageAndCost(t *Texts, st *state, c *Call) {
	s := &st.span
	in, hasIn := s.count(inSlots[:])
	out, hasOut := s.count(outSlots[:])
	total, hasTotal := s.count(totalSlots[:])
	cacheRead, hasCR := s.count(cacheReadSlots[:])
	cacheMake, hasCM := s.count(cacheMakeSlots[:])
	reasoning, hasR := s.count(reasonSlots[:])
	costTotal, hasCT := s.amount(costTotalSlots[:])
	costIn, hasCI := s.amount(costInSlots[:])
	costOut, hasCO := s.amount(costOutSlots[:])
	if s.has[sLFUsage] {
		// the Langfuse SDK's usage_details fills what the attributes left out
		lf := st.langfuseUsage()
		for _, p := range [...]struct {
			n, from      *int64
			has, hasFrom *bool
		}{
			{&in, &lf.in, &hasIn, &lf.hasIn},
			{&out, &lf.out, &hasOut, &lf.hasOut},
			{&total, &lf.total, &hasTotal, &lf.hasTotal},
			{&cacheRead, &lf.cacheRead, &hasCR, &lf.hasCacheRead},
			{&cacheMake, &lf.cacheMake, &hasCM, &lf.hasCacheMake},
			{&reasoning, &lf.reasoning, &hasR, &lf.hasRsn},
		} {
			if !*p.has {
				*p.n, *p.has = *p.from, *p.hasFrom
			}
		}
	}
	if s.has[sLFCost] && !hasCT && !hasCI && !hasCO {
		costTotal, costIn, costOut, hasCT, hasCI, hasCO = st.langfuseCost()
	}

	hasUsage := hasIn || hasOut || hasTotal || hasCR || hasCM || hasR
	appCost := hasCT || hasCI || hasCO
	if !hasUsage && !appCost {
		return
	}
	if !hasTotal {
		total = in + out
	}
	model := c.Model
	if model == "" {
		model = unknownModel
	}
	u := Usage{
		Requests:                 1,
		InputTokens:              in,
		OutputTokens:             out,
		TotalTokens:              total,
		CacheReadInputTokens:     cacheRead,
		CacheCreationInputTokens: cacheMake,
		ReasoningTokens:          reasoning,
	}
	if hasUsage {
		c.InputTokens, c.OutputTokens, c.TotalTokens = in, out, total
	}

	cost := Cost{PromptTokens: in, CompletionTokens: out, Requests: 1, TotalTokens: total}
	hasCost := true
	switch {
	case appCost:
		cost.PromptTokensTotalCost, cost.CompletionTokensTotalCost = costIn, costOut
		cost.TotalCost = costIn + costOut
		if hasCT {
			cost.TotalCost = costTotal
		}
		cost.ProviderID, cost.PricingLevel = c.Provider, pricingLevelApp
	case c.Model != "":
		p, ok := m.prices.Lookup(c.Model)
		if !ok {
			hasCost = false
			break
		}
		cost.PromptTokenCost, cost.CompletionTokenCost = p.InputCostPerToken, p.OutputCostPerToken
		cost.CacheReadTokenCost, cost.CacheCreationTokenCost = p.CacheReadCostPerToken, p.CacheCreateCostPerToken
		cost.ProviderID, cost.PricingLevel, cost.EffectiveDate = p.Provider, p.Level, p.EffectiveDate
		priceTokens(&cost, u)
	default:
		hasCost = false
	}
	if hasCost {
		c.CostUSD, c.HasCost = cost.TotalCost, true
	}
	// usage and cost share one allocation when there are both (none in a
	// recycled Texts)
	switch {
	case hasUsage && hasCost:
		s := t.spend()
		*s = spend{u: [1]ModelUsage{{Model: model, Usage: u}}, c: [1]ModelCost{{Model: model, Cost: cost}}}
		c.Summary.Usage, c.Summary.Costs = s.u[:], s.c[:]
	case hasUsage && t.recycles():
		s := t.spend()
		s.u[0] = ModelUsage{Model: model, Usage: u}
		c.Summary.Usage = s.u[:]
	case hasUsage:
		c.Summary.Usage = []ModelUsage{{Model: model, Usage: u}}
	case hasCost && t.recycles():
		s := t.spend()
		s.c[0] = ModelCost{Model: model, Cost: cost}
		c.Summary.Costs = s.c[:]
	case hasCost:
		c.Summary.Costs = []ModelCost{{Model: model, Cost: cost}}
	}
}

// spend holds a span's usage and cost entries.
type spend struct {
	u [1]ModelUsage
	c [1]ModelCost
}

// priceTokens computes the totals of a priced cost. Input tokens are taken
// to include the cache tokens (as the GenAI conventions say) unless the
// cache tokens outnumber them; included cache tokens that have a cache
// price are charged at it instead of the input price, and separately
// reported ones are charged at the cache price, else the input price.
func priceTokens(c *Cost, u Usage) {
	uncached := u.InputTokens
	readPrice, makePrice := c.CacheReadTokenCost, c.CacheCreationTokenCost
	var read, made int64
	if u.CacheReadInputTokens+u.CacheCreationInputTokens <= u.InputTokens {
		if readPrice > 0 {
			read = u.CacheReadInputTokens
			uncached -= read
		}
		if makePrice > 0 {
			made = u.CacheCreationInputTokens
			uncached -= made
		}
	} else {
		read, made = u.CacheReadInputTokens, u.CacheCreationInputTokens
		if readPrice == 0 {
			readPrice = c.PromptTokenCost
		}
		if makePrice == 0 {
			makePrice = c.PromptTokenCost
		}
	}
	c.PromptTokensTotalCost = float64(uncached) * c.PromptTokenCost
	c.CompletionTokensTotalCost = float64(u.OutputTokens) * c.CompletionTokenCost
	c.CacheReadTokensTotalCost = float64(read) * readPrice
	c.CacheCreationTokensTotalCost = float64(made) * makePrice
	c.TotalCost = c.PromptTokensTotalCost + c.CompletionTokensTotalCost + c.CacheReadTokensTotalCost + c.CacheCreationTokensTotalCost
}
