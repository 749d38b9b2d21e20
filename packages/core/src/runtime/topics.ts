/** Where the runtime keeps what. Every topic is keyed by workflow id (or agent instance). */
export interface RuntimeTopics {
  /** Task requests for one capability; the workers serving it form one group. */
  tasks(capability: string): string;
  /**
   * Status, artifact and result events of every dispatched task, one topic per namespace:
   * each bus reads it with an ephemeral group and keeps the events of its own tasks (by
   * correlation id). No topic per process, so restarts leave no topics behind.
   */
  readonly replies: string;
  /** True for the namespace's reply topic: the only topic a worker answers on. */
  isReplyTopic(topic: string): boolean;
  /** Agent announcements and heartbeats. */
  readonly registry: string;
  /** Cancel requests, seen by every instance. */
  readonly control: string;
  /** Everything that happened to every workflow, in order per workflow: the audit trail. */
  readonly workflows: string;
}

/** What an instance id may hold: it names groups and registry entries. */
export const INSTANCE_ID_PATTERN = /^[\w:-]{1,200}$/;

export function runtimeTopics(namespace: string): RuntimeTopics {
  const replies = `${namespace}.replies`;
  // One string per capability, not one per dispatch: transports key their topics by it.
  const taskTopics = new Map<string, string>();
  return {
    tasks: (capability) => {
      let topic = taskTopics.get(capability);
      if (topic === undefined) {
        topic = `${namespace}.tasks.${capability}`;
        if (taskTopics.size < 1_000) taskTopics.set(capability, topic);
      }
      return topic;
    },
    replies,
    isReplyTopic: (topic) => topic === replies,
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
  /** On the `working` event that starts an attempt: the delivery's attempt number. */
  attempt: 'a2a-bus.attempt',
  /** On the event that ends an attempt without a final task (`retry`). */
  attemptEnd: 'a2a-bus.attempt-end',
  /** On an answer given from the idempotency store: `idempotency-store`. */
  servedFrom: 'a2a-bus.served-from',
  /**
   * On a task request whose caller reads only the final task (`dispatch`, not
   * `dispatchStream`): `final`. The worker sends it no other event; the audit trail still
   * gets every one.
   */
  replies: 'a2a-bus.replies',
  /** On agent heartbeats: tasks the instance is running now. */
  inFlight: 'a2a-bus.in-flight',
} as const;

export type RuntimeRecordType =
  | 'task-request'
  | 'task-event'
  | 'agent-up'
  | 'agent-heartbeat'
  | 'agent-down'
  | 'cancel'
  | 'dead-letter-handled'
  | 'reply-probe';
