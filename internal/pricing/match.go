package pricing

import "strings"

// Model names as providers report them differ from the names in a price table
// by a routing prefix ("openai/", "models/", "us.anthropic.") and by a version
// suffix ("-2024-08-06", "@20240620", "-v2:0"). The functions below peel those
// off one at a time; the lookup tries every intermediate form, so the most
// specific name in the table wins. Only the patterns listed here are removed,
// never a word such as "-mini" or "-lite", so a lookup never lands on a
// different model.

// bedrockRegions are the cross-region inference profile prefixes of Bedrock ids
// ("us.anthropic.claude-…").
var bedrockRegions = []string{"us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"}

// bedrockVendors are the vendor prefixes of Bedrock model ids ("anthropic.claude-…").
var bedrockVendors = []string{"anthropic", "meta", "amazon", "mistral", "cohere", "ai21", "deepseek", "writer", "qwen", "openai"}

// stripPrefix removes one routing prefix: everything through the first "/",
// else a Bedrock region, else a Bedrock vendor. ok is false when there is none.
func stripPrefix(name string) (rest string, ok bool) {
	if i := strings.IndexByte(name, '/'); i >= 0 {
		return name[i+1:], true
	}
	dot := strings.IndexByte(name, '.')
	if dot <= 0 {
		return name, false
	}
	first := name[:dot]
	for _, set := range [][]string{bedrockRegions, bedrockVendors} {
		for _, p := range set {
			if first == p {
				return name[dot+1:], true
			}
		}
	}
	return name, false
}

// baseName is name without any routing prefix.
func baseName(name string) string {
	for {
		rest, ok := stripPrefix(name)
		if !ok {
			return name
		}
		name = rest
	}
}

// stripSuffix removes one version suffix from the end of name. ok is false
// when name ends in none. The suffixes, in the order tried:
//
//	-v2@20241022, @20240620   Vertex AI versions (a date becomes -20241022)
//	-20241022-v2:0            Bedrock version after a date (the date stays)
//	-preview-06-05            Gemini dated previews (also -preview-09-2025)
//	-latest                   moving aliases
//	-2024-08-06               OpenAI snapshots
//	-20241022                 Anthropic snapshots
//	-08-2024                  Cohere snapshots
//	-0613, -2411              OpenAI, Mistral and xAI snapshots
//	-001                      Gemini stable versions
func stripSuffix(name string) (rest string, ok bool) {
	if i := strings.LastIndexByte(name, '@'); i > 0 {
		rest, version := name[:i], name[i+1:]
		if j := strings.LastIndex(rest, "-v"); j > 0 && allDigits(rest[j+2:]) {
			rest = rest[:j]
		}
		if len(version) == 8 && allDigits(version) {
			// Vertex's "@20240620" is Anthropic's "-20240620": keep the
			// snapshot, so the next step can still find the dated entry.
			rest += "-" + version
		}
		return rest, true
	}
	if rest, ok := cutBedrockVersion(name); ok {
		return rest, true
	}
	if rest, ok := cutPreviewDate(name); ok {
		return rest, true
	}
	if rest, ok := strings.CutSuffix(name, "-latest"); ok && rest != "" {
		return rest, true
	}
	for _, shape := range []string{"-dddd-dd-dd", "-dddddddd", "-dd-dddd", "-dddd", "-ddd"} {
		if rest, ok := cutShape(name, shape); ok {
			return rest, true
		}
	}
	return name, false
}

// cutBedrockVersion removes "-v<N>:<M>" when a date or a four-digit
// snapshot precedes it ("claude-3-5-sonnet-20241022-v2:0"). Without a date
// the "-v2" may be the model's own version ("titan-embed-text-v2:0"), so it stays.
func cutBedrockVersion(name string) (string, bool) {
	colon := strings.LastIndexByte(name, ':')
	if colon < 0 || !allDigits(name[colon+1:]) {
		return name, false
	}
	v := strings.LastIndex(name[:colon], "-v")
	if v < 0 || !allDigits(name[v+2:colon]) {
		return name, false
	}
	rest := name[:v]
	for _, shape := range []string{"-dddddddd", "-dddd"} {
		if _, ok := cutShape(rest, shape); ok {
			return rest, true
		}
	}
	return name, false
}

// cutPreviewDate removes "-preview-MM-DD" or "-preview-MM-YYYY". A bare
// "-preview" stays: "gpt-4o-audio-preview" is not gpt-4o-audio.
func cutPreviewDate(name string) (string, bool) {
	for _, shape := range []string{"-preview-dd-dd", "-preview-dd-dddd"} {
		if rest, ok := cutShape(name, shape); ok {
			return rest, true
		}
	}
	return name, false
}

// cutShape removes a suffix of the given shape, where 'd' stands for any
// ASCII digit and every other byte for itself. At least one byte must remain.
func cutShape(name, shape string) (string, bool) {
	if len(name) <= len(shape) {
		return name, false
	}
	tail := name[len(name)-len(shape):]
	for i := 0; i < len(shape); i++ {
		if shape[i] == 'd' {
			if tail[i] < '0' || tail[i] > '9' {
				return name, false
			}
		} else if tail[i] != shape[i] {
			return name, false
		}
	}
	return name[:len(name)-len(shape)], true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// familyName is the base name without any version suffix: the model family
// a dated snapshot belongs to.
func familyName(base string) string {
	for {
		rest, ok := stripSuffix(base)
		if !ok {
			return base
		}
		base = rest
	}
}

// dottedClaude rewrites OpenRouter-style Claude names ("claude-3.5-sonnet",
// "claude-sonnet-4.5") into Anthropic's ("claude-3-5-sonnet"). ok is false
// when name is not such a name.
func dottedClaude(name string) (string, bool) {
	if !strings.HasPrefix(name, "claude-") || !strings.Contains(name, ".") {
		return name, false
	}
	b := []byte(name)
	changed := false
	for i := 1; i+1 < len(b); i++ {
		if b[i] == '.' && isDigit(b[i-1]) && isDigit(b[i+1]) {
			b[i] = '-'
			changed = true
		}
	}
	return string(b), changed
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
