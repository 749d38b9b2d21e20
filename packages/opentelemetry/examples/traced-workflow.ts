import { AgentBus, createTransport } from '@a2a-bus/core';
import { createBusTelemetry } from '@a2a-bus/opentelemetry';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

// What the OpenTelemetry Node SDK sets up for you; spans kept in memory here to print them.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const spans = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });

const telemetry = createBusTelemetry({ tracerProvider });
const transport = telemetry.instrument(await createTransport(process.env.A2A_BUS_URL ?? 'memory://traced', { instrumentation: telemetry.instrumentation }));
const bus = new AgentBus({ transport });
telemetry.observeLag(transport); // a2a_bus.consumer.lag / .pending per group and partition
telemetry.observeAgents(bus); // a2a_bus.agents.live
await bus.registerAgent(
  { name: 'writer', description: 'drafts, then asks for a review', version: '1.0.0', skills: [{ id: 'doc.draft', name: 'Draft', tags: [] }, { id: 'doc.review', name: 'Review', tags: [] }] },
  {
    'doc.draft': async (ctx) => `draft, ${(await ctx.dispatch('doc.review', 'check this')).status.state}`,
    'doc.review': () => 'looks good',
  },
);
await bus.dispatch('doc.draft', 'write about logs', { workflowId: 'wf-traced' });

await bus.close(); // drains the workers: every span has ended
await transport.close();

const steps = spans.getFinishedSpans().filter((span) => span.attributes['gen_ai.conversation.id'] === 'wf-traced');
console.log(`${new Set(steps.map((span) => span.spanContext().traceId)).size} trace`); // 1 trace
const started = (span: (typeof steps)[number]): number => span.startTime[0] * 1e9 + span.startTime[1];
for (const span of steps.filter((s) => s.name.includes('.tasks.')).sort((a, b) => started(a) - started(b))) console.log(span.name);
// send a2a.tasks.doc.draft · process a2a.tasks.doc.draft · send a2a.tasks.doc.review · process a2a.tasks.doc.review
