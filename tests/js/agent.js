// An agent run as a JavaScript service records it with the OpenTelemetry SDK: an
// invoke_agent span over two model calls, exported to serve over OTLP/HTTP protobuf.
// Usage: node agent.js http://127.0.0.1:PORT [token]
const { BasicTracerProvider, SimpleSpanProcessor } = require("@opentelemetry/sdk-trace-base");
const { OTLPTraceExporter } = require("@opentelemetry/exporter-trace-otlp-proto");
const { resourceFromAttributes } = require("@opentelemetry/resources");
const api = require("@opentelemetry/api");

const [base, token] = process.argv.slice(2);
const headers = token ? { Authorization: `Bearer ${token}` } : {};
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({
    "service.name": "lead-scorer",
    "werkpilot.department": "sales",
    "host.name": "node-host",
  }),
  spanProcessors: [
    new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${base}/v1/traces`, headers })),
  ],
});
const tracer = provider.getTracer("agent");

const run = tracer.startSpan("invoke_agent scorer", {
  attributes: { "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "scorer" },
});
const ctx = api.trace.setSpan(api.context.active(), run);
const calls = [
  ["claude-sonnet-4-5", 1200, 300, 200],
  ["claude-haiku-4-5", 800, 100, 0],
];
for (const [model, input, output, cacheRead] of calls) {
  const span = tracer.startSpan(`chat ${model}`, {}, ctx);
  span.setAttributes({
    "gen_ai.operation.name": "chat",
    "gen_ai.agent.name": "scorer",
    "gen_ai.request.model": model,
    "gen_ai.usage.input_tokens": input,
    "gen_ai.usage.output_tokens": output,
    "gen_ai.usage.cache_read.input_tokens": cacheRead,
  });
  span.end();
}
run.end();
provider.forceFlush().then(() => provider.shutdown()).then(
  () => console.log("exported"),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
