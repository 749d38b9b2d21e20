import { html } from 'hono/html';
import type { AgentRow } from '../data/agent-directory.js';
import { duration, type Html } from './layout.js';

/** The live agents table body (also served alone for the 2 s refresh). */
export function agentRows(rows: readonly AgentRow[]): Html {
  if (!rows.length) return html`<tr><td colspan="6" class="empty">no agents heard from</td></tr>`;
  return html`${rows.map(
    (row) => html`<tr class="agent ${row.status}" data-instance="${row.instance}">
  <td>${row.name}</td>
  <td class="mono">${row.instance}</td>
  <td>${row.capabilities.map((c) => html`<span class="tag">${c}</span>`)}</td>
  <td class="num">${duration(row.heartbeatAgeMs)}</td>
  <td class="num">${row.inFlight ?? '–'}</td>
  <td><span class="status ${row.status}">${row.status}</span></td>
</tr>`,
  )}`;
}

export function agentsPage(rows: readonly AgentRow[]): Html {
  return html`<p class="hint">Every agent instance heard on the registry lately. Refreshes every 2 s.</p>
<table id="agents">
<thead><tr><th>Agent</th><th>Instance</th><th>Capabilities</th><th>Heartbeat age</th><th>In flight</th><th>Status</th></tr></thead>
<tbody data-refresh="/agents?fragment=rows">${agentRows(rows)}</tbody>
</table>`;
}
