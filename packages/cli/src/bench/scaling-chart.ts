import type { ScalingPoint } from './scaling.js';

/**
 * The scaling curves as a PNG: one panel per varied parameter, throughput (bars) and p99
 * (line, right axis). Vega-Lite compiles the spec, Vega renders SVG headless (no browser, no
 * canvas), resvg rasterises it. These are dev dependencies of the CLI: a published CLI
 * without them prints the table and skips the chart.
 */
export async function renderScalingChart(backend: string, machine: string, points: readonly ScalingPoint[]): Promise<Buffer> {
  const [vega, vegaLite, { Resvg }] = await Promise.all([import('vega'), import('vega-lite'), import('@resvg/resvg-js')]);
  const dimensions = [...new Set(points.map((p) => p.dimension))];
  const panel = (dimension: string) => ({
    title: dimension,
    width: 220,
    height: 160,
    data: { values: points.filter((p) => p.dimension === dimension && Number.isFinite(p.msgsPerSec)).map((p, order) => ({ ...p, order })) },
    encoding: { x: { field: 'label', type: 'ordinal', sort: null, title: null, axis: { labelAngle: 0 } } },
    layer: [
      { mark: { type: 'bar', color: '#4c78a8', opacity: 0.8 }, encoding: { y: { field: 'msgsPerSec', type: 'quantitative', title: 'msg/s' } } },
      {
        mark: { type: 'line', color: '#e45756', point: true },
        encoding: { y: { field: 'p99Ms', type: 'quantitative', title: 'p99 ms (line)', axis: { titleColor: '#e45756' } } },
      },
    ],
    resolve: { scale: { y: 'independent' } },
  });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `a2a-bus on ${backend}: throughput (bars) and publish→handler p99 (line)`, subtitle: machine },
    config: { font: 'sans-serif' },
    concat: dimensions.map(panel),
    columns: 3,
  };
  const compiled = vegaLite.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG(2);
  view.finalize();
  return new Resvg(svg, { font: { loadSystemFonts: true }, background: 'white' }).render().asPng();
}
