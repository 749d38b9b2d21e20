// The console's dead-letters.js (browser script), shipped inside the package as a string: no build step, no files beside dist/.
export const deadLettersJs = `// Dead letters: select, dry-run (shows what would happen), then redrive. Redrive stays
// disabled until a dry run of the same selection.
(() => {
  const result = document.getElementById('redrive-result');
  const redrive = document.getElementById('redrive');
  let dryRunOf = '';
  const selected = () => [...document.querySelectorAll('#dead-letters input[name=position]:checked')].map((input) => input.value);
  const post = async (dryRun) => {
    const positions = selected();
    const response = await fetch('/api/dead-letters/redrive', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-a2a-console': '1' },
      body: JSON.stringify({ positions, dryRun }),
    });
    if (!response.ok) throw new Error(await response.text());
    return { positions, body: await response.json() };
  };
  document.getElementById('select-all').addEventListener('click', () => {
    for (const input of document.querySelectorAll('#dead-letters input[name=position]')) input.checked = true;
  });
  document.getElementById('dead-letters').addEventListener('change', () => {
    redrive.disabled = selected().join('\\n') !== dryRunOf || !dryRunOf;
  });
  document.getElementById('dry-run').addEventListener('click', async () => {
    try {
      const { positions, body } = await post(true);
      dryRunOf = positions.join('\\n');
      redrive.disabled = !positions.length;
      result.textContent = positions.length ? \`dry run: \${body.results.map((r) => \`\${r.id} → \${r.outcome}\`).join(', ')}\` : 'select dead letters first';
    } catch (error) {
      result.textContent = \`dry run failed: \${error.message}\`;
    }
  });
  redrive.addEventListener('click', async () => {
    try {
      const { body } = await post(false);
      result.textContent = \`redriven: \${body.results.filter((r) => r.outcome === 'redriven').length} (\${body.results.map((r) => \`\${r.id} → \${r.outcome}\`).join(', ')})\`;
      for (const input of document.querySelectorAll('#dead-letters input[name=position]:checked')) input.closest('tr').remove();
      dryRunOf = '';
      redrive.disabled = true;
    } catch (error) {
      result.textContent = \`redrive failed: \${error.message}\`;
    }
  });
})();
`;
