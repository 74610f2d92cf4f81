// Langfuse JS SDK (OTel-native): @langfuse/tracing observations and @langfuse/openai
// (observeOpenAI around the openai client, against the fake OpenAI server).
//
// @langfuse/tracing creates its spans with the tracer "langfuse-sdk" of the provider given to
// setLangfuseTracerProvider (or else the global one), so the Langfuse SDK of each service is
// pointed at that service's provider from lib/capture.js. The trace-level fields (user, session,
// tags, trace name, trace metadata, version) are set with propagateAttributes, the SDK's way;
// trace input/output with setTraceIO.
//
// Each case is written twice:
//   langfuse-<case>                 our BatchSpanProcessor + OTLP/JSON exporter (an app that uses
//                                   the Langfuse SDK with an existing OpenTelemetry pipeline);
//   langfuse-<case>-spanprocessor   the SDK's LangfuseSpanProcessor (@langfuse/otel) around the same
//                                   exporter, the processor a Langfuse setup installs; it copies the
//                                   propagated attributes onto every span it starts, adds
//                                   langfuse.environment and langfuse.internal.is_app_root, and drops
//                                   spans that are neither Langfuse, gen_ai.* nor known LLM scopes.
'use strict';

const { OpenAI } = require('openai');
const { observeOpenAI } = require('@langfuse/openai');
const { LangfuseSpanProcessor } = require('@langfuse/otel');
const {
  getLangfuseTracerProvider, observe, propagateAttributes, setLangfuseTracerProvider,
  startActiveObservation, startObservation,
} = require('@langfuse/tracing');
const { startCapture, inSpan } = require('./lib/capture');
const { startFakeOpenAI, MISSING_MODEL } = require('./lib/fake-openai');

// inService runs fn with the Langfuse SDK reporting under provider (the other service's SDK).
async function inService(provider, fn) {
  const previous = getLangfuseTracerProvider();
  setLangfuseTracerProvider(provider);
  try {
    return await fn();
  } finally {
    setLangfuseTracerProvider(previous);
  }
}

const QUESTION = 'How long does callhouse keep raw spans?';
const SOURCES = [
  { url: '/docs/retention', title: 'Data retention', snippet: 'Raw spans are kept for 30 days.' },
  { url: '/docs/storage', title: 'Storage', snippet: 'Calls are stored in ClickHouse.' },
];

// agent: one request of a research assistant, all observations of @langfuse/tracing:
//   handle-research-request (span, app root; trace attributes propagated, trace IO set)
//   └ research-agent (agent)
//     ├ retrieval-cache-miss (event)
//     ├ search_docs (tool, observe(): input = the argument, output = the return value)
//     ├ fetch_page (tool, observe(): throws, the agent carries on)
//     ├ generate-answer (generation, from the LLM service: model, parameters, usage, cost)
//     └ citation-check (guardrail, ended with level ERROR and a status message, nothing thrown)
//   └ save-history (span, startActiveObservation(): throws, the root carries on)
async function agent({ web, llm, session }) {
  setLangfuseTracerProvider(web);

  const searchDocs = observe(async ({ query, limit }) => SOURCES.slice(0, limit).map((s, i) => ({ ...s, rank: i + 1, query })), {
    name: 'search_docs', asType: 'tool',
  });
  const fetchPage = observe(async (url) => {
    throw new Error(`GET ${url}: 503 Service Unavailable`);
  }, { name: 'fetch_page', asType: 'tool' });

  return startActiveObservation('handle-research-request', async (root) => {
    root.update({ input: { question: QUESTION }, metadata: { route: 'POST /api/research', request_id: 'req-1001' } });
    return propagateAttributes({
      userId: 'user-42',
      sessionId: session,
      tags: ['research', 'beta'],
      traceName: 'research-request',
      metadata: { tenant: 'acme', plan: 'pro' },
      version: '2.3.0',
    }, async () => {
      const answer = await startActiveObservation('research-agent', async (span) => {
        span.update({ input: { question: QUESTION, max_steps: 4 }, metadata: { strategy: 'search-then-answer' } });
        startObservation('retrieval-cache-miss', { input: { key: 'retention' }, metadata: { cache: 'redis' } }, { asType: 'event' });

        const hits = await searchDocs({ query: 'raw span retention', limit: 2 });
        let page = hits[0].snippet;
        try {
          page = await fetchPage(hits[0].url);
        } catch {
          // The page is down: answer from the search snippet.
        }

        const messages = [
          { role: 'system', content: 'Answer from the sources only and cite them.' },
          { role: 'user', content: `${QUESTION}\n\nSources:\n${page}` },
        ];
        const text = await inService(llm, async () => {
          const generation = startObservation('generate-answer', {
            model: 'gpt-4o-mini',
            input: messages,
            modelParameters: { temperature: 0.2, max_tokens: 300, top_p: 1 },
            metadata: { provider: 'openai' },
          }, { asType: 'generation' });
          const completionStartTime = new Date();
          const output = { role: 'assistant', content: 'Raw spans are kept for 30 days [1].' };
          generation.update({
            output,
            completionStartTime,
            usageDetails: { input: 156, output: 23, total: 435, cache_read_input_tokens: 256 },
            costDetails: { input: 0.0000618, output: 0.0000138, total: 0.0000756 },
          }).end();
          return output.content;
        });

        const check = startObservation('citation-check', { input: { answer: text, citations: ['[1]'] } }, { asType: 'guardrail' });
        check.update({
          output: { verified: 0, unverified: 1 },
          level: 'ERROR',
          statusMessage: 'citation [1] could not be verified: source page unavailable',
        }).end();

        span.update({ output: { answer: text, steps: 3 } });
        return text;
      }, { asType: 'agent' });

      await startActiveObservation('save-history', async (span) => {
        span.update({ input: { session, turns: 1 } });
        throw new Error('history store unavailable: connection refused');
      }).catch(() => {
        // History is best effort: the answer is still returned.
      });

      root.update({ output: { answer } });
      root.setTraceIO({ input: { question: QUESTION }, output: { answer } });
      return answer;
    });
  });
}

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city.',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

// openai: one app span chat_turn (plain OpenTelemetry, app service) around four calls of an
// observeOpenAI-wrapped client (LLM service): a tool call, the app's get_weather span, the answer
// with the tool result, a streamed answer, and a request for a missing model (HTTP 404, caught).
async function openai({ tracer, llm, baseURL, session }) {
  setLangfuseTracerProvider(llm);
  const client = observeOpenAI(new OpenAI({ apiKey: 'sk-fixture', baseURL, maxRetries: 0 }), {
    traceName: 'support-chat',
    sessionId: session,
    userId: 'user-7',
    tags: ['chat'],
    generationMetadata: { feature: 'docs-assistant' },
  });
  const system = { role: 'system', content: 'You are a concise assistant for the callhouse docs.' };

  await inSpan(tracer, 'chat_turn', { 'chat.turn': 1 }, async () => {
    const messages = [system, { role: 'user', content: 'What is the weather in Paris?' }];
    const first = await client.chat.completions.create({
      model: 'gpt-4o-mini', messages, tools: [WEATHER_TOOL], tool_choice: 'auto',
    });
    const call = first.choices[0].message.tool_calls[0];
    const result = await inSpan(tracer, 'get_weather', { 'tool.name': call.function.name, 'tool.arguments': call.function.arguments },
      async () => JSON.stringify({ city: 'Paris', temperature_c: 18, conditions: 'sunny' }));
    messages.push(first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: result });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [WEATHER_TOOL], temperature: 0.2, max_tokens: 200 });

    const chunks = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [system, { role: 'user', content: 'Stream me a one-line summary of callhouse.' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of chunks) void chunk;

    await client.chat.completions.create({
      model: MISSING_MODEL, messages: [system, { role: 'user', content: 'Summarise our chat.' }],
    }).catch((err) => {
      if (err.status !== 404) throw err;
    });
  });
}

async function main() {
  const fake = await startFakeOpenAI();
  const cap = await startCapture();
  const langfuse = {
    processor: (exporter) => new LangfuseSpanProcessor({ exporter, environment: 'test', mediaUploadEnabled: false }),
  };

  const agentServices = (opts) => ({
    web: cap.provider({ 'service.name': 'research-web', 'service.version': '2.3.0', 'wandb.project': 'callhouse-fixtures', 'wandb.entity': 'callhouse' }, opts),
    llm: cap.provider({ 'service.name': 'research-llm' }, opts),
  });
  const chatServices = (opts) => ({
    tracer: cap.provider({ 'service.name': 'assistant-web' }).getTracer('assistant-web', '0.9.0'),
    llm: cap.provider({ 'service.name': 'assistant-llm', 'wandb.project': 'callhouse-fixtures' }, opts),
  });

  await cap.fixture('langfuse-agent', () => agent({ ...agentServices(), session: 'lf-session-agent' }));
  await cap.fixture('langfuse-agent-spanprocessor', () => agent({ ...agentServices(langfuse), session: 'lf-session-agent-sp' }));
  await cap.fixture('langfuse-openai', () => openai({ ...chatServices(), baseURL: fake.baseURL, session: 'lf-session-openai' }));
  await cap.fixture('langfuse-openai-spanprocessor', () => openai({ ...chatServices(langfuse), baseURL: fake.baseURL, session: 'lf-session-openai-sp' }));

  await cap.close();
  await fake.close();
}

main().catch((err) => { console.error(err); process.exit(1); });
