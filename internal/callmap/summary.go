package callmap

import "sort"

// Add adds o to u field by field.
func (u *Usage) Add(o Usage) {
	u.Requests += o.Requests
	u.InputTokens += o.InputTokens
	u.OutputTokens += o.OutputTokens
	u.TotalTokens += o.TotalTokens
	u.CacheReadInputTokens += o.CacheReadInputTokens
	u.CacheCreationInputTokens += o.CacheCreationInputTokens
	u.ReasoningTokens += o.ReasoningTokens
}

// Add adds o's token counts and totals to c. Unit prices, provider, level
// and date stay c's unless c has none yet.
func (c *Cost) Add(o Cost) {
	if c.ProviderID == "" && c.PricingLevel == "" {
		c.PromptTokenCost, c.CompletionTokenCost = o.PromptTokenCost, o.CompletionTokenCost
		c.CacheReadTokenCost, c.CacheCreationTokenCost = o.CacheReadTokenCost, o.CacheCreationTokenCost
		c.ProviderID, c.PricingLevel, c.EffectiveDate = o.ProviderID, o.PricingLevel, o.EffectiveDate
	}
	c.PromptTokens += o.PromptTokens
	c.CompletionTokens += o.CompletionTokens
	c.Requests += o.Requests
	c.TotalTokens += o.TotalTokens
	c.PromptTokensTotalCost += o.PromptTokensTotalCost
	c.CompletionTokensTotalCost += o.CompletionTokensTotalCost
	c.CacheReadTokensTotalCost += o.CacheReadTokensTotalCost
	c.CacheCreationTokensTotalCost += o.CacheCreationTokensTotalCost
	c.TotalCost += o.TotalCost
}

// Add adds o to s.
func (s *StatusCounts) Add(o StatusCounts) {
	s.Success += o.Success
	s.Error += o.Error
}

// MergeUsage adds src into dst by model and returns dst, still sorted by model.
func MergeUsage(dst, src []ModelUsage) []ModelUsage {
	return mergeByModel(dst, src, func(m ModelUsage) string { return m.Model }, func(d *ModelUsage, m ModelUsage) { d.Usage.Add(m.Usage) })
}

// MergeCosts adds src into dst by model and returns dst, still sorted by model.
func MergeCosts(dst, src []ModelCost) []ModelCost {
	return mergeByModel(dst, src, func(m ModelCost) string { return m.Model }, func(d *ModelCost, m ModelCost) { d.Cost.Add(m.Cost) })
}

func mergeByModel[T any](dst, src []T, model func(T) string, add func(*T, T)) []T {
	for _, m := range src {
		key := model(m)
		i := sort.Search(len(dst), func(i int) bool { return model(dst[i]) >= key })
		if i < len(dst) && model(dst[i]) == key {
			add(&dst[i], m)
			continue
		}
		var zero T
		dst = append(dst, zero)
		copy(dst[i+1:], dst[i:])
		dst[i] = m
	}
	return dst
}
