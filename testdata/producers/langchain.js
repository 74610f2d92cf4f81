// LangChain.js traced by OpenInference: @arizeai/openinference-instrumentation-langchain around
// @langchain/core's callback manager, a ChatOpenAI model (@langchain/openai, against the fake
// OpenAI server), a tool and a retriever. Every span is the instrumentation's: chains, the LLM
// calls, the tool and the retriever (openinference.span.kind CHAIN, LLM, TOOL, RETRIEVER), under
// one app span per turn. Sessions and users travel in the context (openinference-core).
'use strict';

// LangChain.js runs callbacks in the background by default; the instrumentation then starts the
// first run of a later turn under the span that was active when the callback queue began (the
// previous turn's), in the previous turn's trace. Awaited callbacks parent every run right, as a
// server that sets this does (LangChain recommends it for serverless too).
process.env.LANGCHAIN_CALLBACKS_BACKGROUND = 'false';

const { context } = require('@opentelemetry/api');
const { setSession, setUser } = require('@arizeai/openinference-core');
const { LangChainInstrumentation } = require('@arizeai/openinference-instrumentation-langchain');
const CallbackManagerModule = require('@langchain/core/callbacks/manager');
const { ChatPromptTemplate } = require('@langchain/core/prompts');
const { StringOutputParser } = require('@langchain/core/output_parsers');
const { RunnableSequence, RunnableLambda } = require('@langchain/core/runnables');
const { BaseRetriever } = require('@langchain/core/retrievers');
const { Document } = require('@langchain/core/documents');
const { tool } = require('@langchain/core/tools');
const { HumanMessage, SystemMessage, ToolMessage } = require('@langchain/core/messages');
const { ChatOpenAI } = require('@langchain/openai');
const { z } = require('zod');
const { startCapture, inSpan } = require('./lib/capture');
const { startFakeOpenAI } = require('./lib/fake-openai');

// DocsRetriever returns two fixed passages of the callhouse docs, whatever the query.
class DocsRetriever extends BaseRetriever {
  lc_namespace = ['callhouse', 'retrievers'];

  async _getRelevantDocuments(query) {
    return [
      new Document({ pageContent: 'callhouse maps OpenTelemetry spans to Weave calls.', metadata: { source: 'README.md', score: 0.92 } }),
      new Document({ pageContent: 'Calls are stored in ClickHouse, in weave.calls.', metadata: { source: 'exporter/README.md', score: 0.87 } }),
    ];
  }
}

async function main() {
  const fake = await startFakeOpenAI();
  const cap = await startCapture();
  const app = cap.provider({ 'service.name': 'research-assistant', 'service.version': '0.9.0', 'wandb.project': 'callhouse-fixtures' });

  const instrumentation = new LangChainInstrumentation({ tracerProvider: app });
  instrumentation.manuallyInstrument(CallbackManagerModule);
  const tracer = app.getTracer('research-assistant', '0.9.0');
  const model = new ChatOpenAI({
    model: 'gpt-4o-mini', temperature: 0.2, apiKey: 'sk-fixture', maxRetries: 0,
    configuration: { baseURL: fake.baseURL },
  });

  const withSession = (sessionId, fn) => {
    let ctx = setSession(context.active(), { sessionId });
    ctx = setUser(ctx, { userId: 'user-11' });
    return context.with(ctx, fn);
  };

  await cap.fixture('openinference-langchain', async () => {
    // Turn 1: retrieval-augmented answer, retriever → prompt → model → parser in one sequence.
    const retriever = new DocsRetriever();
    const prompt = ChatPromptTemplate.fromMessages([
      ['system', 'Answer from the context only.\n\nContext:\n{context}'],
      ['human', '{question}'],
    ]);
    const rag = RunnableSequence.from([
      {
        context: RunnableLambda.from(async (input) => (await retriever.invoke(input.question)).map((d) => d.pageContent).join('\n')).withConfig({ runName: 'retrieve_docs' }),
        question: RunnableLambda.from((input) => input.question),
      },
      prompt,
      model,
      new StringOutputParser(),
    ]).withConfig({ runName: 'rag_answer' });
    await withSession('lc-session-1', () => inSpan(tracer, 'chat_turn', { 'chat.turn': 1 }, () =>
      rag.invoke({ question: 'Where does callhouse store calls?' })));

    // Turn 2: a tool call, the tool run by LangChain, and the answer with its result.
    const getWeather = tool(async ({ city }) => JSON.stringify({ city, temperature_c: 18, conditions: 'sunny' }), {
      name: 'get_weather',
      description: 'Current weather for a city.',
      schema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']).optional() }),
    });
    const withTools = model.bindTools([getWeather]);
    await withSession('lc-session-1', () => inSpan(tracer, 'chat_turn', { 'chat.turn': 2 }, async () => {
      const messages = [new SystemMessage('You are a concise assistant.'), new HumanMessage('What is the weather in Paris?')];
      const first = await withTools.invoke(messages);
      messages.push(first);
      for (const call of first.tool_calls) {
        const result = await getWeather.invoke(call.args);
        messages.push(new ToolMessage({ content: result, tool_call_id: call.id }));
      }
      return withTools.invoke(messages);
    }));
  });

  await cap.close();
  await fake.close();
}

main().catch((err) => { console.error(err); process.exit(1); });
