// Traceloop (OpenLLMetry JS) OpenAI instrumentation around the openai client, against the fake
// OpenAI server; the legacy and current scripts differ only in the package versions they load.
'use strict';

const { startCapture } = require('./capture');
const { startFakeOpenAI } = require('./fake-openai');
const scenario = require('./openai-scenario');

// run writes <prefix>-chat and <prefix>-stream. Instrumentation is the package's
// OpenAIInstrumentation class, OpenAI the client class of a supported openai major;
// turnAttributes(thread, n) are the session attributes the app sets on its turn spans;
// extra(cap, { client, tracer }) writes any further fixtures of one release.
async function run({ prefix, Instrumentation, OpenAI, turnAttributes, extra = async () => {} }) {
  const fake = await startFakeOpenAI();
  const cap = await startCapture();
  const frontend = cap.provider({ 'service.name': 'support-bot', 'wandb.project': 'callhouse-fixtures', 'wandb.entity': 'callhouse' });
  const backend = cap.provider({ 'service.name': 'support-bot-llm', 'service.namespace': 'support' });

  // Loaded under an npm alias, so the require hook cannot see the module: patch it by hand.
  // enrichTokens as the Traceloop SDK sets it by default: streamed answers get token counts.
  const instrumentation = new Instrumentation({ enabled: false, enrichTokens: true });
  instrumentation.setTracerProvider(backend);
  instrumentation.manuallyInstrument(OpenAI);
  const client = new OpenAI({ apiKey: 'sk-fixture', baseURL: fake.baseURL, maxRetries: 0 });
  const tracer = frontend.getTracer('support-bot', '2.0.1');

  await cap.fixture(`${prefix}-chat`, () => scenario.chat({ client, tracer, turnAttributes: (n) => turnAttributes(`${prefix}-chat`, n) }));
  await cap.fixture(`${prefix}-stream`, () => scenario.stream({ client, tracer, turnAttributes: (n) => turnAttributes(`${prefix}-stream`, n) }));

  await extra(cap, { client, tracer });

  await cap.close();
  await fake.close();
}

module.exports = { run };
