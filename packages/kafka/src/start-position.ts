import type { Logger } from '@a2a-bus/core';
import type { Admin } from 'kafkajs';

export interface PinLatestStartContext {
  readonly admin: () => Promise<Admin>;
  readonly groupId: string;
  readonly topic: string;
  readonly logger: Logger;
  /** The partitions this member holds now. */
  readonly assigned: () => readonly number[];
  /** False once the generation that asked is over (or the member closes): stop. */
  readonly current: () => boolean;
  readonly commit: (offsets: Array<{ topic: string; partition: number; offset: string }>) => Promise<void>;
}

/**
 * kafkajs resolves `latest` without committing it, so a group whose members left before
 * acknowledging anything would skip what was published meanwhile. Commits the end offsets of
 * the assigned partitions that have no committed offset yet: the group exists from now on.
 * Retried a few times; the next join pins again when a generation ends first.
 */
export async function pinLatestStart(context: PinLatestStartContext): Promise<void> {
  const { topic, groupId } = context;
  for (let attempt = 1; ; attempt += 1) {
    const partitions = context.assigned();
    if (!context.current() || partitions.length === 0) return;
    try {
      const admin = await context.admin();
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const missing = new Set(committed?.partitions.filter((entry) => Number(entry.offset) < 0).map((entry) => entry.partition) ?? partitions);
      if (!partitions.some((partition) => missing.has(partition))) return;
      const ends = await admin.fetchTopicOffsets(topic);
      if (!context.current()) return;
      await context.commit(
        ends
          .filter((end) => partitions.includes(end.partition) && missing.has(end.partition))
          .map((end) => ({ topic, partition: end.partition, offset: end.high })),
      );
      return;
    } catch (error) {
      if (attempt >= 5 || !context.current()) {
        if (context.current()) context.logger.warn({ err: error }, 'could not commit the start position of a latest-starting group');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}
