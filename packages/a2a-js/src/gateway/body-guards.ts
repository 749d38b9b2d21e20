import { messageSchema } from '@a2a-bus/core';
import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from 'express';

/** JSON-RPC 2.0 and A2A error codes the guards answer with. */
const code = { parse: -32700, invalidRequest: -32600, invalidParams: -32602, contentType: -32005 } as const;

function rpcError(res: Response, status: number, errorCode: number, message: string, id: unknown = null): void {
  res.status(status).json({ jsonrpc: '2.0', id, error: { code: errorCode, message } });
}

/**
 * What the gateway checks before a JSON-RPC request reaches the SDK's handler: the media
 * type (-32005), the body size (HTTP 413, the limit is configurable), JSON syntax (-32700)
 * and the JSON-RPC 2.0 request shape (-32600: the SDK alone would answer -32602). The body
 * is parsed here whatever its declared type, so the SDK's own parser (100 kB) never runs.
 */
export function jsonRpcGuards(limitBytes: number): Array<RequestHandler | ErrorRequestHandler> {
  const contentType = (req: Request, res: Response, next: NextFunction): void => {
    const declared = req.header('content-type');
    const media = declared?.split(';', 1)[0]?.trim().toLowerCase();
    if (media === undefined || media === 'application/json') {
      next();
      return;
    }
    rpcError(res, 200, code.contentType, `Content-Type "${declared}" is not supported; send application/json`);
  };
  const parse = express.json({ limit: limitBytes, type: () => true, strict: false });
  const parseErrors = (error: unknown, _req: Request, res: Response, next: NextFunction): void => {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') rpcError(res, 413, code.invalidRequest, `request body exceeds ${limitBytes} bytes`);
    else if (error instanceof SyntaxError || type === 'entity.parse.failed') rpcError(res, 200, code.parse, 'Invalid JSON payload.');
    else next(error);
  };
  const shape = (req: Request, res: Response, next: NextFunction): void => {
    const body = req.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      rpcError(res, 200, code.invalidRequest, 'a JSON-RPC request is one JSON object (batches are not supported)');
      return;
    }
    const id = body.id;
    const idOk = id === undefined || id === null || typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id));
    if (body.jsonrpc !== '2.0' || typeof body.method !== 'string' || body.method === '' || !idOk) {
      rpcError(res, 200, code.invalidRequest, 'not a JSON-RPC 2.0 request', idOk ? (id ?? null) : null);
      return;
    }
    if (body.params !== undefined && (typeof body.params !== 'object' || body.params === null || Array.isArray(body.params))) {
      rpcError(res, 200, code.invalidParams, 'params must be an object', id ?? null);
      return;
    }
    const problem = body.method === 'SendMessage' || body.method === 'SendStreamingMessage' ? messageProblem(body.params) : undefined;
    if (problem) {
      rpcError(res, 200, code.invalidParams, problem, id ?? null);
      return;
    }
    next();
  };
  return [contentType, parse, parseErrors, shape];
}

/** The REST counterpart: size (413) and JSON syntax (400) in the google.rpc.Status shape A2A's HTTP+JSON uses. */
export function restGuards(limitBytes: number): Array<RequestHandler | ErrorRequestHandler> {
  const parse = express.json({ limit: limitBytes, type: ['application/json', 'application/a2a+json'], strict: false });
  const parseErrors = (error: unknown, _req: Request, res: Response, next: NextFunction): void => {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') {
      res.status(413).json({ error: { code: 413, status: 'INVALID_ARGUMENT', message: `request body exceeds ${limitBytes} bytes`, details: [] } });
      return;
    }
    if (error instanceof SyntaxError || type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 400, status: 'INVALID_ARGUMENT', message: 'Invalid JSON payload.', details: [] } });
      return;
    }
    next(error);
  };
  const message = (req: Request, res: Response, next: NextFunction): void => {
    const problem = req.method === 'POST' && /\/message:(send|stream)$/.test(req.path) ? messageProblem(req.body) : undefined;
    if (problem) res.status(400).json({ error: { code: 400, status: 'INVALID_ARGUMENT', message: problem, details: [] } });
    else next();
  };
  return [parse, parseErrors, message];
}

/**
 * Checks the message as sent, before the SDK decodes it: its protobuf decoding keeps one
 * content of a part that has several and drops unknown fields, so an invalid part would
 * otherwise pass unnoticed.
 */
function messageProblem(params: unknown): string | undefined {
  const message = (params as { message?: unknown } | undefined)?.message;
  if (message === undefined) return 'params.message is required';
  const parsed = messageSchema.safeParse(message);
  if (parsed.success) return parsed.data.parts.length === 0 ? 'params.message.parts needs at least one part' : undefined;
  return `invalid message: ${parsed.error.issues.map((i) => `message.${i.path.join('.')}: ${i.message}`).join('; ')}`;
}
