import { randomUUID } from 'node:crypto';
import { startConsole } from '@a2a-bus/console';
import { createMemoryTransport } from '@a2a-bus/memory';
import { describe, expect, it } from 'vitest';

describe('console auth', () => {
  it('is open on loopback, and refuses a state-changing request without the console header', async () => {
    const transport = createMemoryTransport({ name: randomUUID() });
    const running = await startConsole({ transport, namespace: 'auth' });
    try {
      expect(running.token).toBeUndefined();
      expect((await fetch(`${running.url}/agents`)).status).toBe(200);
      const forged = await fetch(`${running.url}/api/dead-letters/redrive`, { method: 'POST', body: '{"positions":[],"dryRun":false}' });
      expect(forged.status).toBe(403);
      const real = await fetch(`${running.url}/api/dead-letters/redrive`, { method: 'POST', headers: { 'x-a2a-console': '1' }, body: '{"positions":[]}' });
      expect(await real.json()).toEqual({ dryRun: true, results: [] });
    } finally {
      await running.close();
      await transport.close();
    }
  });

  it('needs a token when bound off loopback: generated, then accepted as a bearer token or a one-time link that sets a cookie', async () => {
    const transport = createMemoryTransport({ name: randomUUID() });
    const running = await startConsole({ transport, namespace: 'auth', host: '0.0.0.0' });
    try {
      expect(running.token).toMatch(/^[\w-]{32}$/);
      const port = new URL(running.url).port;
      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/agents`)).status).toBe(401);
      expect((await fetch(`${base}/agents`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
      expect((await fetch(`${base}/agents`, { headers: { authorization: `Bearer ${running.token}` } })).status).toBe(200);
      const link = await fetch(`${base}/agents?token=${running.token}`, { redirect: 'manual' });
      expect(link.status).toBe(302);
      expect(link.headers.get('location')).toBe('/agents');
      const cookie = link.headers.get('set-cookie')!;
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Strict/);
      expect((await fetch(`${base}/agents`, { headers: { cookie: cookie.split(';')[0]! } })).status).toBe(200);
    } finally {
      await running.close();
      await transport.close();
    }
  });
});
