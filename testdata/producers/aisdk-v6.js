// Vercel AI SDK, current telemetry: ai 6 (the newest major that runs on Node 20) with its mock
// language / embedding models from ai/test. Usage as inputTokens / outputTokens (plus
// cache-read details), tool calls as ai.toolCall spans; a tool that throws fails its span
// while the generation goes on. The mock reports provider "openai.chat" and real model ids so
// the fixtures exercise model pricing; no network is involved.
'use strict';

const { embed, embedMany, generateObject, generateText, stepCountIs, streamText, tool } = require('ai');
const { MockEmbeddingModelV3, MockLanguageModelV3, convertArrayToReadableStream } = require('ai/test');
const { z } = require('zod');
const { startCapture, inSpan } = require('./lib/capture');

const RESPONSE_TIME = new Date('2026-01-01T00:00:00Z');

function usage(input, cacheRead, output) {
  return {
    inputTokens: { total: input, noCache: input - cacheRead, cacheRead, cacheWrite: 0 },
    outputTokens: { total: output, text: output, reasoning: 0 },
  };
}

function response(id, modelId) {
  return { id, modelId, timestamp: RESPONSE_TIME };
}

const tools = {
  get_weather: tool({
    description: 'Current weather for a city.',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => ({ city, temperature_c: 18, conditions: 'sunny' }),
  }),
  lookup_order: tool({
    description: 'Look an order up in the order service.',
    inputSchema: z.object({ order_id: z.string() }),
    execute: async ({ order_id }) => {
      throw new Error(`order service unavailable while looking up ${order_id}`);
    },
  }),
};

async function main() {
  const cap = await startCapture();
  const web = cap.provider({ 'service.name': 'support-web', 'service.version': '3.2.0' });
  const agent = cap.provider({ 'service.name': 'support-agent', 'wandb.project': 'callhouse-fixtures', 'wandb.entity': 'callhouse' });
  const webTracer = web.getTracer('support-web', '3.2.0');
  const telemetry = (functionId, sessionId) => ({
    isEnabled: true,
    functionId,
    metadata: { sessionId, userId: 'user-42', tenant: 'acme' },
    tracer: agent.getTracer('ai'),
  });

  await cap.fixture('aisdk-v6-generate-text-tools', () => inSpan(webTracer, 'POST /api/chat', { 'http.request.method': 'POST', 'http.route': '/api/chat' }, () => {
    const model = new MockLanguageModelV3({
      provider: 'openai.chat',
      modelId: 'gpt-4o-mini',
      doGenerate: [
        {
          content: [
            { type: 'tool-call', toolCallId: 'call_1', toolName: 'get_weather', input: JSON.stringify({ city: 'Paris' }) },
            { type: 'tool-call', toolCallId: 'call_2', toolName: 'lookup_order', input: JSON.stringify({ order_id: 'A-1042' }) },
          ],
          finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
          usage: usage(120, 64, 40),
          warnings: [],
          response: response('resp_1', 'gpt-4o-mini-2024-07-18'),
        },
        {
          content: [{ type: 'text', text: 'It is 18°C and sunny in Paris. I could not reach the order service, please try again later.' }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage: usage(210, 128, 24),
          warnings: [],
          response: response('resp_2', 'gpt-4o-mini-2024-07-18'),
        },
      ],
    });
    return generateText({
      model,
      tools,
      stopWhen: stepCountIs(3),
      system: 'You are a support agent. Use the tools.',
      prompt: 'What is the weather in Paris, and where is my order A-1042?',
      temperature: 0.3,
      experimental_telemetry: telemetry('support-chat', 'aisdk-v6-session-1'),
    });
  }));

  await cap.fixture('aisdk-v6-stream-text', () => inSpan(webTracer, 'POST /api/stream', { 'http.request.method': 'POST', 'http.route': '/api/stream' }, async () => {
    const model = new MockLanguageModelV3({
      provider: 'openai.chat',
      modelId: 'gpt-4o',
      doStream: {
        stream: convertArrayToReadableStream([
          { type: 'stream-start', warnings: [] },
          { type: 'response-metadata', ...response('resp_stream_1', 'gpt-4o-2024-08-06') },
          { type: 'text-start', id: 'text_1' },
          { type: 'text-delta', id: 'text_1', delta: 'Callhouse stores ' },
          { type: 'text-delta', id: 'text_1', delta: 'Weave calls ' },
          { type: 'text-delta', id: 'text_1', delta: 'in ClickHouse.' },
          { type: 'text-end', id: 'text_1' },
          { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage: usage(48, 0, 9) },
        ]),
      },
    });
    const result = streamText({
      model,
      system: 'Answer in one sentence.',
      messages: [{ role: 'user', content: 'What does callhouse do?' }],
      experimental_telemetry: telemetry('support-stream', 'aisdk-v6-session-2'),
    });
    return result.text;
  }));

  await cap.fixture('aisdk-v6-generate-object', () => generateObject({
    model: new MockLanguageModelV3({
      provider: 'openai.chat',
      modelId: 'gpt-4o-mini',
      doGenerate: {
        content: [{ type: 'text', text: JSON.stringify({ sentiment: 'positive', topics: ['billing', 'latency'] }) }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: usage(75, 0, 18),
        warnings: [],
        response: response('resp_obj_1', 'gpt-4o-mini-2024-07-18'),
      },
    }),
    schema: z.object({ sentiment: z.enum(['positive', 'neutral', 'negative']), topics: z.array(z.string()) }),
    schemaName: 'ticket_classification',
    prompt: 'Classify: "Billing works now and the dashboard is much faster."',
    experimental_telemetry: telemetry('classify-ticket', 'aisdk-v6-session-3'),
  }));

  await cap.fixture('aisdk-v6-embed', async () => {
    const model = new MockEmbeddingModelV3({
      provider: 'openai.embedding',
      modelId: 'text-embedding-3-small',
      doEmbed: async ({ values }) => ({
        embeddings: values.map((v, i) => [0.125 * (i + 1), -0.25, v.length / 100]),
        usage: { tokens: values.reduce((n, v) => n + v.split(' ').length, 0) },
        warnings: [],
      }),
    });
    await embed({ model, value: 'callhouse stores calls', experimental_telemetry: telemetry('embed-query', 'aisdk-v6-session-4') });
    await embedMany({ model, values: ['weave calls', 'in ClickHouse'], experimental_telemetry: telemetry('embed-docs', 'aisdk-v6-session-4') });
  });

  await cap.close();
}

main().catch((err) => { console.error(err); process.exit(1); });
