import { html } from 'hono/html';
import type { WorkflowRow } from '../data/workflow-index.js';
import { duration, type Html } from './layout.js';

export function workflowRows(rows: readonly WorkflowRow[]): Html {
  if (!rows.length) return html`<tr><td colspan="5" class="empty">no workflows found</td></tr>`;
  return html`${rows.map(
    (row) => html`<tr>
  <td class="mono"><a href="/workflows/${encodeURIComponent(row.workflowId)}">${row.workflowId}</a></td>
  <td>${row.capabilities.map((c) => html`<span class="tag">${c}</span>`)}</td>
  <td class="num">${row.steps}</td>
  <td class="num">${duration(row.lastAt - row.firstAt)}</td>
  <td><span class="status ${row.status}">${row.status}</span></td>
</tr>`,
  )}`;
}

export function workflowsPage(query: string, rows: readonly WorkflowRow[]): Html {
  return html`<form method="get" action="/workflows" class="search">
  <input type="search" name="q" value="${query}" placeholder="workflow id or capability" autofocus>
  <button type="submit">Search</button>
</form>
<table id="workflows">
<thead><tr><th>Workflow</th><th>Capabilities</th><th>Steps</th><th>Span</th><th>Status</th></tr></thead>
<tbody data-refresh="/workflows?fragment=rows&q=${encodeURIComponent(query)}">${workflowRows(rows)}</tbody>
</table>`;
}
