import {
  SendMessageRequest as SendMessageRequestCodec,
  type AgentCard,
  type CancelTaskRequest,
  type DeleteTaskPushNotificationConfigRequest,
  type GetExtendedAgentCardRequest,
  type GetTaskPushNotificationConfigRequest,
  type GetTaskRequest,
  type ListTaskPushNotificationConfigsRequest,
  type ListTaskPushNotificationConfigsResponse,
  type ListTasksRequest,
  type ListTasksResponse,
  type Message,
  type SendMessageRequest,
  type StreamResponse,
  type SubscribeToTaskRequest,
  type Task,
  type TaskPushNotificationConfig,
} from '@a2a-js/sdk';
import { STATE_HEADERS_KEY, type A2ARequestHandler, type ServerCallContext } from '@a2a-js/sdk/server';
import { ExtendedAgentCardNotConfiguredError, PushNotificationNotSupportedError } from '@a2a-js/sdk/errors';
import type { BusA2AService } from '../bus-a2a-service.js';
import type { CallInfo } from '../call.js';
import { codec } from '../codec.js';
import { disconnectSignal } from './disconnect.js';

/** Which request headers travel to the agent as service parameters: A2A's own, plus any listed. */
export type HeaderFilter = (name: string) => boolean;

export const forwardA2AHeaders: HeaderFilter = (name) => name.startsWith('a2a-');

/**
 * The SDK's `A2ARequestHandler` over the bus: what the SDK's JSON-RPC and REST Express
 * handlers call. Every operation is a {@link BusA2AService} call, so any gateway instance
 * answers for any task (reads come from the workflow log, not from this process's memory).
 */
export class BusRequestHandler implements A2ARequestHandler {
  private readonly service: BusA2AService;
  private readonly card: () => Promise<AgentCard>;
  private readonly forward: HeaderFilter;

  constructor(service: BusA2AService, card: () => Promise<AgentCard>, forward: HeaderFilter = forwardA2AHeaders) {
    this.service = service;
    this.card = card;
    this.forward = forward;
  }

  getAgentCard(): Promise<AgentCard> {
    return this.card();
  }

  async getAuthenticatedExtendedAgentCard(_params: GetExtendedAgentCardRequest, _context: ServerCallContext): Promise<AgentCard> {
    throw new ExtendedAgentCardNotConfiguredError('this gateway serves no extended agent card');
  }

  async sendMessage(params: SendMessageRequest, context: ServerCallContext): Promise<Message | Task> {
    const { task } = await this.service.send(SendMessageRequestCodec.toJSON(params) as object, this.call(context));
    return codec.taskFromWire(task);
  }

  async *sendMessageStream(params: SendMessageRequest, context: ServerCallContext): AsyncGenerator<StreamResponse, void, undefined> {
    for await (const event of this.service.stream(SendMessageRequestCodec.toJSON(params) as object, this.call(context))) yield codec.eventFromWire(event);
  }

  async getTask(params: GetTaskRequest, context: ServerCallContext): Promise<Task> {
    return codec.taskFromWire(await this.service.getTask(params.id, params.historyLength, this.call(context)));
  }

  async cancelTask(params: CancelTaskRequest, context: ServerCallContext): Promise<Task> {
    return codec.taskFromWire(await this.service.cancel(params.id, this.call(context)));
  }

  async listTasks(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const status = codec.stateToWire(params.status);
    const page = this.service.list(
      {
        ...(params.contextId ? { contextId: params.contextId } : {}),
        ...(status ? { status } : {}),
        ...(params.pageSize !== undefined ? { pageSize: params.pageSize } : {}),
        ...(params.pageToken ? { pageToken: params.pageToken } : {}),
        ...(params.historyLength !== undefined ? { historyLength: params.historyLength } : {}),
        ...(params.statusTimestampAfter ? { statusTimestampAfter: params.statusTimestampAfter } : {}),
        includeArtifacts: params.includeArtifacts ?? false,
      },
      this.call(context),
    );
    return { ...page, tasks: page.tasks.map(codec.taskFromWire) };
  }

  async *resubscribe(params: SubscribeToTaskRequest, context: ServerCallContext): AsyncGenerator<StreamResponse, void, undefined> {
    for await (const event of this.service.subscribe(params.id, this.call(context))) yield codec.eventFromWire(event);
  }

  async createTaskPushNotificationConfig(_params: TaskPushNotificationConfig, _context: ServerCallContext): Promise<TaskPushNotificationConfig> {
    throw new PushNotificationNotSupportedError('the gateway has no push notifications: use SubscribeToTask');
  }

  async getTaskPushNotificationConfig(_params: GetTaskPushNotificationConfigRequest, _context: ServerCallContext): Promise<TaskPushNotificationConfig> {
    throw new PushNotificationNotSupportedError();
  }

  async listTaskPushNotificationConfigs(
    _params: ListTaskPushNotificationConfigsRequest,
    _context: ServerCallContext,
  ): Promise<ListTaskPushNotificationConfigsResponse> {
    throw new PushNotificationNotSupportedError();
  }

  async deleteTaskPushNotificationConfig(_params: DeleteTaskPushNotificationConfigRequest, _context: ServerCallContext): Promise<void> {
    throw new PushNotificationNotSupportedError();
  }

  private call(context: ServerCallContext): CallInfo {
    const headers = (context.state.get(STATE_HEADERS_KEY) ?? {}) as Record<string, string | string[] | undefined>;
    const serviceParameters: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined && this.forward(name.toLowerCase())) serviceParameters[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    const user = context.user;
    const signal = disconnectSignal(headers);
    return {
      serviceParameters,
      ...(signal ? { signal } : {}),
      ...(user?.isAuthenticated ? { caller: user.userName } : {}),
      ...(context.tenant ? { tenant: context.tenant } : {}),
    };
  }
}
