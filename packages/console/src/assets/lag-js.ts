// The console's lag.js (browser script), shipped inside the package as a string: no build step, no files beside dist/.
export const lagJs = `// Consumer lag over the last minutes, one line per group · topic · partition (uPlot).
(() => {
  const container = document.getElementById('lag-chart');
  const nowBody = document.querySelector('#lag-now tbody');
  let plot;
  let keys = '';
  const palette = ['#3056d3', '#2e9d5b', '#e08a1e', '#d23c3c', '#8e44ad', '#16a085', '#c0392b', '#7f8c8d', '#2c3e50', '#d35400'];
  const render = async () => {
    const response = await fetch('/api/lag');
    if (!response.ok) return;
    const { points } = await response.json();
    const names = [...new Set(points.flatMap((p) => Object.keys(p.series)))].sort();
    const data = [points.map((p) => p.at / 1000), ...names.map((name) => points.map((p) => p.series[name] ?? null))];
    if (!plot || keys !== names.join('|')) {
      keys = names.join('|');
      plot?.destroy();
      plot = new uPlot(
        {
          width: container.clientWidth - 16,
          height: 320,
          series: [{}, ...names.map((name, i) => ({ label: name, stroke: palette[i % palette.length], width: 2 }))],
          axes: [{}, { label: 'records behind' }],
        },
        data,
        container,
      );
    } else {
      plot.setData(data);
    }
    const last = points.at(-1)?.series ?? {};
    nowBody.replaceChildren(
      ...names.map((name) => {
        const tr = document.createElement('tr');
        const a = document.createElement('td');
        a.textContent = name;
        a.className = 'mono';
        const b = document.createElement('td');
        b.textContent = String(last[name] ?? '–');
        b.className = 'num';
        tr.dataset.series = name;
        tr.append(a, b);
        return tr;
      }),
    );
  };
  render();
  setInterval(render, 2000);
})();
`;
