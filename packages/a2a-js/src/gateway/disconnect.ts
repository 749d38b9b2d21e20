import type { NextFunction, Request, Response } from 'express';

/**
 * The SDK's handlers give the request handler the request headers (in the call context's
 * state) but not the request: the headers object is the key under which each request's
 * "client went away" signal is found, so an abandoned stream stops following its task.
 */
const signals = new WeakMap<object, AbortSignal>();

export function trackDisconnect(req: Request, res: Response, next: NextFunction): void {
  const controller = new AbortController();
  res.once('close', () => controller.abort(new Error('the client disconnected')));
  signals.set(req.headers, controller.signal);
  next();
}

/** Aborts when the HTTP client of the request with these headers disconnects (or the response ends). */
export function disconnectSignal(headers: object | undefined): AbortSignal | undefined {
  return headers ? signals.get(headers) : undefined;
}
