import type {
  AgentCard,
  CancelTaskRequest,
  DeleteTaskPushNotificationConfigRequest,
  GetExtendedAgentCardRequest,
  GetTaskPushNotificationConfigRequest,
  GetTaskRequest,
  ListTaskPushNotificationConfigsRequest,
  ListTaskPushNotificationConfigsResponse,
  ListTasksRequest,
  ListTasksResponse,
  SendMessageRequest,
  SendMessageResult,
  StreamResponse,
  SubscribeToTaskRequest,
  Task,
  TaskPushNotificationConfig,
} from '@a2a-js/sdk';
import type { RequestOptions, Transport } from '@a2a-js/sdk/client';
import { PushNotificationNotSupportedError } from '@a2a-js/sdk/errors';
import { SendMessageRequest as SendMessageRequestCodec } from '@a2a-js/sdk';
import { BUS_PROTOCOL_BINDING, BUS_PROTOCOL_VERSION } from '../binding.js';
import type { BusA2AService } from '../bus-a2a-service.js';
import type { CallInfo } from '../call.js';
import { codec } from '../codec.js';

/**
 * An `@a2a-js/sdk` client `Transport` that speaks the a2a-bus binding: requests become bus
 * dispatches, reads and resubscriptions come from the workflow log. An ordinary SDK
 * `Client` uses it through {@link BusTransportFactory}.
 */
export class BusTransport implements Transport {
  private readonly service: BusA2AService;
  private readonly card: AgentCard;

  constructor(service: BusA2AService, card: AgentCard) {
    this.service = service;
    this.card = card;
  }

  get protocolName(): string {
    return BUS_PROTOCOL_BINDING;
  }

  get protocolVersion(): string {
    return BUS_PROTOCOL_VERSION;
  }

  async getExtendedAgentCard(_params: GetExtendedAgentCardRequest, _options?: RequestOptions): Promise<AgentCard> {
    return this.card;
  }

  async sendMessage(params: SendMessageRequest, options?: RequestOptions): Promise<SendMessageResult> {
    const { task } = await this.service.send(SendMessageRequestCodec.toJSON(params) as object, call(options));
    return codec.taskFromWire(task);
  }

  async *sendMessageStream(params: SendMessageRequest, options?: RequestOptions): AsyncGenerator<StreamResponse, void, undefined> {
    for await (const event of this.service.stream(SendMessageRequestCodec.toJSON(params) as object, call(options))) yield codec.eventFromWire(event);
  }

  async getTask(params: GetTaskRequest, options?: RequestOptions): Promise<Task> {
    return codec.taskFromWire(await this.service.getTask(params.id, params.historyLength, call(options)));
  }

  async cancelTask(params: CancelTaskRequest, options?: RequestOptions): Promise<Task> {
    return codec.taskFromWire(await this.service.cancel(params.id, call(options)));
  }

  async listTasks(params: ListTasksRequest, options?: RequestOptions): Promise<ListTasksResponse> {
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
      call(options),
    );
    return { ...page, tasks: page.tasks.map(codec.taskFromWire) };
  }

  async *resubscribeTask(params: SubscribeToTaskRequest, options?: RequestOptions): AsyncGenerator<StreamResponse, void, undefined> {
    for await (const event of this.service.subscribe(params.id, call(options))) yield codec.eventFromWire(event);
  }

  createTaskPushNotificationConfig(_params: TaskPushNotificationConfig): Promise<TaskPushNotificationConfig> {
    return Promise.reject(new PushNotificationNotSupportedError('the a2a-bus binding has no push notifications: subscribe to the task instead'));
  }

  getTaskPushNotificationConfig(_params: GetTaskPushNotificationConfigRequest): Promise<TaskPushNotificationConfig> {
    return Promise.reject(new PushNotificationNotSupportedError());
  }

  listTaskPushNotificationConfig(_params: ListTaskPushNotificationConfigsRequest): Promise<ListTaskPushNotificationConfigsResponse> {
    return Promise.reject(new PushNotificationNotSupportedError());
  }

  deleteTaskPushNotificationConfig(_params: DeleteTaskPushNotificationConfigRequest): Promise<void> {
    return Promise.reject(new PushNotificationNotSupportedError());
  }
}

function call(options: RequestOptions | undefined): CallInfo {
  return { ...(options?.serviceParameters ? { serviceParameters: options.serviceParameters } : {}), ...(options?.signal ? { signal: options.signal } : {}) };
}
