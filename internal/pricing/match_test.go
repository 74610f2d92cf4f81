package pricing

import "testing"

// TestBaseAndFamily pins the name forms the lookup derives: the base name
// (routing prefixes gone) and the family (version suffixes gone too).
func TestBaseAndFamily(t *testing.T) {
	for _, tc := range []struct{ name, base, family string }{
		{"gpt-4o-2024-08-06", "gpt-4o-2024-08-06", "gpt-4o"},
		{"gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"openai/gpt-4.1-nano", "gpt-4.1-nano", "gpt-4.1-nano"},
		{"bedrock/us.anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet"},
		{"claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet"},
		{"claude-opus-4@20250514", "claude-opus-4@20250514", "claude-opus-4"},
		{"claude-3-7-sonnet-latest", "claude-3-7-sonnet-latest", "claude-3-7-sonnet"},
		{"models/gemini-2.0-flash-001", "gemini-2.0-flash-001", "gemini-2.0-flash"},
		{"gemini-2.5-flash-lite-preview-06-17", "gemini-2.5-flash-lite-preview-06-17", "gemini-2.5-flash-lite"},
		{"gemini-2.5-flash-preview-09-2025", "gemini-2.5-flash-preview-09-2025", "gemini-2.5-flash"},
		{"accounts/fireworks/models/llama-v3p3-70b-instruct", "llama-v3p3-70b-instruct", "llama-v3p3-70b-instruct"},
		{"meta.llama3-1-70b-instruct-v1:0", "llama3-1-70b-instruct-v1:0", "llama3-1-70b-instruct-v1:0"},
		{"command-r-plus-08-2024", "command-r-plus-08-2024", "command-r-plus"},
		{"mistral-large-2411", "mistral-large-2411", "mistral-large"},
		{"gpt-4o-audio-preview", "gpt-4o-audio-preview", "gpt-4o-audio-preview"},
		{"amazon.titan-embed-text-v2:0", "titan-embed-text-v2:0", "titan-embed-text-v2:0"},
		{"gpt-4.1", "gpt-4.1", "gpt-4.1"},
		{"@20240620", "@20240620", "@20240620"},
		{"-latest", "-latest", "-latest"},
		{"a/", "", ""},
	} {
		base := baseName(tc.name)
		if base != tc.base {
			t.Errorf("baseName(%q) = %q; want %q", tc.name, base, tc.base)
		}
		if family := familyName(base); family != tc.family {
			t.Errorf("familyName(%q) = %q; want %q", base, family, tc.family)
		}
	}
}
