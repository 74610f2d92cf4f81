package callmap

import "strings"

// The attribute keys the mapper knows, in one place. MAPPING.md lists them
// with their order of precedence; keep the two in step.

// slot names a known single-valued attribute; the mapper keeps the first
// value seen for each slot, then picks among slots in precedence order.
type slot uint8

const (
	slotNone slot = iota

	// model
	sRespModel    // gen_ai.response.model
	sReqModel     // gen_ai.request.model
	sLLMModelName // llm.model_name
	sAIRespModel  // ai.response.model
	sAIModelID    // ai.model.id

	// provider
	sProviderName // gen_ai.provider.name
	sGenAISystem  // gen_ai.system
	sLLMProvider  // llm.provider
	sLLMSystem    // llm.system
	sAIProvider   // ai.model.provider

	// kind
	sOIKind      // openinference.span.kind
	sTLKind      // traceloop.span.kind
	sLLMReqType  // llm.request.type
	sOperation   // gen_ai.operation.name
	sAIOperation // ai.operationId

	// display name
	sDisplayName // wandb.display_name
	sToolName1   // gen_ai.tool.name
	sToolName2   // tool.name
	sToolName3   // ai.toolCall.name
	sAgentName1  // gen_ai.agent.name
	sAgentName2  // agent.name

	// thread
	sThread1
	sThread2
	sThread3
	sThread4
	sThread5
	sThread6
	sThread7

	// wandb
	sEntity
	sProject
	sIsTurn
	sUserID
	sWBRunID
	sRunID
	sWandbAttrs

	// usage
	sIn1 // gen_ai.usage.input_tokens
	sIn2 // gen_ai.usage.prompt_tokens
	sIn3 // llm.token_count.prompt
	sIn4 // llm.usage.prompt_tokens
	sIn5 // ai.usage.inputTokens
	sIn6 // ai.usage.promptTokens
	sIn7 // ai.usage.tokens (embeddings)
	sOut1
	sOut2
	sOut3
	sOut4
	sOut5
	sOut6
	sTotal1 // gen_ai.usage.total_tokens
	sTotal2 // llm.token_count.total
	sTotal3 // llm.usage.total_tokens
	sTotal4 // ai.usage.totalTokens
	sCacheRead1
	sCacheRead2
	sCacheRead3
	sCacheRead4
	sCacheCreate1
	sCacheCreate2
	sCacheCreate3
	sReasoning1
	sReasoning2
	sReasoning3

	// app-provided costs (USD)
	sCostTotal1 // gen_ai.usage.cost
	sCostTotal2 // llm.cost.total
	sCostTotal3 // gen_ai.usage.total_cost
	sCostIn1    // llm.cost.prompt
	sCostIn2    // gen_ai.usage.input_cost
	sCostOut1   // llm.cost.completion
	sCostOut2   // gen_ai.usage.output_cost

	sSystemInstructions // gen_ai.system_instructions
	sInvocationParams   // llm.invocation_parameters

	// the Langfuse SDK's own attributes (langfuse.observation.*)
	sLFModel       // model.name
	sLFType        // type
	sLFModelParams // model.parameters (a JSON object text)
	sLFUsage       // usage_details (a JSON object text)
	sLFCost        // cost_details (a JSON object text)
	sLFLevel       // level
	sLFStatusMsg   // status_message

	slotServiceName // service.name (resource only)

	numSlots
)

// Precedence lists: the first slot holding a value wins.
var (
	modelSlots     = [...]slot{sRespModel, sReqModel, sLLMModelName, sAIRespModel, sAIModelID, sLFModel}
	providerSlots  = [...]slot{sProviderName, sGenAISystem, sLLMProvider, sLLMSystem, sAIProvider}
	displaySlots   = [...]slot{sDisplayName, sToolName1, sToolName2, sToolName3, sAgentName1, sAgentName2}
	threadSlots    = [...]slot{sThread1, sThread2, sThread3, sThread4, sThread5, sThread6, sThread7}
	inSlots        = [...]slot{sIn1, sIn2, sIn3, sIn4, sIn5, sIn6, sIn7}
	outSlots       = [...]slot{sOut1, sOut2, sOut3, sOut4, sOut5, sOut6}
	totalSlots     = [...]slot{sTotal1, sTotal2, sTotal3, sTotal4}
	cacheReadSlots = [...]slot{sCacheRead1, sCacheRead2, sCacheRead3, sCacheRead4}
	cacheMakeSlots = [...]slot{sCacheCreate1, sCacheCreate2, sCacheCreate3}
	reasonSlots    = [...]slot{sReasoning1, sReasoning2, sReasoning3}
	costTotalSlots = [...]slot{sCostTotal1, sCostTotal2, sCostTotal3}
	costInSlots    = [...]slot{sCostIn1, sCostIn2}
	costOutSlots   = [...]slot{sCostOut1, sCostOut2}
	runIDSlots     = [...]slot{sWBRunID, sRunID}
	operationSlots = [...]slot{sOperation}
)

// keyRole is what the mapper does with one exact attribute key: fill a slot,
// copy the value to a normalized attributes path, and/or be an inputs or
// output convention (index+1 into inputConventions / outputConventions).
type keyRole struct {
	slot slot
	norm string // normalized attributes path, "" for none
	in   int8
	out  int8
}

// convention is one inputs or output convention: an attribute key whose
// value (with the keys under it, un-flattened) becomes inputs[key] or
// output[key]. Conventions found in span events have an event name instead.
type convention struct {
	key    string
	family bool     // keys under key (key.x.y) belong to it
	only   []string // when set, only these first sub-segments belong to it
	event  string   // span event convention: the event name or eventMessages
}

const (
	eventMessages     = "gen_ai.*.message" // gen_ai.{system,user,assistant,tool}.message events
	eventChoice       = "gen_ai.choice"
	eventDetails      = "gen_ai.client.inference.operation.details"
	keyInputMessages  = "gen_ai.input.messages"
	keyOutputMessages = "gen_ai.output.messages"
	keySystemInstr    = "gen_ai.system_instructions"
	keyEventMessages  = "messages" // inputs key of message events
	keyEventChoices   = "choices"  // output key of gen_ai.choice events
	keyExceptionEvent = "exception"
	keyExceptionType  = "exception.type"
	keyExceptionMsg   = "exception.message"
)

// inputConventions in precedence order (DESIGN §2, then extras).
var inputConventions = [...]convention{
	{key: "ai.prompt", family: true},
	{key: "gen_ai.prompt", family: true},
	{key: "input.value"},
	{key: "mlflow.spanInputs"},
	{key: keyInputMessages, family: true},
	{key: "pydantic_ai.all_messages"},
	{key: "traceloop.entity.input"},
	{key: "gcp.vertex.agent.tool_call_args"},
	{key: "gcp.vertex.agent.llm_request"},
	{key: keyEventMessages, event: eventMessages},
	{key: keyInputMessages, event: eventDetails},
	{key: "ai.toolCall.args"},
	{key: "gen_ai.tool.call.arguments"},
	{key: "ai.value"},
	{key: "ai.values"},
	{key: "langfuse.observation.input"},
	{key: "langfuse.trace.input"},
	{key: "input"},
	{key: "inputs"},
}

// outputConventions in precedence order (DESIGN §2, then extras).
var outputConventions = [...]convention{
	{key: "ai.response", family: true, only: []string{"text", "object", "toolCalls", "reasoning", "files"}},
	{key: "gen_ai.completion", family: true},
	{key: "output.value"},
	{key: keyOutputMessages, family: true},
	{key: "mlflow.spanOutputs"},
	{key: "final_result"},
	{key: "gen_ai.content.completion"},
	{key: "traceloop.entity.output"},
	{key: "gcp.vertex.agent.tool_response"},
	{key: "gcp.vertex.agent.llm_response"},
	{key: keyEventChoices, event: eventChoice},
	{key: keyOutputMessages, event: eventDetails},
	{key: "ai.toolCall.result"},
	{key: "gen_ai.tool.call.result"},
	{key: "ai.embedding"},
	{key: "ai.embeddings"},
	{key: "langfuse.observation.output"},
	{key: "langfuse.trace.output"},
	{key: "output"},
	{key: "outputs"},
}

// Families of keys copied to normalized paths: key prefix (with its dot) →
// normalized path prefix. gen_ai.request.model is a model, not a parameter.
var normFamilies = [...]struct{ prefix, norm string }{
	{"gen_ai.request.", "model_parameters."},
	{"ai.settings.", "model_parameters."},
	{"llm.tools.", "tools."},
}

// codePrefix marks the attributes that identify the code of an op; they
// enter the op digest.
const codePrefix = "code."

var exactKeys = func() map[string]keyRole {
	m := map[string]keyRole{
		"gen_ai.response.model": {slot: sRespModel},
		"gen_ai.request.model":  {slot: sReqModel},
		"llm.model_name":        {slot: sLLMModelName},
		"ai.response.model":     {slot: sAIRespModel},
		"ai.model.id":           {slot: sAIModelID},

		"gen_ai.provider.name": {slot: sProviderName},
		"gen_ai.system":        {slot: sGenAISystem},
		"llm.provider":         {slot: sLLMProvider},
		"llm.system":           {slot: sLLMSystem},
		"ai.model.provider":    {slot: sAIProvider},

		"openinference.span.kind": {slot: sOIKind},
		"traceloop.span.kind":     {slot: sTLKind},
		"llm.request.type":        {slot: sLLMReqType},
		"gen_ai.operation.name":   {slot: sOperation},
		"ai.operationId":          {slot: sAIOperation},

		"wandb.display_name":       {slot: sDisplayName},
		"gen_ai.tool.name":         {slot: sToolName1, norm: "tool.name"},
		"tool.name":                {slot: sToolName2, norm: "tool.name"},
		"ai.toolCall.name":         {slot: sToolName3, norm: "tool.name"},
		"gen_ai.tool.call.id":      {norm: "tool.call_id"},
		"ai.toolCall.id":           {norm: "tool.call_id"},
		"gen_ai.tool.description":  {norm: "tool.description"},
		"tool.description":         {norm: "tool.description"},
		"gen_ai.tool.type":         {norm: "tool.type"},
		"gen_ai.tool.definitions":  {norm: "tools"},
		"gen_ai.agent.name":        {slot: sAgentName1, norm: "agent.name"},
		"agent.name":               {slot: sAgentName2, norm: "agent.name"},
		"gen_ai.agent.id":          {norm: "agent.id"},
		"gen_ai.agent.description": {norm: "agent.description"},

		"gen_ai.conversation.id":                      {slot: sThread1},
		"wandb.thread_id":                             {slot: sThread2},
		"session.id":                                  {slot: sThread3},
		"langfuse.session.id":                         {slot: sThread4},
		"ai.telemetry.metadata.sessionId":             {slot: sThread5},
		"traceloop.association.properties.session_id": {slot: sThread6},
		"gcp.vertex.agent.session_id":                 {slot: sThread7},

		"wandb.entity":     {slot: sEntity},
		"wandb.project":    {slot: sProject},
		"wandb.is_turn":    {slot: sIsTurn},
		"wandb.user_id":    {slot: sUserID},
		"wandb.wb_run_id":  {slot: sWBRunID},
		"wandb.run_id":     {slot: sRunID},
		"wandb.attributes": {slot: sWandbAttrs},

		"gen_ai.usage.input_tokens":      {slot: sIn1},
		"gen_ai.usage.prompt_tokens":     {slot: sIn2},
		"llm.token_count.prompt":         {slot: sIn3},
		"llm.usage.prompt_tokens":        {slot: sIn4},
		"ai.usage.inputTokens":           {slot: sIn5},
		"ai.usage.promptTokens":          {slot: sIn6},
		"ai.usage.tokens":                {slot: sIn7},
		"gen_ai.usage.output_tokens":     {slot: sOut1},
		"gen_ai.usage.completion_tokens": {slot: sOut2},
		"llm.token_count.completion":     {slot: sOut3},
		"llm.usage.completion_tokens":    {slot: sOut4},
		"ai.usage.outputTokens":          {slot: sOut5},
		"ai.usage.completionTokens":      {slot: sOut6},
		"gen_ai.usage.total_tokens":      {slot: sTotal1},
		"llm.token_count.total":          {slot: sTotal2},
		"llm.usage.total_tokens":         {slot: sTotal3},
		"ai.usage.totalTokens":           {slot: sTotal4},

		"gen_ai.usage.cache_read.input_tokens":         {slot: sCacheRead1},
		"gen_ai.usage.cache_read_input_tokens":         {slot: sCacheRead2},
		"llm.token_count.prompt_details.cache_read":    {slot: sCacheRead3},
		"ai.usage.cachedInputTokens":                   {slot: sCacheRead4},
		"gen_ai.usage.cache_creation.input_tokens":     {slot: sCacheCreate1},
		"gen_ai.usage.cache_creation_input_tokens":     {slot: sCacheCreate2},
		"llm.token_count.prompt_details.cache_write":   {slot: sCacheCreate3},
		"gen_ai.usage.reasoning_tokens":                {slot: sReasoning1},
		"llm.token_count.completion_details.reasoning": {slot: sReasoning2},
		"ai.usage.reasoningTokens":                     {slot: sReasoning3},

		"gen_ai.usage.cost":        {slot: sCostTotal1},
		"llm.cost.total":           {slot: sCostTotal2},
		"gen_ai.usage.total_cost":  {slot: sCostTotal3},
		"llm.cost.prompt":          {slot: sCostIn1},
		"gen_ai.usage.input_cost":  {slot: sCostIn2},
		"llm.cost.completion":      {slot: sCostOut1},
		"gen_ai.usage.output_cost": {slot: sCostOut2},

		keySystemInstr:              {slot: sSystemInstructions},
		"llm.invocation_parameters": {slot: sInvocationParams},

		"langfuse.observation.model.name":       {slot: sLFModel},
		"langfuse.observation.type":             {slot: sLFType},
		"langfuse.observation.model.parameters": {slot: sLFModelParams},
		"langfuse.observation.usage_details":    {slot: sLFUsage},
		"langfuse.observation.cost_details":     {slot: sLFCost},
		"langfuse.observation.level":            {slot: sLFLevel},
		"langfuse.observation.status_message":   {slot: sLFStatusMsg},
	}
	for i, c := range inputConventions {
		if c.event == "" {
			r := m[c.key]
			r.in = int8(i + 1)
			m[c.key] = r
		}
	}
	for i, c := range outputConventions {
		if c.event == "" {
			r := m[c.key]
			r.out = int8(i + 1)
			m[c.key] = r
		}
	}
	return m
}()

// familyOf returns the inputs (in) or output (out) family convention the key
// falls under (index+1, 0 for none) and where its rest starts.
func familyOf(key string) (in, out int8, pos int) {
	switch key[0] {
	case 'a', 'g':
	default:
		return 0, 0, 0
	}
	for i := range inputConventions {
		c := &inputConventions[i]
		if c.family && underKey(key, c.key) {
			return int8(i + 1), 0, len(c.key) + 1
		}
	}
	for i := range outputConventions {
		c := &outputConventions[i]
		if c.family && underKey(key, c.key) {
			if c.only != nil && !hasFirstSegment(key[len(c.key)+1:], c.only) {
				return 0, 0, 0
			}
			return 0, int8(i + 1), len(c.key) + 1
		}
	}
	return 0, 0, 0
}

// underKey reports whether key is parent.<something>.
func underKey(key, parent string) bool {
	return len(key) > len(parent)+1 && key[len(parent)] == '.' && key[:len(parent)] == parent
}

func hasFirstSegment(rest string, segs []string) bool {
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		rest = rest[:i]
	}
	for _, s := range segs {
		if rest == s {
			return true
		}
	}
	return false
}

// normFamily returns the normalized path prefix for key's family and where
// its rest starts, or "" when it belongs to none.
func normFamily(key string) (norm string, pos int) {
	for _, f := range normFamilies {
		if len(key) > len(f.prefix) && strings.HasPrefix(key, f.prefix) {
			return f.norm, len(f.prefix)
		}
	}
	return "", 0
}

// kindOf normalizes the span kind from the kind slots (openinference,
// traceloop, llm.request.type, gen_ai.operation.name, ai.operationId).
func kindOfOpenInference(v string) string {
	switch strings.ToLower(v) {
	case "llm":
		return "llm"
	case "chain":
		return "chain"
	case "tool":
		return "tool"
	case "agent":
		return "agent"
	case "retriever":
		return "retriever"
	case "embedding":
		return "embedding"
	case "reranker":
		return "reranker"
	case "guardrail":
		return "guardrail"
	case "evaluator":
		return "evaluator"
	case "prompt":
		return "prompt"
	}
	return ""
}

func kindOfTraceloop(v string) string {
	switch v {
	case "workflow", "task":
		return "chain"
	case "agent":
		return "agent"
	case "tool":
		return "tool"
	}
	return ""
}

func kindOfRequestType(v string) string {
	switch v {
	case "chat", "completion":
		return "llm"
	case "embedding":
		return "embedding"
	case "rerank":
		return "reranker"
	}
	return ""
}

func kindOfOperation(v string) string {
	switch v {
	case "chat", "text_completion", "generate_content":
		return "llm"
	case "execute_tool":
		return "tool"
	case "invoke_agent", "create_agent":
		return "agent"
	case "embeddings":
		return "embedding"
	}
	return ""
}

// kindOfLangfuse reads langfuse.observation.type: a generation is an LLM
// call; span and event say nothing.
func kindOfLangfuse(v string) string {
	switch v {
	case "generation":
		return "llm"
	case "agent", "tool", "chain", "retriever", "evaluator", "embedding", "guardrail":
		return v
	}
	return ""
}

func kindOfAIOperation(v string) string {
	switch {
	case strings.HasSuffix(v, ".doGenerate"), strings.HasSuffix(v, ".doStream"):
		return "llm"
	case strings.HasSuffix(v, ".doEmbed"):
		return "embedding"
	case v == "ai.toolCall":
		return "tool"
	case strings.HasPrefix(v, "ai."):
		return "chain"
	}
	return ""
}
