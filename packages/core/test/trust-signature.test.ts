import { describe, expect, it } from 'vitest';
import { createEnvelope, generateAgentKeys, signEnvelope, trustHeaders, verifyEnvelope, type Envelope, type EnvelopeInput } from '../src/index.js';
import { prepareForSigning, signPrepared } from '../src/trust/signature.js';

const input = (text: string, key = 'wf-1'): EnvelopeInput => ({
  kind: 'message',
  key,
  payload: { role: 'ROLE_USER', messageId: `m-${text}`, parts: [{ text }] },
  headers: { 'a2a-bus.type': 'task-request' },
});

const withHeaders = (envelope: Envelope, headers: Record<string, string>): Envelope =>
  createEnvelope({ ...envelope, headers: { ...envelope.headers, ...headers } });

describe('signed envelopes', () => {
  it('one envelope: signed, verifies, names its signer', () => {
    const keys = generateAgentKeys();
    const signed = signEnvelope(input('a'), keys);
    expect(verifyEnvelope(signed)).toEqual({ signer: keys.publicKey, verified: true });
  });

  it('survives the wire: encoded to JSON and decoded again, with payload keys in another order', () => {
    const keys = generateAgentKeys();
    const signed = signEnvelope(input('a'), keys);
    const reordered = JSON.parse(JSON.stringify(signed)) as Envelope & { payload: Record<string, unknown> };
    const { parts, ...rest } = reordered.payload;
    expect(verifyEnvelope(createEnvelope({ ...reordered, payload: { parts, ...rest } } as EnvelopeInput)).verified).toBe(true);
  });

  it('every signed field counts: changing the payload, the key, the id, a header or createdAt breaks it', () => {
    const keys = generateAgentKeys();
    const signed = signEnvelope(input('a'), keys);
    const changes: EnvelopeInput[] = [
      { ...signed, payload: { ...(signed.payload as object), parts: [{ text: 'b' }] } } as EnvelopeInput,
      { ...signed, key: 'wf-2' },
      { ...signed, id: 'another' },
      { ...signed, headers: { ...signed.headers, 'a2a-bus.type': 'task-event' } },
      { ...signed, createdAt: new Date(Date.parse(signed.createdAt) + 1).toISOString() },
      { ...signed, replyTo: 'elsewhere' },
    ];
    for (const changed of changes) expect(verifyEnvelope(createEnvelope(changed)).verified).toBe(false);
  });

  it('another key signing the same content does not pass for the first', () => {
    const alice = generateAgentKeys();
    const mallory = generateAgentKeys();
    const forged = withHeaders(signEnvelope(input('a'), mallory), { [trustHeaders.signer]: alice.publicKey });
    expect(verifyEnvelope(forged).verified).toBe(false);
    expect(verifyEnvelope(createEnvelope(input('a'))).reason).toBe('not signed');
  });

  it('a batch shares one signature; each envelope verifies alone; proofs cannot be moved between envelopes; a changed member fails', () => {
    const keys = generateAgentKeys();
    const batch = signPrepared(
      [1, 2, 3, 4, 5].map((n) => prepareForSigning(input(`t${n}`, `wf-${n}`), keys)),
      keys,
    );
    expect(new Set(batch.map((e) => e.headers![trustHeaders.signature])).size).toBe(1);
    // Checked first, before any member of the batch was verified (later, a proven leaf needs no proof).
    expect(verifyEnvelope(withHeaders(batch[0]!, { [trustHeaders.proof]: batch[1]!.headers![trustHeaders.proof]! })).verified).toBe(false);
    const proof = batch[2]!.headers![trustHeaders.proof]!;
    expect(verifyEnvelope(withHeaders(batch[2]!, { [trustHeaders.proof]: proof.replace(/^\d+/, '3') })).verified).toBe(false);
    for (const envelope of batch) expect(verifyEnvelope(envelope).verified).toBe(true);
    // A changed member of a verified batch fails although its root's signature was seen before.
    for (const index of [0, 3, 4]) {
      const changed = createEnvelope({ ...batch[index]!, payload: { ...(batch[index]!.payload as object), parts: [{ text: 'x' }] } } as EnvelopeInput);
      expect(verifyEnvelope(changed).verified).toBe(false);
    }
  });
});
