/** Where the runtime keeps what. Every topic is keyed by workflow id (or agent instance). */
export interface RuntimeTopics {
  /** Task requests for one capability; the workers serving it form one group. */
  tasks(capability: string): string;
  /** Status, artifact and result events for the tasks one bus instance dispatched. */
  replies(instanceId: string): string;
  /** True for a topic `replies` could have named: the only topics a worker answers on. */
  isReplyTopic(topic: string): boolean;
  /** Agent announcements and heartbeats. */
  readonly registry: string;
  /** Cancel requests, seen by every instance. */
  readonly control: string;
  /** Everything that happened to every workflow, in order per workflow: the audit trail. */
  readonly workflows: string;
}

/** What an instance id may hold: it ends up in a topic name, and a reply topic is nothing but prefix + id. */
export const INSTANCE_ID_PATTERN = /^[\w:-]{1,200}$/;

export function runtimeTopics(namespace: string): RuntimeTopics {
  const replyPrefix = `${namespace}.replies.`;
  return {
    tasks: (capability) => `${namespace}.tasks.${capability}`,
    replies: (instanceId) => `${replyPrefix}${instanceId}`,
    isReplyTopic: (topic) => topic.startsWith(replyPrefix) && INSTANCE_ID_PATTERN.test(topic.slice(replyPrefix.length)),
    registry: `${namespace}.registry`,
    control: `${namespace}.control`,
    workflows: `${namespace}.workflows`,
  };
}

/** Header names the runtime sets on envelopes (all under `a2a-bus.`). */
export const runtimeHeaders = {
  type: 'a2a-bus.type',
  capability: 'a2a-bus.capability',
  instance: 'a2a-bus.instance',
  taskId: 'a2a-bus.task-id',
  /** On agent heartbeats: tasks the instance is running now. */
  inFlight: 'a2a-bus.in-flight',
} as const;

export type RuntimeRecordType = 'task-request' | 'task-event' | 'agent-up' | 'agent-heartbeat' | 'agent-down' | 'cancel' | 'dead-letter-handled';
