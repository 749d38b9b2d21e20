import { createAnomalyDetector } from '@a2a-bus/anomalies';
import { AgentBus, createTransport } from '@a2a-bus/core';

// In-process detection: the detector sees this process's traffic through the transport's instrumentation.
const detector = createAnomalyDetector({ namespace: 'shop', agent: 'worker-1', onAnomaly: (a) => console.log('ANOMALY', a.kind, a.message) }).start();
const transport = await createTransport(process.env.A2A_BUS_URL ?? 'memory://see-it', { instrumentation: detector.instrumentation });
detector.publishTo(transport); // also to shop.anomalies: `a2a-bus anomalies --follow` and the console show it

const bus = new AgentBus({ transport, namespace: 'shop' });
await bus.registerAgent(
  { name: 'summarizer', description: 'summarizes', version: '1.0.0', skills: [{ id: 'summarize', name: 'summarize', tags: [] }] },
  { summarize: ({ message }) => `summary of ${JSON.stringify(message.parts).length} bytes` },
);
for (let i = 0; i < 100; i++) await bus.dispatch('summarize', `order #${i}: two widgets, one gadget`);
await bus.dispatch('summarize', 'x'.repeat(100_000)); // a 100x payload

await bus.close();
await detector.close();
await transport.close();
