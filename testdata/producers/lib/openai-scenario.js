// The application the OpenAI instrumentations are run against: the same conversation for every
// instrumentation, so their fixtures differ only in the conventions each one emits.
'use strict';

const { inSpan } = require('./capture');
const { MISSING_MODEL } = require('./fake-openai');

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city.',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city'],
    },
  },
};

const SYSTEM = { role: 'system', content: 'You are a concise assistant for the callhouse docs.' };

// chat: three turns of one conversation, each its own trace under an app span `chat_turn`
// (from the frontend tracer; the instrumented client reports under its own service):
//   1. a plain completion;
//   2. a tool call, the app running the tool in its own span, and the answer with the result;
//   3. a request for a model that does not exist (HTTP 404): the client span (where the
//      instrumentation makes one) and the turn span fail.
// turnAttributes(n) adds the producer's thread/session attributes to each turn span;
// withTurn(fn) lets a producer run the turn in its own context (for context-carried sessions).
async function chat({ client, tracer, turnAttributes = () => ({}), withTurn = (fn) => fn() }) {
  const turn = (n, question, fn) => withTurn(() => inSpan(tracer, 'chat_turn', {
    'chat.turn': n, 'chat.question': question, ...turnAttributes(n),
  }, fn));

  await turn(1, 'What does callhouse do?', () => client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [SYSTEM, { role: 'user', content: 'What does callhouse do?' }],
    temperature: 0.2,
    max_tokens: 200,
  }));

  await turn(2, 'What is the weather in Paris?', async () => {
    const messages = [SYSTEM, { role: 'user', content: 'What is the weather in Paris?' }];
    const first = await client.chat.completions.create({
      model: 'gpt-4o-mini', messages, tools: [WEATHER_TOOL], tool_choice: 'auto',
    });
    const call = first.choices[0].message.tool_calls[0];
    const result = await inSpan(tracer, 'get_weather', {
      'tool.name': call.function.name, 'tool.arguments': call.function.arguments,
    }, async () => JSON.stringify({ city: 'Paris', temperature_c: 18, conditions: 'sunny' }));
    messages.push(first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: result });
    return client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [WEATHER_TOOL] });
  });

  // The turn span records the error too, as an app that lets it propagate does.
  await turn(3, 'Summarise our chat.', () => client.chat.completions.create({
    model: MISSING_MODEL, messages: [SYSTEM, { role: 'user', content: 'Summarise our chat.' }],
  })).catch((err) => {
    if (err.status !== 404) throw err;
  });
}

// stream: one streamed completion with usage reported in the last chunk.
async function stream({ client, tracer, turnAttributes = () => ({}), withTurn = (fn) => fn() }) {
  await withTurn(() => inSpan(tracer, 'chat_turn', { 'chat.turn': 1, ...turnAttributes(1) }, async () => {
    const chunks = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [SYSTEM, { role: 'user', content: 'Stream me a one-line summary of callhouse.' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    for await (const chunk of chunks) text += (chunk.choices[0] && chunk.choices[0].delta.content) || '';
    return text;
  }));
}

module.exports = { chat, stream };
