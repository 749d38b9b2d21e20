import { bindingHeaders } from './binding.js';

/** Who calls and how, as one A2A request carries it (HTTP headers, SDK RequestOptions). */
export interface CallInfo {
  /** Authenticated user name; absent for anonymous callers. */
  readonly caller?: string;
  readonly tenant?: string;
  /** A2A service parameters (A2A-Version, A2A-Extensions, custom ones); names are lower-cased. */
  readonly serviceParameters?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
}

/** Service parameters that are transport plumbing, not context for the agent. */
const notForwarded = new Set([
  'authorization',
  'x-api-key',
  'content-type',
  'content-length',
  'host',
  'connection',
  'accept',
  'accept-encoding',
  'user-agent',
  'cookie',
]);

/** The envelope headers a task request carries for this call (identity, tenant, service parameters). */
export function callHeaders(call: CallInfo): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(call.serviceParameters ?? {})) {
    const key = name.toLowerCase();
    if (value !== undefined && !notForwarded.has(key)) headers[`${bindingHeaders.serviceParameterPrefix}${key}`] = value;
  }
  if (call.tenant) headers[bindingHeaders.tenant] = call.tenant;
  headers[bindingHeaders.authenticated] = call.caller ? 'true' : 'false';
  if (call.caller) headers[bindingHeaders.caller] = call.caller;
  return headers;
}
