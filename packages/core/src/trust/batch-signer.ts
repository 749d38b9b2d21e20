import type { Envelope, EnvelopeInput } from '../envelope.js';
import type { AgentKeys } from './keys.js';
import { payloadDigest, prepareForSigning, signPrepared } from './signature.js';

interface Waiting {
  readonly envelope: Envelope;
  readonly digest: string;
  readonly resolve: (signed: Envelope) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Signs what is published in one turn of the event loop with one Ed25519 signature over
 * the Merkle root of the batch (each envelope carries its inclusion proof), so a busy bus
 * pays for one signature per turn instead of one per envelope, and receivers verify each
 * batch root once. Envelopes come back in the order they were given, so per-key publish
 * order is kept.
 */
export class BatchSigner {
  private readonly keys: AgentKeys;
  private readonly maxBatch: number;
  private waiting: Waiting[] = [];
  private scheduled = false;

  constructor(keys: AgentKeys, maxBatch = 64) {
    this.keys = keys;
    this.maxBatch = maxBatch;
  }

  /** Validates now (an invalid envelope throws here, as `publish` would), signs at the end of this turn. */
  sign(input: EnvelopeInput): Promise<Envelope> {
    const envelope = prepareForSigning(input, this.keys);
    const digest = this.digestOf(input.payload, envelope.payload);
    return new Promise<Envelope>((resolve, reject) => {
      this.waiting.push({ envelope, digest, resolve, reject });
      if (this.waiting.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * The runtime publishes one payload object twice in the same turn (the reply and its audit
   * copy): its digest is computed once per batch. Validation is deterministic, so the same
   * input payload gives the same validated one; were it changed in between, the signature
   * would only fail to verify, never pass for something else.
   */
  private digests = new WeakMap<object, string>();
  private digestOf(input: unknown, validated: unknown): string {
    if (typeof input !== 'object' || input === null) return payloadDigest(validated);
    let digest = this.digests.get(input);
    if (digest === undefined) {
      digest = payloadDigest(validated);
      this.digests.set(input, digest);
    }
    return digest;
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    this.digests = new WeakMap();
    try {
      const signed = signPrepared(
        batch.map((w) => w.envelope),
        this.keys,
        batch.map((w) => w.digest),
      );
      for (let i = 0; i < batch.length; i += 1) batch[i]!.resolve(signed[i]!);
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
  }
}
