import { NonRetryableError, TaskError, textOfParts, type A2AAgentCard, type A2ATask, type TaskContext, type TaskHandler } from '@a2a-bus/core';

/**
 * The demo's three agents. Deterministic text functions — no model needed — chained the
 * way a real pipeline is: extract hands its result to summarize, which hands it to classify;
 * every step is keyed by the workflow id, so the steps of one workflow stay in order.
 */

export const extractCard: A2AAgentCard = {
  name: 'extractor',
  description: 'Pulls the sentences and named things out of a document',
  version: '1.0.0',
  skills: [{ id: 'doc.extract', name: 'Extract', description: 'Sentences and capitalised names', tags: ['text'] }],
};
export const summarizeCard: A2AAgentCard = {
  name: 'summarizer',
  description: 'Keeps the first words of each sentence',
  version: '1.0.0',
  skills: [{ id: 'doc.summarize', name: 'Summarize', description: 'A short summary', tags: ['text'] }],
};
export const classifyCard: A2AAgentCard = {
  name: 'classifier',
  description: 'Files a summary under finance, engineering, legal or general',
  version: '1.0.0',
  skills: [{ id: 'doc.classify', name: 'Classify', description: 'Keyword rules', tags: ['text'] }],
};

const topics: Record<string, string[]> = {
  finance: ['invoice', 'payment', 'refund', 'budget'],
  engineering: ['deploy', 'crash', 'latency', 'bug'],
  legal: ['contract', 'clause', 'liability', 'signature'],
};

/** A deterministic document for workflow `n`; every `poisonEvery`-th one can never be classified. */
export function makeDocument(n: number, poisonEvery: number): string {
  const names = ['Ada', 'Grace', 'Linus', 'Barbara', 'Ken', 'Margaret'];
  const words = Object.values(topics).flat();
  const sentences = Array.from({ length: 3 + (n % 3) }, (_, i) => {
    const word = words[(n * 7 + i * 3) % words.length]!;
    return `${names[(n + i) % names.length]} wrote about the ${word} on day ${(n % 28) + 1} of the project`;
  });
  if (poisonEvery > 0 && n % poisonEvery === poisonEvery - 1) sentences.push('POISON');
  return `${sentences.join('. ')}.`;
}

function resultOf(task: A2ATask): string {
  return (task.artifacts ?? []).map((a) => textOfParts(a.parts)).join('\n');
}

/** Runs the next step; if it failed for good, this step fails for good too (retrying would not help). */
async function nextStep(ctx: TaskContext, capability: string, text: string): Promise<string> {
  try {
    return resultOf(await ctx.dispatch(capability, text));
  } catch (error) {
    if (TaskError.isInstance(error)) throw new NonRetryableError(`${capability} ${error.state}`, { cause: error });
    throw error;
  }
}

export interface Faults {
  /** Every n-th summarize request fails on its first attempt (then succeeds on retry). */
  readonly transientEvery: number;
}

export function extractHandler(): TaskHandler {
  return async (ctx) => {
    const text = textOfParts(ctx.message.parts);
    const sentences = text.split(/\.\s*/).filter(Boolean);
    const names = [...new Set(text.match(/\b[A-Z][a-z]+\b/g) ?? [])];
    const summary = await nextStep(ctx, 'doc.summarize', sentences.join('. '));
    return `sentences=${sentences.length} names=${names.join(',')}\n${summary}`;
  };
}

export function summarizeHandler(faults: Faults): TaskHandler {
  let seen = 0;
  return async (ctx) => {
    seen += 1;
    if (faults.transientEvery > 0 && ctx.attempt === 1 && seen % faults.transientEvery === 0) {
      throw new Error('summarizer briefly overloaded');
    }
    const summary = textOfParts(ctx.message.parts)
      .split('. ')
      .map((sentence) => sentence.split(' ').slice(0, 6).join(' '))
      .join('; ');
    await ctx.status(`summarised ${summary.length} chars`);
    const label = await nextStep(ctx, 'doc.classify', summary);
    return `summary=${summary}\nlabel=${label}`;
  };
}

/** The three agents, each with a factory of its handlers (one set per worker). */
export function demoAgents(faults: Faults): Array<{ card: A2AAgentCard; handlers: () => Record<string, TaskHandler> }> {
  return [
    { card: extractCard, handlers: () => ({ 'doc.extract': extractHandler() }) },
    { card: summarizeCard, handlers: () => ({ 'doc.summarize': summarizeHandler(faults) }) },
    { card: classifyCard, handlers: () => ({ 'doc.classify': classifyHandler() }) },
  ];
}

/** What the demo tells a worker process (`worker-main.ts`). */
export interface DemoWorkerConfig {
  readonly url: string;
  readonly agent: string;
  readonly faults: Faults;
  readonly logLevel: string;
  readonly bus: { namespace: string; retry: { maxAttempts: number; initialDelayMs: number }; agentTtlMs: number; timeoutMs: number };
}

export function classifyHandler(): TaskHandler {
  return (ctx) => {
    const text = textOfParts(ctx.message.parts).toLowerCase();
    if (text.includes('poison')) throw new Error('cannot classify a poisoned summary');
    const scores = Object.entries(topics).map(([label, words]) => [label, words.filter((w) => text.includes(w)).length] as const);
    const [label, score] = scores.reduce((best, next) => (next[1] > best[1] ? next : best));
    return score > 0 ? label : 'general';
  };
}
