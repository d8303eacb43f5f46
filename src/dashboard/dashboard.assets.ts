import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The dashboard's static files, served from memory. Chart.js comes from node_modules (a runtime dependency);
 * the page script and style are kept here as strings so the production build needs no asset copying.
 */
export interface Asset {
  type: string;
  body: string;
}

const PAGE_SCRIPT = `'use strict';
(function () {
  var palette = ['#2563eb', '#16a34a', '#dc2626', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];
  var block = document.getElementById('chart-data');
  if (block && window.Chart) {
    var charts = JSON.parse(block.textContent || '[]');
    charts.forEach(function (chart) {
      var canvas = document.getElementById(chart.id);
      if (!canvas) return;
      new window.Chart(canvas, {
        type: chart.type,
        data: {
          labels: chart.labels,
          datasets: chart.datasets.map(function (d, i) {
            return { label: d.label, data: d.data, backgroundColor: chart.type === 'doughnut' ? palette : palette[i % palette.length] };
          })
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          scales: chart.type === 'doughnut' ? {} : { x: { stacked: !!chart.stacked }, y: { stacked: !!chart.stacked, beginAtZero: true } }
        }
      });
    });
  }
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
    });
  });
})();
`;

const STYLE = `*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#111827;background:#f3f4f6}
header{background:#111827;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center}
header a{color:#e5e7eb;text-decoration:none}header a.on{color:#fff;font-weight:600;border-bottom:2px solid #60a5fa}
header .who{margin-left:auto;color:#9ca3af;font-size:.9em}header form{display:inline}
main{padding:1rem;max-width:1200px;margin:0 auto}h1{font-size:1.35rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.2rem 0 .5rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:1rem}
.card{background:#fff;border-radius:8px;padding:1rem;box-shadow:0 1px 2px rgba(0,0,0,.06);min-width:0}
.chart{position:relative;height:260px}.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e5e7eb;vertical-align:top;font-size:.92em}
th{background:#f9fafb;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.88em;word-break:break-all}
button,.button{background:#2563eb;color:#fff;border:0;border-radius:6px;padding:.45rem .8rem;font:inherit;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#6b7280}button.danger{background:#b91c1c}button.link{background:none;color:#e5e7eb;padding:0}
input,select{font:inherit;padding:.4rem .5rem;border:1px solid #d1d5db;border-radius:6px;max-width:100%}
form.inline{display:inline}form.search{display:flex;gap:.5rem;flex-wrap:wrap;margin-bottom:1rem}form.search input{flex:1;min-width:220px}
.flash{background:#ecfdf5;border:1px solid #a7f3d0;padding:.6rem .8rem;border-radius:6px;margin-bottom:1rem}
.error{background:#fef2f2;border:1px solid #fecaca;padding:.6rem .8rem;border-radius:6px;margin-bottom:1rem}
.badge{display:inline-block;padding:0 .4rem;border-radius:4px;font-size:.85em;background:#e5e7eb}
.badge.captured,.badge.ok,.badge.done,.badge.delivered,.badge.authorised,.badge.succeeded,.badge.active{background:#dcfce7}
.badge.rejected,.badge.dead,.badge.failed,.badge.invalid,.badge.error,.badge.lost{background:#fee2e2}
.badge.unknown,.badge.pending,.badge.action_required,.badge.past_due{background:#fef3c7}
.timeline{list-style:none;padding:0;margin:0}.timeline li{background:#fff;border-left:4px solid #9ca3af;padding:.5rem .75rem;margin-bottom:.5rem;border-radius:4px}
.timeline li.state{border-color:#2563eb}.timeline li.gateway{border-color:#7c3aed}.timeline li.webhook{border-color:#d97706}.timeline li.cleeng{border-color:#16a34a}.timeline li.refund{border-color:#db2777}
.timeline .when{color:#6b7280;font-size:.85em}.kv{display:flex;flex-wrap:wrap;gap:.2rem .8rem;font-size:.88em;color:#374151}
.login{max-width:380px;margin:3rem auto}.login label{display:block;margin:.6rem 0 .2rem}.login input{width:100%}
.muted{color:#6b7280}dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}dl.facts dt{color:#6b7280}dl.facts dd{margin:0;min-width:0}
@media (max-width:600px){main{padding:.6rem}th,td{padding:.3rem}.hide-narrow{display:none}}`;

let chartLibrary: string | undefined;

export function dashboardAsset(name: string): Asset | undefined {
  switch (name) {
    case 'dashboard.js':
      return { type: 'text/javascript; charset=utf-8', body: PAGE_SCRIPT };
    case 'dashboard.css':
      return { type: 'text/css; charset=utf-8', body: STYLE };
    case 'chart.umd.min.js':
      chartLibrary ??= readFileSync(
        // the package exports only its module entry points; the UMD build sits beside them
        join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'),
        'utf8',
      );
      return { type: 'text/javascript; charset=utf-8', body: chartLibrary };
    default:
      return undefined;
  }
}
