import type { NextFunction, Request, Response } from 'express';
import type { User } from '@a2a-js/sdk/server';
import type { A2AAgentCard } from '@a2a-bus/core';

export interface GatewayAuth {
  /** Bearer token → the user name it stands for. */
  readonly bearerTokens?: Readonly<Record<string, string>>;
  /** API key → user name, sent in {@link apiKeyHeader}. */
  readonly apiKeys?: Readonly<Record<string, string>>;
  /** Default `X-API-Key`. */
  readonly apiKeyHeader?: string;
}

class GatewayUser implements User {
  readonly userName: string;
  constructor(userName: string) {
    this.userName = userName;
  }
  get isAuthenticated(): boolean {
    return true;
  }
}

const USER = Symbol.for('a2a-bus.gateway.user');

/**
 * Refuses requests without a known bearer token or API key (HTTP 401 with
 * `WWW-Authenticate`), before their body is read; remembers who called for the SDK's
 * `UserBuilder`, whose user name then travels on the task request's envelope.
 */
export function authGuard(auth: GatewayAuth | undefined) {
  const header = (auth?.apiKeyHeader ?? 'X-API-Key').toLowerCase();
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!auth) {
      next();
      return;
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(req.header('authorization') ?? '')?.[1]?.trim();
    const key = req.header(header);
    const userName = (bearer !== undefined ? auth.bearerTokens?.[bearer] : undefined) ?? (key !== undefined ? auth.apiKeys?.[key] : undefined);
    if (userName === undefined) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="a2a-bus"');
      res.status(401).json({ error: { code: 401, status: 'UNAUTHENTICATED', message: 'a valid bearer token or API key is required' } });
      return;
    }
    (req as unknown as Record<symbol, User>)[USER] = new GatewayUser(userName);
    next();
  };
}

/** The SDK `UserBuilder`: the user `authGuard` recognised, or the SDK's anonymous user. */
export function userBuilder(anonymous: () => Promise<User>) {
  return async (req: Request): Promise<User> => (req as unknown as Record<symbol, User | undefined>)[USER] ?? anonymous();
}

/** `securitySchemes` and `securityRequirements` for the card (A2A v1.0 ProtoJSON). */
export function securityOf(auth: GatewayAuth | undefined): Partial<A2AAgentCard> {
  if (!auth) return {};
  const schemes: Record<string, unknown> = {};
  const requirements: unknown[] = [];
  if (auth.bearerTokens) {
    schemes.bearer = { httpAuthSecurityScheme: { scheme: 'Bearer', description: 'a token the gateway operator issued' } };
    requirements.push({ schemes: { bearer: { list: [] } } });
  }
  if (auth.apiKeys) {
    schemes.apiKey = { apiKeySecurityScheme: { location: 'header', name: auth.apiKeyHeader ?? 'X-API-Key' } };
    requirements.push({ schemes: { apiKey: { list: [] } } });
  }
  return { securitySchemes: schemes, securityRequirements: requirements };
}
