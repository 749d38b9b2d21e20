import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync } from 'node:fs';
import { AnomalyDetector } from '@a2a-bus/anomalies';
import { isCI, requireBroker, skippedSuite } from '@a2a-bus/conformance';
import { startConsole, type RunningConsole } from '@a2a-bus/console';
import { AgentBus, redriveHeaders, type Transport } from '@a2a-bus/core';
import { createRedisStreamsTransport } from '@a2a-bus/redis-streams';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium } from './support/chromium.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const { hostname, port } = new URL(url);
const brokerMissing = await requireBroker('Redis', hostname, Number(port || 6379));
const browserMissing = chromiumMissing();
if (browserMissing && isCI) throw new Error(`${browserMissing}; on CI the console's browser tests must run`);
const skipReason = brokerMissing ?? browserMissing;

/** Screenshots for reviewers (reports/ is git-ignored); with UPDATE_DOCS_SCREENSHOTS=1 also the README's under docs/. */
function screenshot(name: string): string {
  mkdirSync('reports', { recursive: true });
  return `reports/console-${name}.png`;
}
function publishToDocs(name: string): void {
  if (process.env.UPDATE_DOCS_SCREENSHOTS !== '1') return;
  mkdirSync('docs', { recursive: true });
  copyFileSync(`reports/console-${name}.png`, `docs/console-${name}.png`);
}

const card = (name: string, ...skills: string[]) => ({
  name,
  description: `${name} agent`,
  version: '1.0.0',
  skills: skills.map((id) => ({ id, name: id, tags: [] })),
});

if (skipReason) {
  skippedSuite('[redis-streams] web console in Chromium', skipReason);
} else {
  describe('[redis-streams] web console in headless Chromium, against a running pipeline', () => {
    const namespace = `console-${randomUUID().slice(0, 8)}`;
    const keyPrefix = `a2a-console-${randomUUID().slice(0, 8)}:`;
    const transports: Transport[] = [];
    const transport = (extra: Record<string, unknown> = {}): Transport => {
      const t = createRedisStreamsTransport({
        url,
        keyPrefix,
        partitions: 2,
        leaseTtlMs: 3_000,
        claimMinIdleMs: 3_000,
        claimIntervalMs: 1_000,
        blockMs: 200,
        ...extra,
      });
      transports.push(t);
      return t;
    };
    let worker: AgentBus;
    let caller: AgentBus;
    let detector: AnomalyDetector;
    let console_: RunningConsole;
    let browser: { context: BrowserContext; close(): Promise<void> };
    let page: Page;
    let researchCalls = 0;
    let fragileFixed = false;
    let fragileCalls = 0;

    beforeAll(async () => {
      worker = new AgentBus({ transport: transport(), namespace, agentTtlMs: 3_000, retry: { maxAttempts: 2, initialDelayMs: 50 } });
      await worker.registerAgent(card('planner', 'plan'), {
        plan: async (ctx) => {
          await ctx.dispatch('research', 'find sources');
          await ctx.dispatch('write', 'write it up');
          return 'planned';
        },
      });
      await worker.registerAgent(card('researcher', 'research'), {
        research: async () => {
          researchCalls++;
          await new Promise((resolve) => setTimeout(resolve, 40));
          if (researchCalls === 1) throw new Error('search backend timed out');
          return 'three sources';
        },
      });
      await worker.registerAgent(card('writer', 'write'), { write: async () => new Promise((resolve) => setTimeout(() => resolve('a draft'), 30)) });
      await worker.registerAgent(card('fragile', 'parse'), {
        parse: () => {
          fragileCalls++;
          if (!fragileFixed) throw new Error('unparseable input');
          return 'parsed';
        },
      });
      // The caller's publishes go through an anomaly detector that writes to <namespace>.anomalies.
      detector = new AnomalyDetector({ namespace, tickMs: 0, agent: 'caller' });
      const callerTransport = transport({ instrumentation: detector.instrumentation });
      detector.publishTo(callerTransport);
      caller = new AgentBus({ transport: callerTransport, namespace, agentTtlMs: 3_000 });
      await caller.start();
      console_ = await startConsole({ transport: transport(), namespace, agentTtlMs: 3_000, lagIntervalMs: 500 });
      browser = await launchChromium();
      page = await browser.context.newPage();
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await console_?.close();
      await detector?.close();
      await Promise.allSettled([caller?.close(), worker?.close()]);
      await Promise.allSettled(transports.map((t) => t.close({ drainTimeoutMs: 500 })));
    });

    it('the agents page lists every live agent with its capabilities', async () => {
      await page.goto(`${console_.url}/agents`);
      for (const name of ['planner', 'researcher', 'writer', 'fragile']) {
        await expect.poll(() => page.locator('#agents tr.agent', { hasText: name }).count(), { timeout: 10_000 }).toBe(1);
      }
      await expect.poll(() => page.locator('#agents tr.agent.live').count(), { timeout: 10_000 }).toBe(4);
      expect(await page.locator('#agents tr.agent', { hasText: 'researcher' }).locator('.tag').textContent()).toBe('research');
      await page.screenshot({ path: screenshot('agents'), fullPage: true });
    });

    it("a workflow's timeline shows its steps in order, with the retried attempt", async () => {
      const workflowId = `wf-${randomUUID().slice(0, 8)}`;
      await caller.dispatch('plan', 'plan a report', { workflowId, timeoutMs: 20_000 });
      await page.goto(`${console_.url}/workflows?q=${workflowId}`);
      await page.locator(`#workflows a`, { hasText: workflowId }).click({ timeout: 10_000 });
      await page.waitForSelector('#timeline .step');
      const steps = await page
        .locator('#timeline .step')
        .evaluateAll((rows) => rows.map((row) => [row.getAttribute('data-capability'), row.getAttribute('data-state'), row.getAttribute('data-attempts')]));
      expect(steps).toEqual([
        ['plan', 'completed', '1'],
        ['research', 'completed', '2'],
        ['write', 'completed', '1'],
      ]);
      expect(await page.locator('#timeline .step[data-capability="research"] .seg.retried').count()).toBe(1);
      expect(await page.locator('#timeline .step[data-capability="research"] .seg.retried').getAttribute('title')).toContain('search backend timed out');
      await page.screenshot({ path: screenshot('timeline'), fullPage: true });
      publishToDocs('timeline');
    });

    it('a dead letter is shown, dry-run first, then redriven back to its topic and handled', async () => {
      const workflowId = `wf-dlq-${randomUUID().slice(0, 6)}`;
      await expect(caller.dispatch('parse', 'garbage', { workflowId, timeoutMs: 20_000 })).rejects.toThrow();
      await page.goto(`${console_.url}/dead-letters`);
      const row = page.locator('#dead-letters tr.dead-letter', { hasText: workflowId });
      await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
      expect(await row.textContent()).toContain('unparseable input');
      await page.reload(); // the row as the server rendered it, before selecting
      await row.locator('input[type=checkbox]').check();
      expect(await page.locator('#redrive').isDisabled()).toBe(true);
      await page.click('#dry-run');
      await expect.poll(() => page.locator('#redrive-result').textContent()).toContain('would redrive');
      expect(fragileCalls).toBe(2); // the dry run changed nothing
      fragileFixed = true;
      await page.screenshot({ path: screenshot('dead-letters'), fullPage: true });
      await page.click('#redrive');
      await expect.poll(() => page.locator('#redrive-result').textContent()).toContain('redriven: 1');
      await expect.poll(() => fragileCalls, { timeout: 15_000 }).toBe(3); // back on its topic, handled again
      await page.reload();
      expect(await page.locator('#dead-letters tr.dead-letter', { hasText: workflowId }).count()).toBe(0);
      const audit = await caller.audit(workflowId);
      expect(audit.some((entry) => entry.type === 'task-request' && entry.envelope.headers?.[redriveHeaders.by] === 'console')).toBe(true);
      await expect
        .poll(
          async () =>
            (await caller.audit(workflowId)).some(
              (e) => e.envelope.kind === 'stream-response' && 'task' in e.envelope.payload && e.envelope.payload.task?.status.state === 'TASK_STATE_COMPLETED',
            ),
          { timeout: 10_000 },
        )
        .toBe(true);
    });

    it('an injected anomaly appears live on the anomalies page', async () => {
      await page.goto(`${console_.url}/anomalies`);
      await expect.poll(() => page.locator('#live-state').textContent(), { timeout: 10_000 }).toBe('live');
      const before = await page.locator('#anomalies tr.anomaly[data-kind="payload-size"]').count();
      for (let i = 0; i < 60; i++) await caller.dispatch('write', `section ${i} ${'x'.repeat(50 + (i % 7) * 20)}`, { timeoutMs: 20_000 });
      expect(detector.metrics.snapshot().total).toBe(0);
      await caller.dispatch('write', 'y'.repeat(80_000), { timeoutMs: 20_000 }); // a 100x payload
      await expect.poll(() => page.locator('#anomalies tr.anomaly[data-kind="payload-size"]').count(), { timeout: 10_000 }).toBe(before + 1);
      const row = page.locator('#anomalies tr.anomaly[data-kind="payload-size"]').first();
      expect(await row.textContent()).toContain('write');
      await page.screenshot({ path: screenshot('anomalies'), fullPage: true });
      publishToDocs('anomalies');
    });

    it('the lag page charts consumer lag per group and partition', async () => {
      await page.goto(`${console_.url}/lag`);
      await page.waitForSelector('#lag-chart canvas', { timeout: 10_000 });
      await expect.poll(() => page.locator('#lag-now tr', { hasText: 'agents.write' }).count(), { timeout: 10_000 }).toBeGreaterThan(0);
      await page.screenshot({ path: screenshot('lag'), fullPage: true });
    });
  });
}
