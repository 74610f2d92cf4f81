// Traceloop legacy: @traceloop/instrumentation-openai 0.22.5 (indexed gen_ai.prompt.N.* /
// gen_ai.completion.N.* keys, llm.usage.total_tokens) with openai 5. The session is an
// association property on the app's turn span, under the key the Traceloop SDK uses.
'use strict';

const { OpenAIInstrumentation } = require('traceloop-instrumentation-openai-legacy');
const { OpenAI } = require('openai-v5');
const { run } = require('./lib/traceloop');

run({
  prefix: 'traceloop-legacy',
  Instrumentation: OpenAIInstrumentation,
  OpenAI,
  turnAttributes: (thread) => ({ 'traceloop.association.properties.session_id': thread }),
}).catch((err) => { console.error(err); process.exit(1); });
