// A small OpenAI-compatible server on 127.0.0.1 with canned, deterministic answers, so the real
// openai client (and the instrumentations wrapped around it) run end to end without a network.
//
//   POST /v1/chat/completions  text answer, or a tool call when tools are offered and no tool
//                              result is in the conversation yet; streaming (SSE) with
//                              stream_options.include_usage; usage with cached prompt tokens.
//   POST /v1/embeddings        small fixed vectors (float or base64, as requested).
//   model "gpt-does-not-exist" 404 model_not_found, the way the real API refuses it.
'use strict';

const http = require('node:http');

const CREATED = 1767225600; // 2026-01-01T00:00:00Z: fixed so answers do not depend on the clock.
const MISSING_MODEL = 'gpt-does-not-exist';

// Dated snapshot names, as the real API reports the model that served a request.
const SNAPSHOTS = {
  'gpt-4o-mini': 'gpt-4o-mini-2024-07-18',
  'gpt-4o': 'gpt-4o-2024-08-06',
  'text-embedding-3-small': 'text-embedding-3-small',
};

// Canned arguments for the tools the producer scripts offer.
const TOOL_ARGS = {
  get_weather: { city: 'Paris', unit: 'celsius' },
  lookup_order: { order_id: 'A-1042' },
};

function tokens(value) {
  return Math.max(1, Math.ceil(JSON.stringify(value).length / 4));
}

function usage(messages, completion) {
  const prompt = tokens(messages);
  const out = tokens(completion);
  return {
    prompt_tokens: prompt,
    completion_tokens: out,
    total_tokens: prompt + out,
    prompt_tokens_details: { cached_tokens: Math.floor(prompt / 2), audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function answer(body) {
  const messages = body.messages || [];
  const toolResults = messages.filter((m) => m.role === 'tool');
  if (body.tools && body.tools.length > 0 && toolResults.length === 0) {
    const calls = body.tools.map((t, i) => ({
      id: `call_fixture_${i + 1}`,
      type: 'function',
      function: { name: t.function.name, arguments: JSON.stringify(TOOL_ARGS[t.function.name] || {}) },
    }));
    return { message: { role: 'assistant', content: null, tool_calls: calls, refusal: null }, finish: 'tool_calls' };
  }
  const content = toolResults.length > 0
    ? `Based on the tool results: ${toolResults.map((m) => m.content).join('; ')}`
    : 'Callhouse turns OpenTelemetry spans into Weave calls stored in ClickHouse.';
  return { message: { role: 'assistant', content, refusal: null }, finish: 'stop' };
}

let seq = 0;

function chat(body, res) {
  const id = `chatcmpl-fixture${String(++seq).padStart(4, '0')}`;
  const model = SNAPSHOTS[body.model] || body.model;
  const { message, finish } = answer(body);
  const use = usage(body.messages, message);
  if (!body.stream) {
    send(res, 200, {
      id, object: 'chat.completion', created: CREATED, model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
      usage: use, service_tier: 'default', system_fingerprint: 'fp_fixture',
    });
    return;
  }
  const chunk = (choices, extra = {}) => ({
    id, object: 'chat.completion.chunk', created: CREATED, model,
    service_tier: 'default', system_fingerprint: 'fp_fixture', choices, ...extra,
  });
  const deltas = [{ role: 'assistant', content: message.content === null ? null : '', refusal: null }];
  if (message.tool_calls) {
    message.tool_calls.forEach((c, index) => deltas.push({
      tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: c.function.arguments } }],
    }));
  } else {
    for (const word of message.content.match(/\S+\s*/g)) deltas.push({ content: word });
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': `req_${id}` });
  for (const delta of deltas) {
    res.write(`data: ${JSON.stringify(chunk([{ index: 0, delta, logprobs: null, finish_reason: null }]))}\n\n`);
  }
  res.write(`data: ${JSON.stringify(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finish }]))}\n\n`);
  if (body.stream_options && body.stream_options.include_usage) {
    res.write(`data: ${JSON.stringify(chunk([], { usage: use }))}\n\n`);
  }
  res.end('data: [DONE]\n\n');
}

function embeddings(body, res) {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const data = inputs.map((text, index) => {
    const vector = Array.from({ length: 8 }, (_, i) => Number((((String(text).length * (i + 1)) % 17) / 17 - 0.5).toFixed(6)));
    const embedding = body.encoding_format === 'base64'
      ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
      : vector;
    return { object: 'embedding', index, embedding };
  });
  const prompt = inputs.reduce((n, t) => n + tokens(t), 0);
  send(res, 200, {
    object: 'list', data, model: SNAPSHOTS[body.model] || body.model,
    usage: { prompt_tokens: prompt, total_tokens: prompt },
  });
}

function send(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_fixture${seq}` });
  res.end(JSON.stringify(value));
}

async function startFakeOpenAI() {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      if (body.model === MISSING_MODEL) {
        send(res, 404, { error: {
          message: `The model \`${MISSING_MODEL}\` does not exist or you do not have access to it.`,
          type: 'invalid_request_error', param: null, code: 'model_not_found',
        } });
      } else if (req.method === 'POST' && req.url === '/v1/chat/completions') {
        chat(body, res);
      } else if (req.method === 'POST' && req.url === '/v1/embeddings') {
        embeddings(body, res);
      } else {
        send(res, 404, { error: { message: `Unknown request URL: ${req.method} ${req.url}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseURL: `http://127.0.0.1:${server.address().port}/v1`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

module.exports = { startFakeOpenAI, MISSING_MODEL };
