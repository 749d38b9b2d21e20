import { z } from 'zod';

/**
 * A2A v1.0 objects as they appear on the wire: camelCase JSON, enums as their string
 * names (`ROLE_USER`, `TASK_STATE_COMPLETED`) — the shape `@a2a-js/sdk`'s `X.toJSON()`
 * produces. We validate the fields the bus and the runtime rely on and keep every other
 * field untouched (loose objects), so newer A2A fields pass through unharmed.
 */

const metadata = z.record(z.string(), z.unknown()).optional();

/** Exactly one of text | raw (base64 bytes) | url | data. */
export const partSchema = z
  .looseObject({
    text: z.string().optional(),
    raw: z.base64().optional(),
    url: z.string().optional(),
    data: z.unknown().optional(),
    mediaType: z.string().optional(),
    filename: z.string().optional(),
    metadata,
  })
  .refine((part) => ['text', 'raw', 'url', 'data'].filter((k) => part[k] !== undefined).length === 1, {
    message: 'a part holds exactly one of text, raw, url or data',
  });

export const roleSchema = z.enum(['ROLE_USER', 'ROLE_AGENT']);

export const messageSchema = z.looseObject({
  messageId: z.string().min(1),
  contextId: z.string().optional(),
  taskId: z.string().optional(),
  role: roleSchema,
  parts: z.array(partSchema),
  metadata,
  extensions: z.array(z.string()).optional(),
  referenceTaskIds: z.array(z.string()).optional(),
});

export const taskStates = [
  'TASK_STATE_SUBMITTED',
  'TASK_STATE_WORKING',
  'TASK_STATE_COMPLETED',
  'TASK_STATE_FAILED',
  'TASK_STATE_CANCELED',
  'TASK_STATE_INPUT_REQUIRED',
  'TASK_STATE_REJECTED',
  'TASK_STATE_AUTH_REQUIRED',
] as const;
export const taskStateSchema = z.enum(taskStates);

export const taskStatusSchema = z.looseObject({
  state: taskStateSchema,
  message: messageSchema.optional(),
  timestamp: z.string().optional(),
});

export const artifactSchema = z.looseObject({
  artifactId: z.string().min(1),
  name: z.string().optional(),
  description: z.string().optional(),
  parts: z.array(partSchema),
  metadata,
});

export const taskSchema = z.looseObject({
  id: z.string().min(1),
  contextId: z.string(),
  status: taskStatusSchema,
  artifacts: z.array(artifactSchema).optional(),
  history: z.array(messageSchema).optional(),
  metadata,
});

export const taskStatusUpdateEventSchema = z.looseObject({
  taskId: z.string().min(1),
  contextId: z.string(),
  status: taskStatusSchema,
  metadata,
});

export const taskArtifactUpdateEventSchema = z.looseObject({
  taskId: z.string().min(1),
  contextId: z.string(),
  artifact: artifactSchema,
  append: z.boolean().optional(),
  lastChunk: z.boolean().optional(),
  metadata,
});

/** Exactly one of task | message | statusUpdate | artifactUpdate. */
export const streamResponseSchema = z.union([
  z.strictObject({ task: taskSchema }),
  z.strictObject({ message: messageSchema }),
  z.strictObject({ statusUpdate: taskStatusUpdateEventSchema }),
  z.strictObject({ artifactUpdate: taskArtifactUpdateEventSchema }),
]);

export const agentSkillSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string(),
  description: z.string().optional(),
  tags: z.array(z.string()).optional(),
});

export const agentCardSchema = z.looseObject({
  name: z.string().min(1),
  description: z.string().optional(),
  version: z.string().optional(),
  skills: z.array(agentSkillSchema),
});

export type A2APart = z.infer<typeof partSchema>;
export type A2AMessage = z.infer<typeof messageSchema>;
export type A2ATaskState = z.infer<typeof taskStateSchema>;
export type A2ATaskStatus = z.infer<typeof taskStatusSchema>;
export type A2AArtifact = z.infer<typeof artifactSchema>;
export type A2ATask = z.infer<typeof taskSchema>;
export type A2ATaskStatusUpdateEvent = z.infer<typeof taskStatusUpdateEventSchema>;
export type A2ATaskArtifactUpdateEvent = z.infer<typeof taskArtifactUpdateEventSchema>;
export type A2AStreamResponse = z.infer<typeof streamResponseSchema>;
export type A2AAgentCard = z.infer<typeof agentCardSchema>;
export type A2AAgentSkill = z.infer<typeof agentSkillSchema>;
