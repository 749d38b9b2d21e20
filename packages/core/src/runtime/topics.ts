/** Where the runtime keeps what. Every topic is keyed by workflow id (or agent instance). */
export interface RuntimeTopics {
  /** Task requests for one capability; the workers serving it form one group. */
  tasks(capability: string): string;
  /** Status, artifact and result events for the tasks one bus instance dispatched. */
  replies(instanceId: string): string;
  /** Agent announcements and heartbeats. */
  readonly registry: string;
  /** Cancel requests, seen by every instance. */
  readonly control: string;
  /** Everything that happened to every workflow, in order per workflow: the audit trail. */
  readonly workflows: string;
}

export function runtimeTopics(namespace: string): RuntimeTopics {
  return {
    tasks: (capability) => `${namespace}.tasks.${capability}`,
    replies: (instanceId) => `${namespace}.replies.${instanceId}`,
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
