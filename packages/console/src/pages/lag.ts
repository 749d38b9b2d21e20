import { html } from 'hono/html';
import type { Html } from './layout.js';

export function lagPage(available: boolean, windowMs: number): Html {
  if (!available) return html`<p class="empty">This transport does not report consumer lag (no <code>inspectLag</code>).</p>`;
  return html`<p class="hint">Records not yet acknowledged, per consumer group and partition, over the last ${Math.round(windowMs / 60_000)} minutes. Sampled every few seconds.</p>
<div id="lag-chart"></div>
<table id="lag-now"><thead><tr><th>Group · topic · partition</th><th>Lag now</th></tr></thead><tbody></tbody></table>`;
}
