import { runtimeTopics, type Transport } from '@a2a-bus/core';

type Deletable = Transport & { deleteTopic?(topic: string): Promise<void> };

/**
 * Deletes what agent buses in `namespace` made on the broker: the runtime's topics and each
 * capability's task and dead-letter topics. Every bench row that runs an `AgentBus` uses a
 * fresh namespace, so without this each `pnpm bench` run would leave its topics behind on
 * the user's broker (streams on NATS, keys on Redis, topics on Kafka). The memory transport
 * has nothing to delete.
 */
export async function deleteBusTopics(transport: Transport, namespace: string, capabilities: readonly string[]): Promise<void> {
  const { deleteTopic } = transport as Deletable;
  if (!deleteTopic) return;
  const topics = runtimeTopics(namespace);
  const names = [topics.replies, topics.registry, topics.control, topics.workflows];
  for (const capability of capabilities) names.push(topics.tasks(capability), `${topics.tasks(capability)}.dlq`);
  // One at a time: Kafka's admin client handles one topic deletion per controller round anyway.
  for (const name of names) await deleteTopic.call(transport, name);
}
