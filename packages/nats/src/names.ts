/**
 * Topic and group names may hold characters NATS subjects and stream names refuse
 * (`.`, `*`, `>`, spaces, slashes). Everything outside [A-Za-z0-9-] is escaped as `_xx`
 * (UTF-8 bytes in hex), `_` included, so the mapping is injective and readable.
 */
export function toToken(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9-]/.test(c) ? c : `_${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export function fromToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i += 1) {
    if (token[i] === '_') {
      bytes.push(Number.parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Where a2a-bus keeps a topic, its partitions and its groups on JetStream. */
export class NatsNames {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** One stream per topic: `<prefix>_<topic>`. */
  stream(topic: string): string {
    return `${this.prefix}_${toToken(topic)}`;
  }

  /** Subjects of a topic's partitions: `<prefix>.t.<topic>.<partition>`. */
  subject(topic: string, partition: number): string {
    return `${this.prefix}.t.${toToken(topic)}.${partition}`;
  }

  topicSubjects(topic: string): string {
    return `${this.prefix}.t.${toToken(topic)}.*`;
  }

  /** The durable pull consumer of a group on one partition. */
  durable(group: string, partition: number): string {
    return `${toToken(group)}--p${partition}`;
  }

  /** Lease records of every group live in one stream (`_` never ends a topic token, so no clash). */
  get leaseStream(): string {
    return `${this.prefix}__leases`;
  }

  leaseSubjects(): string {
    return `${this.prefix}.l.>`;
  }

  /** Every lease record of a topic, all groups. */
  leaseTopicSubjects(topic: string): string {
    return `${this.prefix}.l.${toToken(topic)}.>`;
  }

  leaseBase(topic: string, group: string): string {
    return `${this.prefix}.l.${toToken(topic)}.${toToken(group)}`;
  }

  /** Core-NATS subject on which members of a group tell each other to rebalance now. */
  nudge(topic: string, group: string): string {
    return `${this.prefix}.n.${toToken(topic)}.${toToken(group)}`;
  }
}
