import { html } from 'hono/html';
import type { DeadLetterEntry } from '../data/dead-letters.js';
import type { Html } from './layout.js';

export function deadLetterRows(entries: readonly DeadLetterEntry[]): Html {
  const open = entries.filter((entry) => !entry.handled);
  if (!open.length) return html`<tr class="none"><td colspan="8" class="empty">no dead letters waiting</td></tr>`;
  return html`${open.map((entry) => {
    const { envelope } = entry;
    const capability = envelope.headers?.['a2a-bus.capability'] ?? '–';
    return html`<tr class="dead-letter" data-id="${envelope.id}" data-position="${entry.position}">
  <td><input type="checkbox" name="position" value="${entry.position}" aria-label="select ${envelope.id}"></td>
  <td class="mono"><a href="/dead-letters/show?position=${encodeURIComponent(entry.position)}">${envelope.id}</a></td>
  <td>${capability}</td>
  <td class="mono"><a href="/workflows/${encodeURIComponent(envelope.key)}">${envelope.key}</a></td>
  <td class="num">${envelope.payload.attempts}</td>
  <td class="mono">${envelope.payload.deadLetteredAt.slice(0, 19).replace('T', ' ')}</td>
  <td>${envelope.payload.reason}</td>
  <td>${envelope.payload.error.message}</td>
</tr>`;
  })}`;
}

export function deadLettersPage(entries: readonly DeadLetterEntry[]): Html {
  const handled = entries.filter((entry) => entry.handled).length;
  return html`<p class="hint">Dead letters of every capability's <code>.dlq</code> topic not yet redriven (${handled} already handled). Redrive sends the original back to its topic with the same id and the attempt count reset. Run a dry run first.</p>
<div class="actions">
  <button id="select-all" type="button">Select all</button>
  <button id="dry-run" type="button">Dry run</button>
  <button id="redrive" type="button" disabled>Redrive</button>
  <span id="redrive-result" class="result"></span>
</div>
<table id="dead-letters">
<thead><tr><th></th><th>Id</th><th>Capability</th><th>Workflow</th><th>Attempts</th><th>Dead-lettered</th><th>Reason</th><th>Error</th></tr></thead>
<tbody data-refresh="/dead-letters?fragment=rows" data-refresh-paused-by="#dead-letters input:checked">${deadLetterRows(entries)}</tbody>
</table>`;
}

export function deadLetterPage(entry: DeadLetterEntry): Html {
  return html`<p><a href="/dead-letters">← all dead letters</a></p>
<dl class="fields">
  <dt>Id</dt><dd class="mono">${entry.envelope.id}</dd>
  <dt>Position</dt><dd class="mono">${entry.position}</dd>
  <dt>Source topic</dt><dd class="mono">${entry.envelope.payload.sourceTopic}</dd>
  <dt>Group</dt><dd class="mono">${entry.envelope.payload.group}</dd>
  <dt>Attempts</dt><dd>${entry.envelope.payload.attempts}</dd>
  <dt>Reason</dt><dd>${entry.envelope.payload.reason}</dd>
  <dt>Error</dt><dd>${entry.envelope.payload.error.name}: ${entry.envelope.payload.error.message}</dd>
  <dt>Handled</dt><dd>${entry.handled ? 'yes (redriven)' : 'no'}</dd>
</dl>
<h2>Envelope</h2>
<pre class="envelope">${JSON.stringify(entry.envelope, null, 2)}</pre>`;
}
