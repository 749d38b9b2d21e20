import type { A2AAgentCard, A2AMessage, A2AStreamResponse, A2ATask } from '@a2a-bus/core';
import { AgentCard, Message, StreamResponse, Task, taskStateToJSON, type TaskState } from '@a2a-js/sdk';

/**
 * The SDK keeps A2A objects in their protobuf-generated form (enums as numbers, oneofs as
 * `$case`); the bus keeps them as they travel on the wire (ProtoJSON). The SDK's own codecs
 * convert, so both sides agree on every field.
 */
export const codec = {
  taskFromWire: (task: A2ATask): Task => Task.fromJSON(task),
  taskToWire: (task: Task): A2ATask => Task.toJSON(task) as A2ATask,
  messageToWire: (message: Message): A2AMessage => Message.toJSON(message) as A2AMessage,
  messageFromWire: (message: A2AMessage): Message => Message.fromJSON(message),
  eventFromWire: (event: A2AStreamResponse): StreamResponse => StreamResponse.fromJSON(event),
  eventToWire: (event: StreamResponse): A2AStreamResponse => StreamResponse.toJSON(event) as A2AStreamResponse,
  cardToWire: (card: AgentCard): A2AAgentCard => AgentCard.toJSON(card) as A2AAgentCard,
  cardFromWire: (card: A2AAgentCard | Record<string, unknown>): AgentCard => AgentCard.fromJSON(card),
  /** A ListTasks status filter as its wire name; `undefined` for "any". */
  stateToWire: (state: TaskState): string | undefined => (state ? taskStateToJSON(state) : undefined),
};
