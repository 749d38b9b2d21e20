import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';

const cookieName = 'a2a_console_token';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Token auth for a console bound off loopback: `Authorization: Bearer <token>`, or the
 * `?token=` link printed at start (it sets a SameSite=Strict, HttpOnly cookie and redirects
 * to the clean URL). Without a token configured every request passes.
 */
export function tokenAuth(token: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (!token) return next();
    const query = c.req.query('token');
    if (query !== undefined && same(query, token)) {
      setCookie(c, cookieName, token, { httpOnly: true, sameSite: 'Strict', path: '/' });
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      return c.redirect(`${url.pathname}${url.search}`);
    }
    const header = c.req.header('authorization');
    const given = header?.startsWith('Bearer ') ? header.slice(7) : getCookie(c, cookieName);
    if (given !== undefined && same(given, token)) return next();
    return c.text('a token is needed: open the link the console printed, or send Authorization: Bearer <token>', 401);
  };
}

/**
 * State-changing requests must carry `X-A2A-Console: 1`: a browser sends a custom header
 * cross-origin only after a CORS preflight this server never grants, so another site
 * cannot make a visitor's browser redrive dead letters (matters on loopback, where there is no token).
 */
export const requireConsoleHeader: MiddlewareHandler = async (c, next) => {
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && c.req.header('x-a2a-console') !== '1') return c.text('missing X-A2A-Console header', 403);
  return next();
};
