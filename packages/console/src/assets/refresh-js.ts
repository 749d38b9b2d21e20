// The console's refresh.js (browser script), shipped inside the package as a string: no build step, no files beside dist/.
export const refreshJs = `// Elements with data-refresh="<url>" reload their inner HTML from that URL every 2 s
// (server-rendered fragments). data-refresh-paused-by="<selector>" pauses it while the
// selector matches something (e.g. while rows are selected).
(() => {
  const targets = document.querySelectorAll('[data-refresh]');
  if (!targets.length) return;
  setInterval(async () => {
    for (const target of targets) {
      const pausedBy = target.getAttribute('data-refresh-paused-by');
      if (pausedBy && document.querySelector(pausedBy)) continue;
      try {
        const response = await fetch(target.getAttribute('data-refresh'), { headers: { accept: 'text/html' } });
        if (response.ok) target.innerHTML = await response.text();
      } catch {
        // the next round will try again
      }
    }
  }, 2000);
})();
`;
