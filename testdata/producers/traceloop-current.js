// Traceloop current: @traceloop/instrumentation-openai 0.27.0 (GenAI semconv:
// gen_ai.input.messages / gen_ai.output.messages, gen_ai.usage.input_tokens) with openai 6.
// The thread is gen_ai.conversation.id on the app's turn span.
'use strict';

const { OpenAIInstrumentation } = require('@traceloop/instrumentation-openai');
const { OpenAI } = require('openai');
const { inSpan } = require('./lib/capture');
const { MISSING_MODEL } = require('./lib/fake-openai');
const { run } = require('./lib/traceloop');

// This release records a failed *streamed Responses* request on its span (its chat path, like
// the legacy one, leaves the span of a failed request unended, so it is never exported).
async function responsesError(cap, { client, tracer }) {
  await cap.fixture('traceloop-current-responses-error', () => inSpan(tracer, 'chat_turn', {
    'chat.turn': 1, 'gen_ai.conversation.id': 'traceloop-current-responses-error',
  }, () => client.responses.create({
    model: MISSING_MODEL, instructions: 'Answer briefly.', input: 'Summarise our chat.', stream: true,
  })).catch((err) => {
    if (err.status !== 404) throw err;
  }));
}

run({
  prefix: 'traceloop-current',
  Instrumentation: OpenAIInstrumentation,
  OpenAI,
  turnAttributes: (thread) => ({ 'gen_ai.conversation.id': thread }),
  extra: responsesError,
}).catch((err) => { console.error(err); process.exit(1); });
