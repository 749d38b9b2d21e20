import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const pages = [
  ['agents', '/agents', 'Agents'],
  ['workflows', '/workflows', 'Workflows'],
  ['lag', '/lag', 'Consumer lag'],
  ['dead-letters', '/dead-letters', 'Dead letters'],
  ['anomalies', '/anomalies', 'Anomalies'],
] as const;

export type PageName = (typeof pages)[number][0];

/** The page frame: header with the namespace and backend, navigation, content. */
export function layout(page: PageName, title: string, context: { namespace: string; backend: string }, body: Html, scripts: readonly string[] = []): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · a2a-bus console</title>
<link rel="stylesheet" href="/assets/console.css">
${page === 'lag' ? html`<link rel="stylesheet" href="/assets/uPlot.min.css">` : ''}
</head>
<body>
<header>
  <span class="brand">a2a-bus</span>
  <span class="context">namespace <b>${context.namespace}</b> on <b>${context.backend}</b></span>
  <nav>${pages.map(([name, href, label]) => html`<a href="${href}" class="${name === page ? 'current' : ''}">${label}</a>`)}</nav>
</header>
<main>
<h1>${title}</h1>
${body}
</main>
<script src="/assets/refresh.js"></script>
${scripts.map((src) => html`<script src="${src}"></script>`)}
</body>
</html>`;
}

/** "3.2 s", "850 ms", "2 min". */
export function duration(ms: number | undefined): string {
  if (ms === undefined) return '–';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}
