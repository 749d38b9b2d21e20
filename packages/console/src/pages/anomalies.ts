import type { Anomaly } from '@a2a-bus/anomalies';
import { html } from 'hono/html';
import type { Html } from './layout.js';

/** 80714, 834, 90.0, 0.500: whole numbers from 100 up, three significant digits below. */
export function figure(value: number): string {
  return Math.abs(value) >= 100 ? String(Math.round(value)) : value.toPrecision(3);
}

export function anomalyRow(anomaly: Anomaly): Html {
  return html`<tr class="anomaly" data-kind="${anomaly.kind}" data-id="${anomaly.id}">
  <td class="mono">${anomaly.at.slice(11, 23)}</td>
  <td><span class="kind ${anomaly.kind}">${anomaly.kind}</span></td>
  <td>${anomaly.capability ?? '–'}</td>
  <td class="mono">${anomaly.agent ?? '–'}</td>
  <td class="num">${figure(anomaly.observed)}</td>
  <td class="num">${figure(anomaly.baseline)}</td>
  <td class="num">${figure(anomaly.score)}</td>
  <td>${anomaly.message}</td>
  <td class="mono small">${anomaly.examples.join(' ')}</td>
</tr>`;
}

export function anomaliesPage(recent: readonly Anomaly[]): Html {
  return html`<p class="hint">From <code>&lt;namespace&gt;.anomalies</code>: every detector in every process writes there. New ones appear live <span id="live-state" class="status">connecting…</span></p>
<table id="anomalies">
<thead><tr><th>Time</th><th>Kind</th><th>Capability</th><th>Agent</th><th>Observed</th><th>Baseline</th><th>Score</th><th>What</th><th>Examples</th></tr></thead>
<tbody>${recent.length ? [...recent].reverse().map(anomalyRow) : html`<tr class="none"><td colspan="9" class="empty">no anomalies lately</td></tr>`}</tbody>
</table>`;
}
