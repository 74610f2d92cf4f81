// OpenInference: @arizeai/openinference-instrumentation-openai around the openai client, against
// the fake OpenAI server. Sessions and users travel in the context, as OpenInference apps set them
// (openinference-core setSession / setUser / setMetadata); the instrumentation copies them onto
// its spans as session.id, user.id, metadata.
'use strict';

const { context } = require('@opentelemetry/api');
const { setMetadata, setSession, setUser } = require('@arizeai/openinference-core');
const { OpenAIInstrumentation } = require('@arizeai/openinference-instrumentation-openai');
const openaiModule = require('openai');
const { startCapture, inSpan } = require('./lib/capture');
const { startFakeOpenAI } = require('./lib/fake-openai');
const scenario = require('./lib/openai-scenario');

async function main() {
  const fake = await startFakeOpenAI();
  const cap = await startCapture();
  const frontend = cap.provider({ 'service.name': 'chat-frontend', 'service.version': '1.4.0', 'wandb.project': 'callhouse-fixtures' });
  const backend = cap.provider({ 'service.name': 'llm-gateway', 'deployment.environment.name': 'test' });

  const instrumentation = new OpenAIInstrumentation({ instrumentationConfig: { enabled: false }, tracerProvider: backend });
  instrumentation.manuallyInstrument(openaiModule);
  const client = new openaiModule.OpenAI({ apiKey: 'sk-fixture', baseURL: fake.baseURL, maxRetries: 0 });
  const tracer = frontend.getTracer('chat-frontend', '1.4.0');

  const withSession = (sessionId) => (fn) => {
    let ctx = setSession(context.active(), { sessionId });
    ctx = setUser(ctx, { userId: 'user-7' });
    ctx = setMetadata(ctx, { tenant: 'acme', plan: 'pro' });
    return context.with(ctx, fn);
  };

  await cap.fixture('openinference-chat', () => scenario.chat({ client, tracer, withTurn: withSession('oi-session-chat') }));
  await cap.fixture('openinference-stream', () => scenario.stream({ client, tracer, withTurn: withSession('oi-session-stream') }));
  await cap.fixture('openinference-embeddings', () => inSpan(tracer, 'index_documents', { 'documents.count': 2 }, () =>
    client.embeddings.create({ model: 'text-embedding-3-small', input: ['callhouse stores calls', 'in ClickHouse'] })));

  await cap.close();
  await fake.close();
}

main().catch((err) => { console.error(err); process.exit(1); });
