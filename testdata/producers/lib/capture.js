// Capture: a tiny OTLP/HTTP receiver on 127.0.0.1 plus the tracer providers that export to it
// through the real OTLP/HTTP JSON exporter, so each fixture holds exactly what a producer sends.
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { context, trace } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { defaultResource, resourceFromAttributes } = require('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');

// Fixtures land in the repository's testdata directory, next to this package.
const TESTDATA = path.resolve(__dirname, '..', '..');

// Parent spans must follow awaits, as they do under the Node SDK.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

// A producer that never settles (an unread stream, a span never ended) must fail, not hang `make`.
const WATCHDOG_MS = 120000;

async function startCapture() {
  const watchdog = setTimeout(() => {
    console.error(`capture: no result after ${WATCHDOG_MS / 1000}s, giving up`);
    process.exit(1);
  }, WATCHDOG_MS);
  let requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      if (!String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(415).end();
        throw new Error(`capture: expected OTLP/JSON, got ${req.headers['content-type']}`);
      }
      requests.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/v1/traces`;
  const providers = [];

  return {
    // provider returns a tracer provider for one service (resource); spans go to the capture server.
    // processor(exporter) builds the span processor around the exporter (default: BatchSpanProcessor),
    // for producers that ship their own processor (Langfuse's LangfuseSpanProcessor).
    provider(attributes, { processor = (exporter) => new BatchSpanProcessor(exporter) } = {}) {
      const tp = new BasicTracerProvider({
        resource: defaultResource().merge(resourceFromAttributes(attributes)),
        spanProcessors: [processor(new OTLPTraceExporter({ url }))],
      });
      providers.push(tp);
      return tp;
    },
    // fixture runs fn, flushes every provider and writes what arrived as testdata/<name>.otlp.json:
    // the export requests merged into one ExportTraceServiceRequest, in arrival order.
    async fixture(name, fn) {
      requests = [];
      await fn();
      for (const tp of providers) await tp.forceFlush();
      const merged = { resourceSpans: requests.flatMap((r) => r.resourceSpans || []) };
      const spans = merged.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
      if (spans.length === 0) throw new Error(`${name}: no spans captured`);
      const file = path.join(TESTDATA, `${name}.otlp.json`);
      fs.writeFileSync(file, JSON.stringify(merged, null, 2) + '\n');
      console.log(`${path.relative(process.cwd(), file)}: ${spans.length} spans`);
    },
    async close() {
      clearTimeout(watchdog);
      for (const tp of providers) await tp.shutdown();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// inSpan runs fn inside an active span of tracer, recording a thrown error on the span the way
// application code instrumented with @opentelemetry/api does.
function inSpan(tracer, name, attributes, fn) {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err);
      span.setStatus({ code: 2, message: err.message });
      throw err;
    } finally {
      span.end();
    }
  });
}

module.exports = { startCapture, inSpan, trace };
