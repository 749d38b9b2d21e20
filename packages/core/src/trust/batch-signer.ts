import type { Envelope, EnvelopeInput } from '../envelope.js';
import type { AgentKeys } from './keys.js';
import { prepareForSigning, signPrepared } from './signature.js';

interface Waiting {
  readonly envelope: Envelope;
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
    return new Promise<Envelope>((resolve, reject) => {
      this.waiting.push({ envelope, resolve, reject });
      if (this.waiting.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    try {
      const signed = signPrepared(
        batch.map((w) => w.envelope),
        this.keys,
      );
      for (let i = 0; i < batch.length; i += 1) batch[i]!.resolve(signed[i]!);
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
  }
}
