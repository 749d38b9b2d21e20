import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { followAnomalies, readAnomalies, type Anomaly } from '@a2a-bus/anomalies';
import { AgentBus, silentLogger, type Subscription } from '@a2a-bus/core';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { streamSSE } from 'hono/streaming';
import { anomaliesJs } from './assets/anomalies-js.js';
import { consoleCss } from './assets/console-css.js';
import { deadLettersJs } from './assets/dead-letters-js.js';
import { lagJs } from './assets/lag-js.js';
import { refreshJs } from './assets/refresh-js.js';
import { requireConsoleHeader, tokenAuth } from './auth.js';
import { AgentDirectory } from './data/agent-directory.js';
import { deadLetterSummary, deadLetterTopicsOf, readDeadLetters, redriveDeadLetter, type DeadLetterEntry } from './data/dead-letters.js';
import { LagHistory } from './data/lag-history.js';
import { buildTimeline } from './data/timeline.js';
import { WorkflowIndex } from './data/workflow-index.js';
import { isLoopback, parseConsoleOptions, type ConsoleOptions } from './options.js';
import { agentRows, agentsPage } from './pages/agents.js';
import { anomaliesPage } from './pages/anomalies.js';
import { deadLetterPage, deadLetterRows, deadLettersPage } from './pages/dead-letters.js';
import { lagPage } from './pages/lag.js';
import { layout } from './pages/layout.js';
import { timelinePage } from './pages/timeline.js';
import { workflowRows, workflowsPage } from './pages/workflows.js';

export interface RunningConsole {
  /** Where it listens, e.g. `http://127.0.0.1:7070`. */
  readonly url: string;
  /** The access token (off loopback), for `Authorization: Bearer` or the `?token=` link. */
  readonly token: string | undefined;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
/** Static files: the console's own (strings in the package), and uPlot read from its npm package (no CDN, no build step). */
const assets: Record<string, { type: string; body: () => Promise<string | Buffer> }> = {
  'console.css': { type: 'text/css', body: async () => consoleCss },
  'refresh.js': { type: 'text/javascript', body: async () => refreshJs },
  'lag.js': { type: 'text/javascript', body: async () => lagJs },
  'anomalies.js': { type: 'text/javascript', body: async () => anomaliesJs },
  'dead-letters.js': { type: 'text/javascript', body: async () => deadLettersJs },
  'uPlot.iife.min.js': { type: 'text/javascript', body: () => readFile(require.resolve('uplot/dist/uPlot.iife.min.js')) },
  'uPlot.min.css': { type: 'text/css', body: () => readFile(require.resolve('uplot/dist/uPlot.min.css')) },
};

/**
 * Starts the web console on `options.host:options.port`: live agents, workflow search and
 * timelines, consumer lag, dead letters with redrive, anomalies live over SSE. It reads the
 * bus with groups of its own (from now on, plus a replay of the recent past) and writes
 * only when a dead letter is redriven.
 */
export async function startConsole(input: ConsoleOptions): Promise<RunningConsole> {
  const options = parseConsoleOptions(input);
  const { transport, namespace } = options;
  const logger = (options.logger ?? silentLogger).child({ component: 'console' });
  const token = options.token ?? (isLoopback(options.host) ? undefined : randomBytes(24).toString('base64url'));
  const context = { namespace, backend: transport.backend };

  await transport.connect();
  const agents = new AgentDirectory(transport, namespace, options.agentTtlMs);
  const workflows = new WorkflowIndex(transport, namespace, options.lookbackMs);
  const lag = new LagHistory(
    transport,
    namespace,
    () => [...new Set([...agents.capabilities(), ...workflows.capabilities()])],
    options.lagIntervalMs,
    options.lagWindowMs,
  );
  const auditor = new AgentBus({ transport, namespace, logger });
  await Promise.all([agents.start(), workflows.start()]);
  lag.start();

  // One subscription to the anomalies topic fans out to every open SSE stream.
  const listeners = new Set<(anomaly: Anomaly) => void>();
  const anomalies: Subscription = await followAnomalies(transport, namespace, (anomaly) => {
    for (const listener of listeners) listener(anomaly);
  });

  const allDeadLetters = async (): Promise<DeadLetterEntry[]> => {
    const topics = deadLetterTopicsOf(namespace, [...agents.capabilities(), ...workflows.capabilities()]);
    return (await Promise.all(topics.map((topic) => readDeadLetters(transport, topic)))).flat();
  };

  const app = new Hono();
  app.use('*', tokenAuth(token), requireConsoleHeader);
  app.onError((error, c) => {
    logger.warn({ err: error, path: c.req.path }, 'console request failed');
    return c.text(`error: ${error.message}`, 500);
  });

  app.get('/', (c) => c.redirect('/agents'));
  app.get('/assets/:name', async (c) => {
    const asset = assets[c.req.param('name')];
    if (!asset) return c.notFound();
    const body = await asset.body();
    return c.body(typeof body === 'string' ? body : new Uint8Array(body), 200, { 'content-type': `${asset.type}; charset=utf-8`, 'cache-control': 'no-cache' });
  });

  app.get('/agents', (c) =>
    c.req.query('fragment') ? c.html(agentRows(agents.rows())) : c.html(layout('agents', 'Live agents', context, agentsPage(agents.rows()))),
  );
  app.get('/api/agents', (c) => c.json(agents.rows()));

  app.get('/workflows', (c) => {
    const query = c.req.query('q') ?? '';
    const rows = workflows.search(query);
    return c.req.query('fragment') ? c.html(workflowRows(rows)) : c.html(layout('workflows', 'Workflows', context, workflowsPage(query, rows)));
  });
  app.get('/workflows/:id', async (c) => {
    const id = c.req.param('id');
    const timeline = buildTimeline(id, await auditor.audit(id));
    return c.html(layout('workflows', 'Workflow timeline', context, timelinePage(timeline)));
  });
  app.get('/api/workflows', (c) => c.json(workflows.search(c.req.query('q') ?? '')));
  app.get('/api/workflows/:id', async (c) => c.json(buildTimeline(c.req.param('id'), await auditor.audit(c.req.param('id')))));

  app.get('/lag', (c) =>
    c.html(
      layout('lag', 'Consumer lag', context, lagPage(lag.available, options.lagWindowMs), lag.available ? ['/assets/uPlot.iife.min.js', '/assets/lag.js'] : []),
    ),
  );
  app.get('/api/lag', (c) => c.json({ available: lag.available, error: lag.lastError, points: lag.history() }));

  app.get('/dead-letters', async (c) => {
    const entries = await allDeadLetters();
    return c.req.query('fragment')
      ? c.html(deadLetterRows(entries))
      : c.html(layout('dead-letters', 'Dead letters', context, deadLettersPage(entries), ['/assets/dead-letters.js']));
  });
  app.get('/dead-letters/show', async (c) => {
    const entry = (await allDeadLetters()).find((e) => e.position === c.req.query('position'));
    if (!entry) return c.html(layout('dead-letters', 'Dead letter', context, html`<p class="empty">no such dead letter</p>`), 404);
    return c.html(layout('dead-letters', `Dead letter ${entry.envelope.id}`, context, deadLetterPage(entry)));
  });
  app.get('/api/dead-letters', async (c) => c.json((await allDeadLetters()).map(deadLetterSummary)));
  /** Body: `{ positions: string[], dryRun: boolean }`. A dry run (the default) changes nothing. */
  app.post('/api/dead-letters/redrive', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { positions?: unknown; dryRun?: unknown };
    const positions = Array.isArray(body.positions) ? new Set(body.positions.filter((p): p is string => typeof p === 'string')) : new Set<string>();
    const dryRun = body.dryRun !== false;
    const chosen = (await allDeadLetters()).filter((entry) => positions.has(entry.position));
    const results = [];
    for (const entry of chosen)
      results.push({ ...deadLetterSummary(entry), outcome: await redriveDeadLetter(transport, namespace, entry, { by: options.operator, dryRun }) });
    if (!dryRun) logger.info({ count: results.length }, 'dead letters redriven');
    return c.json({ dryRun, results });
  });

  app.get('/anomalies', async (c) => {
    const recent = await readAnomalies(transport, namespace, { since: Date.now() - options.lookbackMs, limit: 200 });
    return c.html(layout('anomalies', 'Anomalies', context, anomaliesPage(recent), ['/assets/anomalies.js']));
  });
  app.get('/api/anomalies', async (c) => c.json(await readAnomalies(transport, namespace, { since: Date.now() - options.lookbackMs, limit: 500 })));
  app.get('/api/anomalies/stream', (c) =>
    streamSSE(c, async (stream) => {
      const queue: Anomaly[] = [];
      let wake: (() => void) | undefined;
      const listener = (anomaly: Anomaly): void => {
        if (queue.length < 1_000) queue.push(anomaly);
        wake?.();
      };
      listeners.add(listener);
      stream.onAbort(() => {
        listeners.delete(listener);
        wake?.();
      });
      await stream.writeSSE({ event: 'ready', data: '{}' });
      while (!stream.aborted && !stream.closed) {
        const next = queue.shift();
        if (next) {
          await stream.writeSSE({ event: 'anomaly', id: next.id, data: JSON.stringify(next) });
          continue;
        }
        // Wake on the next anomaly, or every 15 s for a keep-alive comment.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 15_000);
          wake = () => {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          };
        });
        if (!queue.length && !stream.aborted) await stream.write(': keep-alive\n\n');
      }
      listeners.delete(listener);
    }),
  );

  const server: ServerType = await new Promise((resolve) => {
    const started = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, () => resolve(started));
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url, auth: token ? 'token' : 'off (loopback)' }, 'console listening');

  return {
    url,
    token,
    async close() {
      lag.stop();
      for (const listener of [...listeners]) listeners.delete(listener);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await Promise.allSettled([anomalies.close(), agents.stop(), workflows.stop()]);
    },
  };
}
