import { createMemoryTransport, MemoryBroker } from '@a2a-bus/memory';
import { TaskState, type Task } from '@a2a-js/sdk';
import { ClientFactory } from '@a2a-js/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendRequest, textOf } from './suite/fixtures.js';
import { InteropWorld } from './suite/setup.js';

const broker = new MemoryBroker();
const world = new InteropWorld({ name: 'memory', createTransport: () => createMemoryTransport({ broker, partitions: 4 }), transportUrl: 'memory://bad-input' });
const auth = { bearerTokens: { s3cret: 'alice' }, apiKeys: { 'k-123': 'bob' } };
let open: string;
let guarded: string;
let legacy: string;
/** A task that completed through the gateway, for the cancel and subscribe cases. */
let done: Task;

beforeAll(async () => {
  await world.start([{ bodyLimitBytes: 4_096, lookupWaitMs: 200 }, { auth, lookupWaitMs: 200 }, { acceptV03: true }]);
  [open, guarded, legacy] = world.gatewayUrls as [string, string, string];
  done = (await (await world.httpClient(0)).sendMessage(sendRequest('first', { skill: 'echo' }))) as Task;
  expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
}, 60_000);
afterAll(() => world.close(), 30_000);

async function rpc(body: string | object, headers: Record<string, string> = {}): Promise<{ status: number; code: number | undefined; body: unknown }> {
  const response = await fetch(`${open}/a2a/jsonrpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'a2a-version': '1.0', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text.startsWith('{') ? (JSON.parse(text) as { error?: { code: number } }) : text;
  return { status: response.status, code: typeof parsed === 'object' ? parsed.error?.code : undefined, body: parsed };
}

const send = (parts: unknown[], extra: object = {}) => ({
  jsonrpc: '2.0',
  id: 7,
  method: 'SendMessage',
  params: { message: { messageId: 'm-1', role: 'ROLE_USER', parts }, metadata: { 'a2a-bus/skill': 'echo' }, ...extra },
});

describe('gateway: bad input gets the A2A error and never reaches an agent', () => {
  it('malformed JSON → -32700', async () => {
    expect((await rpc('{"jsonrpc": "2.0", "method": ')).code).toBe(-32700);
  });
  it('not a JSON-RPC 2.0 request (wrong version, batch, no method) → -32600', async () => {
    expect((await rpc({ jsonrpc: '1.0', id: 1, method: 'SendMessage', params: {} })).code).toBe(-32600);
    expect((await rpc([send([{ text: 'x' }])])).code).toBe(-32600);
    expect((await rpc({ jsonrpc: '2.0', id: 1 })).code).toBe(-32600);
  });
  it('unknown method → -32601', async () => {
    expect((await rpc({ jsonrpc: '2.0', id: 1, method: 'tasks/doSomething', params: {} })).code).toBe(-32601);
  });
  it('invalid params, invalid parts included → -32602', async () => {
    expect((await rpc(send([{}]))).code).toBe(-32602); // a part with no content
    expect((await rpc(send([{ text: 'a', data: { b: 1 } }]))).code).toBe(-32602); // two contents in one part
    expect((await rpc(send([]))).code).toBe(-32602); // no parts
    expect((await rpc({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: [] })).code).toBe(-32602);
    expect((await rpc({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: '' } })).code).toBe(-32602);
  });
  it('a body over the configured limit → HTTP 413', async () => {
    const result = await rpc(send([{ text: 'x'.repeat(5_000) }]));
    expect(result.status).toBe(413);
    expect(result.code).toBe(-32600);
  });
  it('an unsupported A2A-Version (or none: the SDK reads that as 0.3) → -32009', async () => {
    expect((await rpc(send([{ text: 'x' }]), { 'a2a-version': '9.9' })).code).toBe(-32009);
    const response = await fetch(`${open}/a2a/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(send([{ text: 'x' }])),
    });
    expect(((await response.json()) as { error: { code: number } }).error.code).toBe(-32009);
  });
  it('an unknown task → -32001 (GetTask, CancelTask, SubscribeToTask)', async () => {
    for (const method of ['GetTask', 'CancelTask', 'SubscribeToTask']) {
      expect((await rpc({ jsonrpc: '2.0', id: 1, method, params: { id: 'no-such-task' } })).code).toBe(-32001);
    }
  });
  it('canceling a completed task → -32002', async () => {
    expect((await rpc({ jsonrpc: '2.0', id: 1, method: 'CancelTask', params: { id: done.id } })).code).toBe(-32002);
  });
  it('subscribing to a completed task, or a skill no agent serves → -32004', async () => {
    expect((await rpc({ jsonrpc: '2.0', id: 1, method: 'SubscribeToTask', params: { id: done.id } })).code).toBe(-32004);
    expect((await rpc(send([{ text: 'x' }], { metadata: { 'a2a-bus/skill': 'nobody.home' } }))).code).toBe(-32004);
  });
  it('push notification config → -32003 (the binding has none)', async () => {
    expect((await rpc({ jsonrpc: '2.0', id: 1, method: 'GetTaskPushNotificationConfig', params: { taskId: done.id, id: 'x' } })).code).toBe(-32003);
  });
  it('an unsupported Content-Type → -32005', async () => {
    expect((await rpc(JSON.stringify(send([{ text: 'x' }])), { 'content-type': 'text/plain' })).code).toBe(-32005);
  });
  it('HTTP+JSON: oversized → 413, malformed → 400, unknown task → 404', async () => {
    const headers = { 'content-type': 'application/json', 'a2a-version': '1.0' };
    const big = await fetch(`${open}/a2a/rest/message:send`, { method: 'POST', headers, body: JSON.stringify(send([{ text: 'x'.repeat(5_000) }]).params) });
    expect(big.status).toBe(413);
    const bad = await fetch(`${open}/a2a/rest/message:send`, { method: 'POST', headers, body: '{"message": ' });
    expect(bad.status).toBe(400);
    const missing = await fetch(`${open}/a2a/rest/tasks/no-such-task`, { headers });
    expect(missing.status).toBe(404);
  });
  it('none of it reached the agent: echo ran once, for the one valid request', () => {
    expect(world.runs.get('echo')).toBe(1);
  });
});

describe('gateway: A2A v0.3 clients, with acceptV03', () => {
  it('a v0.3 JSON-RPC request (no A2A-Version header) is served through the SDK compat layer', async () => {
    const response = await fetch(`${legacy}/a2a/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 3,
        method: 'message/send',
        params: {
          message: { kind: 'message', messageId: 'v03-1', role: 'user', parts: [{ kind: 'text', text: 'old client' }] },
          metadata: { 'a2a-bus/skill': 'echo' },
        },
      }),
    });
    const body = (await response.json()) as { result?: { kind: string; status: { state: string }; artifacts: Array<{ parts: Array<{ text: string }> }> } };
    expect(body.result?.kind).toBe('task');
    expect(body.result?.status.state).toBe('completed');
    expect(body.result?.artifacts.at(-1)?.parts[0]?.text).toBe('echo:old client|caller=-|version=-');
  });
});

describe('gateway: auth', () => {
  it('declares its schemes in the card and refuses callers without a credential (401)', async () => {
    const card = (await (await fetch(`${guarded}/.well-known/agent-card.json`)).json()) as { securitySchemes: object; securityRequirements: unknown[] };
    expect(card.securitySchemes).toEqual({
      bearer: { httpAuthSecurityScheme: { scheme: 'Bearer', description: 'a token the gateway operator issued' } },
      apiKey: { apiKeySecurityScheme: { location: 'header', name: 'X-API-Key' } },
    });
    expect(card.securityRequirements).toHaveLength(2);
    const response = await fetch(`${guarded}/a2a/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
      body: JSON.stringify(send([{ text: 'x' }])),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await fetch(`${guarded}/a2a/jsonrpc`, {
      method: 'POST',
      headers: { authorization: 'Bearer nope', 'a2a-version': '1.0' },
      body: JSON.stringify(send([{ text: 'x' }])),
    });
    expect(wrong.status).toBe(401);
  });

  it("the caller's identity reaches the agent on the envelope, and tasks are visible to their caller only", async () => {
    const client = await new ClientFactory().createFromUrl(guarded);
    const asAlice = { serviceParameters: { Authorization: 'Bearer s3cret' } };
    const asBob = { serviceParameters: { 'X-API-Key': 'k-123' } };
    const alices = (await client.sendMessage(sendRequest('who am i', { skill: 'echo' }), asAlice)) as Task;
    expect(textOf(alices.artifacts.at(-1)!.parts)).toBe('echo:who am i|caller=alice|version=1.0');
    const bobs = (await client.sendMessage(sendRequest('and me', { skill: 'echo' }), asBob)) as Task;
    expect(textOf(bobs.artifacts.at(-1)!.parts)).toBe('echo:and me|caller=bob|version=1.0');
    expect((await client.getTask({ tenant: '', id: alices.id }, asAlice)).id).toBe(alices.id);
    await expect(client.getTask({ tenant: '', id: alices.id }, asBob)).rejects.toThrow(/not found/i);
    const listed = await client.listTasks({ tenant: '', contextId: '', status: 0, pageToken: '', statusTimestampAfter: undefined }, asBob);
    expect(listed.tasks.map((t) => t.id)).toContain(bobs.id);
    expect(listed.tasks.map((t) => t.id)).not.toContain(alices.id);
  });
});
