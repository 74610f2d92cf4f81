// Vercel AI SDK, legacy telemetry: ai 4 with its mock models from ai/test (MockLanguageModelV1).
// Usage as ai.usage.promptTokens / completionTokens, prompts as ai.prompt.messages; a tool that
// throws aborts the whole generation (ToolExecutionError), which the app catches. The mock
// reports provider "openai.chat" and real model ids; no network is involved.
'use strict';

const { embed, embedMany, generateObject, generateText, streamText, tool } = require('ai-v4');
const { MockEmbeddingModelV1, MockLanguageModelV1, simulateReadableStream } = require('ai-v4/test');
const { z } = require('zod');
const { startCapture, inSpan } = require('./lib/capture');

const RESPONSE_TIME = new Date('2026-01-01T00:00:00Z');
const RAW_CALL = { rawPrompt: null, rawSettings: {} };

function toolCall(toolCallId, toolName, args) {
  return { toolCallType: 'function', toolCallId, toolName, args: JSON.stringify(args) };
}

// generation is one canned doGenerate answer of the mock model.
function generation({ id, text, toolCalls, finishReason, promptTokens, completionTokens, cachedPromptTokens = 0 }) {
  return {
    rawCall: RAW_CALL,
    text,
    toolCalls,
    finishReason,
    usage: { promptTokens, completionTokens },
    providerMetadata: { openai: { cachedPromptTokens } },
    response: { id, modelId: 'gpt-4o-mini-2024-07-18', timestamp: RESPONSE_TIME },
  };
}

// mockModel answers each doGenerate call with the next canned generation.
function mockModel(generations, extra = {}) {
  let next = 0;
  return new MockLanguageModelV1({
    provider: 'openai.chat',
    modelId: 'gpt-4o-mini',
    doGenerate: async () => generations[next++],
    ...extra,
  });
}

const tools = {
  get_weather: tool({
    description: 'Current weather for a city.',
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => ({ city, temperature_c: 18, conditions: 'sunny' }),
  }),
  lookup_order: tool({
    description: 'Look an order up in the order service.',
    parameters: z.object({ order_id: z.string() }),
    execute: async ({ order_id }) => {
      throw new Error(`order service unavailable while looking up ${order_id}`);
    },
  }),
};

async function main() {
  const cap = await startCapture();
  const web = cap.provider({ 'service.name': 'support-web', 'service.version': '2.9.0' });
  const agent = cap.provider({ 'service.name': 'support-agent-legacy', 'wandb.project': 'callhouse-fixtures' });
  const webTracer = web.getTracer('support-web', '2.9.0');
  const telemetry = (functionId, sessionId) => ({
    isEnabled: true,
    functionId,
    metadata: { sessionId, userId: 'user-42', tenant: 'acme' },
    tracer: agent.getTracer('ai'),
  });

  // One request, two generations: the weather question succeeds over two steps; the order
  // lookup's tool throws, the generation fails and the app answers without it.
  await cap.fixture('aisdk-v4-generate-text-tools', () => inSpan(webTracer, 'POST /api/chat', { 'http.request.method': 'POST', 'http.route': '/api/chat' }, async (span) => {
    await generateText({
      model: mockModel([
        generation({ id: 'resp_1', toolCalls: [toolCall('call_1', 'get_weather', { city: 'Paris' })], finishReason: 'tool-calls', promptTokens: 120, completionTokens: 22, cachedPromptTokens: 64 }),
        generation({ id: 'resp_2', text: 'It is 18°C and sunny in Paris.', finishReason: 'stop', promptTokens: 170, completionTokens: 12, cachedPromptTokens: 128 }),
      ]),
      tools,
      maxSteps: 3,
      system: 'You are a support agent. Use the tools.',
      prompt: 'What is the weather in Paris?',
      temperature: 0.3,
      experimental_telemetry: telemetry('support-chat', 'aisdk-v4-session-1'),
    });
    try {
      await generateText({
        model: mockModel([
          generation({ id: 'resp_3', toolCalls: [toolCall('call_2', 'lookup_order', { order_id: 'A-1042' })], finishReason: 'tool-calls', promptTokens: 130, completionTokens: 20 }),
        ]),
        tools,
        maxSteps: 3,
        messages: [{ role: 'user', content: 'Where is my order A-1042?' }],
        experimental_telemetry: telemetry('support-chat', 'aisdk-v4-session-1'),
      });
    } catch (err) {
      span.setAttribute('app.fallback', err.name);
    }
  }));

  await cap.fixture('aisdk-v4-stream-text', () => inSpan(webTracer, 'POST /api/stream', { 'http.request.method': 'POST', 'http.route': '/api/stream' }, async () => {
    const result = streamText({
      model: new MockLanguageModelV1({
        provider: 'openai.chat',
        modelId: 'gpt-4o',
        doStream: async () => ({
          rawCall: RAW_CALL,
          stream: simulateReadableStream({
            initialDelayInMs: null,
            chunkDelayInMs: null,
            chunks: [
              { type: 'response-metadata', id: 'resp_stream_1', modelId: 'gpt-4o-2024-08-06', timestamp: RESPONSE_TIME },
              { type: 'text-delta', textDelta: 'Callhouse stores ' },
              { type: 'text-delta', textDelta: 'Weave calls ' },
              { type: 'text-delta', textDelta: 'in ClickHouse.' },
              { type: 'finish', finishReason: 'stop', usage: { promptTokens: 48, completionTokens: 9 } },
            ],
          }),
        }),
      }),
      system: 'Answer in one sentence.',
      messages: [{ role: 'user', content: 'What does callhouse do?' }],
      experimental_telemetry: telemetry('support-stream', 'aisdk-v4-session-2'),
    });
    // ai 4 streams lazily: the text settles only once the stream is read.
    let text = '';
    for await (const delta of result.textStream) text += delta;
    return text;
  }));

  await cap.fixture('aisdk-v4-generate-object', () => generateObject({
    model: mockModel([
      generation({ id: 'resp_obj_1', text: JSON.stringify({ sentiment: 'positive', topics: ['billing', 'latency'] }), finishReason: 'stop', promptTokens: 75, completionTokens: 18 }),
    ], { defaultObjectGenerationMode: 'json' }),
    schema: z.object({ sentiment: z.enum(['positive', 'neutral', 'negative']), topics: z.array(z.string()) }),
    schemaName: 'ticket_classification',
    prompt: 'Classify: "Billing works now and the dashboard is much faster."',
    experimental_telemetry: telemetry('classify-ticket', 'aisdk-v4-session-3'),
  }));

  await cap.fixture('aisdk-v4-embed', async () => {
    const model = new MockEmbeddingModelV1({
      provider: 'openai.embedding',
      modelId: 'text-embedding-3-small',
      doEmbed: async ({ values }) => ({
        embeddings: values.map((v, i) => [0.125 * (i + 1), -0.25, v.length / 100]),
        usage: { tokens: values.reduce((n, v) => n + v.split(' ').length, 0) },
      }),
    });
    await embed({ model, value: 'callhouse stores calls', experimental_telemetry: telemetry('embed-query', 'aisdk-v4-session-4') });
    await embedMany({ model, values: ['weave calls', 'in ClickHouse'], experimental_telemetry: telemetry('embed-docs', 'aisdk-v4-session-4') });
  });

  await cap.close();
}

main().catch((err) => { console.error(err); process.exit(1); });
