import { InvalidOptionsError } from '@a2a-bus/core';

/**
 * The a2a-bus protocol binding (A2A v1.0 §12, custom bindings). An agent reachable over the
 * bus lists it in `AgentCard.supportedInterfaces[]` with this `protocolBinding`; the
 * interface `url` is a {@link BusInterfaceUrl}. The full binding is written down in this
 * package's README.
 */
export const BUS_PROTOCOL_BINDING = 'urn:a2a-bus:binding:log:1.0';

/** A2A protocol version the binding carries (the envelope's `a2aVersion`). */
export const BUS_PROTOCOL_VERSION = '1.0';

/** Envelope header names the binding sets on task requests, next to the runtime's own. */
export const bindingHeaders = {
  /** Authenticated caller (the gateway's user name); absent for anonymous calls. */
  caller: 'a2a.caller',
  /** Whether the caller authenticated (`true` / `false`). */
  authenticated: 'a2a.caller-authenticated',
  /** Tenant from the A2A request, when one was given. */
  tenant: 'a2a.tenant',
  /** Prefix of every A2A service parameter (`a2a.param.a2a-extensions`, lower-case names). */
  serviceParameterPrefix: 'a2a.param.',
} as const;

/** Metadata key a caller may set on SendMessageRequest (or its message) to pick a skill. */
export const SKILL_METADATA_KEY = 'a2a-bus/skill';

/** Where a bus interface points: the transport URL, the runtime namespace, and optionally one skill. */
export interface BusInterfaceUrl {
  /** What `createTransport` takes: `memory://name`, `kafka://host:port`, `redis://…`, `nats://…`. */
  readonly transportUrl: string;
  readonly namespace: string;
  /** The capability requests go to when the request does not name one. */
  readonly skill?: string;
}

/**
 * Bus interface URLs are the transport URL with the rest in the fragment, which no
 * transport reads: `kafka://127.0.0.1:19092#ns=a2a&skill=text.shout`.
 */
export function formatBusUrl(url: BusInterfaceUrl): string {
  const params = new URLSearchParams({ ns: url.namespace });
  if (url.skill) params.set('skill', url.skill);
  return `${url.transportUrl}#${params.toString()}`;
}

export function parseBusUrl(url: string): BusInterfaceUrl {
  const hash = url.indexOf('#');
  const transportUrl = hash < 0 ? url : url.slice(0, hash);
  const params = new URLSearchParams(hash < 0 ? '' : url.slice(hash + 1));
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(transportUrl)) {
    throw new InvalidOptionsError('a2a-js', 'url', `"${url}" is not a bus interface URL (transport URL#ns=<namespace>&skill=<skill>)`);
  }
  const skill = params.get('skill') ?? undefined;
  return { transportUrl, namespace: params.get('ns') ?? 'a2a', ...(skill ? { skill } : {}) };
}
