// The console's anomalies.js (browser script), shipped inside the package as a string: no build step, no files beside dist/.
export const anomaliesJs = `// Anomalies arrive over SSE and are prepended to the table as they come.
(() => {
  const body = document.querySelector('#anomalies tbody');
  const state = document.getElementById('live-state');
  const cell = (text, className) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  };
  const figure = (value) => (Math.abs(value) >= 100 ? String(Math.round(value)) : Number(value).toPrecision(3));
  const source = new EventSource('/api/anomalies/stream');
  source.addEventListener('ready', () => {
    state.textContent = 'live';
    state.className = 'status live';
  });
  source.addEventListener('error', () => {
    state.textContent = 'reconnecting…';
    state.className = 'status silent';
  });
  source.addEventListener('anomaly', (event) => {
    const a = JSON.parse(event.data);
    if (body.querySelector(\`tr[data-id="\${CSS.escape(a.id)}"]\`)) return;
    body.querySelector('tr.none')?.remove();
    const tr = document.createElement('tr');
    tr.className = 'anomaly fresh';
    tr.dataset.kind = a.kind;
    tr.dataset.id = a.id;
    const kind = document.createElement('td');
    const badge = document.createElement('span');
    badge.className = \`kind \${a.kind}\`;
    badge.textContent = a.kind;
    kind.append(badge);
    tr.append(
      cell(a.at.slice(11, 23), 'mono'),
      kind,
      cell(a.capability ?? '–'),
      cell(a.agent ?? '–', 'mono'),
      cell(figure(a.observed), 'num'),
      cell(figure(a.baseline), 'num'),
      cell(figure(a.score), 'num'),
      cell(a.message),
      cell(a.examples.join(' '), 'mono small'),
    );
    body.prepend(tr);
  });
})();
`;
