// The console's console.css (stylesheet), shipped inside the package as a string: no build step, no files beside dist/.
export const consoleCss = `:root { --bg: #f7f8fa; --fg: #1d2430; --muted: #6b7385; --line: #dde1e8; --accent: #3056d3; --ok: #2e9d5b; --warn: #e08a1e; --bad: #d23c3c; --idle: #9aa3b5; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #1d2430; color: #fff; }
header .brand { font-weight: 700; letter-spacing: .5px; }
header .context { color: #b8c0d0; font-size: 13px; }
header nav { margin-left: auto; display: flex; gap: 4px; }
header nav a { color: #d5dbe7; text-decoration: none; padding: 6px 10px; border-radius: 4px; }
header nav a.current, header nav a:hover { background: #34405a; color: #fff; }
main { padding: 16px 24px 48px; }
h1 { font-size: 20px; margin: 4px 0 8px; }
h2 { font-size: 16px; }
.hint { color: var(--muted); margin: 0 0 12px; }
.empty { color: var(--muted); font-style: italic; padding: 12px; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f6; font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .4px; color: #4a5366; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.small { font-size: 11px; color: var(--muted); }
.tag { display: inline-block; background: #e7ecfb; color: #2a45a8; border-radius: 10px; padding: 0 8px; margin: 1px 4px 1px 0; font-size: 12px; }
.status { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px; background: #eceff4; }
.status.live, .status.completed { background: #dff3e6; color: #1f6e3f; }
.status.silent, .status.running, .status.working, .status.retried { background: #fdf0dc; color: #8a5410; }
.status.down, .status.failed, .status.dead-lettered, .status.canceled, .status.rejected { background: #fbe2e2; color: #9b2424; }
tr.agent.down td { color: var(--muted); }
.search { display: flex; gap: 8px; margin-bottom: 12px; }
.search input { flex: 1; max-width: 480px; padding: 6px 10px; border: 1px solid var(--line); border-radius: 4px; }
button { padding: 6px 12px; border: 1px solid #b9c2d3; border-radius: 4px; background: #fff; cursor: pointer; }
button:disabled { opacity: .5; cursor: default; }
button#redrive:not(:disabled) { background: var(--accent); color: #fff; border-color: var(--accent); }
.actions { display: flex; gap: 8px; align-items: center; margin-bottom: 10px; }
.result { color: var(--muted); }
.legend { display: flex; gap: 10px; align-items: center; color: var(--muted); font-size: 12px; margin-bottom: 8px; }
.legend .seg { position: static; display: inline-block; width: 18px; height: 10px; }
.waterfall { background: #fff; border: 1px solid var(--line); }
.waterfall .axis, .waterfall .step { display: grid; grid-template-columns: 420px 1fr; border-bottom: 1px solid var(--line); }
.waterfall .axis { height: 24px; background: #eef1f6; }
.waterfall .label { padding: 6px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
.waterfall .label .meta { display: block; color: var(--muted); font-size: 12px; }
.waterfall .label .task-id { margin-left: 6px; color: var(--muted); }
.waterfall .track { position: relative; min-height: 44px; border-left: 1px solid var(--line); }
.waterfall .axis .track { min-height: 24px; }
.tick { position: absolute; top: 4px; font-size: 11px; color: var(--muted); transform: translateX(2px); border-left: 1px solid #c8cfdb; padding-left: 3px; }
.seg { position: absolute; top: 16px; height: 14px; border-radius: 3px; min-width: 2px; }
.seg.queued { background: repeating-linear-gradient(45deg, #d7dce6, #d7dce6 4px, #eceff4 4px, #eceff4 8px); }
.seg.completed { background: var(--ok); }
.seg.retried { background: var(--warn); }
.seg.failed, .seg.rejected, .seg.canceled { background: var(--bad); }
.seg.running, .seg.input-required { background: var(--accent); }
.dlq-mark { position: absolute; top: 10px; color: var(--bad); font-size: 18px; transform: translateX(-50%); }
.legend .dlq-mark { position: static; transform: none; font-size: 14px; }
.u-legend th { text-transform: none; background: none; letter-spacing: 0; font-weight: 500; }
#lag-chart { background: #fff; border: 1px solid var(--line); padding: 8px; margin-bottom: 12px; min-height: 340px; }
.kind { display: inline-block; border-radius: 3px; padding: 0 6px; font-size: 12px; background: #fbe2e2; color: #9b2424; font-weight: 600; }
tr.anomaly.fresh { animation: flash 2s ease-out; }
@keyframes flash { from { background: #fff3c4; } to { background: #fff; } }
dl.fields { display: grid; grid-template-columns: 140px 1fr; gap: 4px 12px; background: #fff; border: 1px solid var(--line); padding: 12px; }
dl.fields dt { color: var(--muted); }
pre.envelope { background: #fff; border: 1px solid var(--line); padding: 12px; overflow: auto; max-height: 480px; font-size: 12px; }
`;
