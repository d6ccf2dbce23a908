// selftaught view: pages filled from the JSON API. Record text (programs, prompts,
// responses, messages, event details) is model-written and hostile by assumption: it is
// only ever inserted as text (text nodes, textContent), never parsed as markup.
"use strict";

const POLL_MS = 1000;
const SVGNS = "http://www.w3.org/2000/svg";

// -- building the page --------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "onclick") node.addEventListener("click", v);
    else if (k === "oninput") node.addEventListener("input", v);
    else node.setAttribute(k, String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined) continue;
    node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

const main = () => document.getElementById("main");

function message(text, isError) {
  return el("p", { class: isError ? "message error" : "message" }, text);
}

function fmt(x, digits = 3) {
  if (x === null || x === undefined) return "–";
  if (typeof x === "number") return Number.isInteger(x) ? String(x) : x.toFixed(digits);
  return String(x);
}

function pm(v, se) {
  if (v === null || v === undefined) return "–";
  return se === null || se === undefined ? fmt(v) : `${fmt(v)} ± ${fmt(se)}`;
}

function money(x, priced = true) {
  if (x === null || x === undefined) return "–";
  return `$${x.toFixed(4)}${priced ? "" : " (some prices unknown)"}`;
}

function pct(x) {
  return x === null || x === undefined ? "–" : `${(100 * x).toFixed(0)}%`;
}

function when(t) {
  return t ? new Date(t * 1000).toLocaleTimeString() : "–";
}

function badge(status) {
  return el("span", { class: `badge ${status}`, "data-status": status }, status);
}

function table(columns, rows, opts = {}) {
  // columns: [{label, key?, num?, text?, render?(row)}]
  const head = el("tr", {}, columns.map((c) => el("th", { class: c.num ? "num" : null }, c.label)));
  const body = el("tbody", {});
  for (const r of rows) {
    body.appendChild(
      el("tr", {}, columns.map((c) => {
        const v = c.render ? c.render(r) : fmt(r[c.key]);
        return el("td", { class: c.num ? "num" : c.text ? "text" : null }, v);
      })),
    );
  }
  return el("table", { class: opts.class || null }, el("thead", {}, head), body);
}

function fields(pairs) {
  const dl = el("dl", { class: "fields" });
  for (const [k, v] of pairs) append(dl, [el("dt", {}, k), el("dd", {}, v)]);
  return dl;
}

function card(label, value, sub, id) {
  return el("div", { class: "card" },
    el("div", { class: "label" }, label),
    el("div", { class: "value", id: id || null }, value),
    sub ? el("div", { class: "sub" }, sub) : null);
}

function pre(text, cls) {
  const p = el("pre", { class: cls || null });
  p.textContent = text === null || text === undefined ? "" : String(text);
  return p;
}

function diffView(text) {
  const p = el("pre", { class: "diff" });
  for (const line of (text || "").split("\n")) {
    let cls = null;
    if (line.startsWith("+++") || line.startsWith("---")) cls = "file";
    else if (line.startsWith("+")) cls = "add";
    else if (line.startsWith("-")) cls = "del";
    else if (line.startsWith("@@")) cls = "hunk";
    const span = el("span", { class: cls });
    span.textContent = line;
    p.appendChild(span);
  }
  return p;
}

// -- the API ------------------------------------------------------------------------

async function api(path, etag) {
  const headers = etag ? { "If-None-Match": etag } : {};
  const res = await fetch(path, { headers, credentials: "same-origin", cache: "no-store" });
  if (res.status === 304) return { unchanged: true };
  let body = null;
  try { body = await res.json(); } catch (e) { body = { error: `${res.status} ${res.statusText}` }; }
  if (!res.ok) return { error: (body && body.error) || `${res.status}`, status: res.status };
  return { body, etag: res.headers.get("etag") };
}

function poll(path, render, every = POLL_MS) {
  let etag = null;
  const status = document.getElementById("poll");
  async function tick() {
    try {
      const r = await api(path, etag);
      if (r.error) {
        etag = null;
        render(null, r.error);
      } else if (!r.unchanged) {
        etag = r.etag;
        render(r.body, null);
      }
      status.textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      status.textContent = `server unreachable (${new Date().toLocaleTimeString()})`;
    }
    setTimeout(tick, every);
  }
  tick();
}

const runPath = (f, n) => `/run/${f}/${encodeURIComponent(n)}`;
const apiRun = (f, n) => `/api/runs/${f}/${encodeURIComponent(n)}`;

function crumbs(...items) {
  replace(document.getElementById("crumbs"), items.map((x) => [" / ", x]));
}

// -- plots (own SVG) ----------------------------------------------------------------

function chart(series, opts = {}) {
  const W = opts.width || 520, H = opts.height || 260, L = 44, R = 12, T = 14, B = 34;
  const pts = series.flatMap((s) => s.points.filter((p) => p[1] !== null));
  const node = svg("svg", { class: "chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img" });
  if (!pts.length) {
    node.appendChild(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no scores yet"));
    return node;
  }
  const xs = pts.map((p) => p[0]);
  let ylo = Math.min(...pts.map((p) => p[1] - (p[2] || 0)));
  let yhi = Math.max(...pts.map((p) => p[1] + (p[2] || 0)));
  if (yhi - ylo < 0.1) { ylo -= 0.05; yhi += 0.05; }
  const pad = (yhi - ylo) * 0.08; ylo -= pad; yhi += pad;
  let xlo = Math.min(...xs), xhi = Math.max(...xs);
  if (xhi === xlo) { xlo -= 0.5; xhi += 0.5; }
  const X = (x) => L + ((x - xlo) / (xhi - xlo)) * (W - L - R - 10) + 5;
  const Y = (y) => T + (1 - (y - ylo) / (yhi - ylo)) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const y = ylo + ((yhi - ylo) * i) / 4;
    node.appendChild(svg("line", { class: "grid", x1: L, x2: W - R, y1: Y(y), y2: Y(y) }));
    node.appendChild(svg("text", { x: L - 4, y: Y(y) + 4, "text-anchor": "end" }, y.toFixed(2)));
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    node.appendChild(svg("text", { x: X(x), y: H - B + 14, "text-anchor": "middle" }, String(x)));
  }
  node.appendChild(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
  node.appendChild(svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
  node.appendChild(svg("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle" }, opts.xlabel || "iteration"));
  let legendY = T + 4;
  for (const s of series) {
    const shown = s.points.filter((p) => p[1] !== null);
    const op = s.faint ? 0.22 : 1;
    if (s.line !== false && shown.length > 1) {
      node.appendChild(svg("polyline", {
        points: shown.map((p) => `${X(p[0] + (s.dx || 0))},${Y(p[1])}`).join(" "),
        fill: "none", stroke: s.color, "stroke-width": s.faint ? 1 : 1.8, opacity: op,
      }));
    }
    for (const p of shown) {
      const x = X(p[0] + (s.dx || 0));
      if (p[2]) {
        node.appendChild(svg("line", { x1: x, x2: x, y1: Y(p[1] - p[2]), y2: Y(p[1] + p[2]), stroke: s.color, opacity: op }));
      }
      if (!s.faint) {
        const r = p[3] ? 5 : 3;
        node.appendChild(svg(p[3] ? "rect" : "circle", p[3]
          ? { x: x - r, y: Y(p[1]) - r, width: 2 * r, height: 2 * r, fill: s.color, opacity: 0.85 }
          : { cx: x, cy: Y(p[1]), r, fill: s.color, opacity: s.line === false ? 0.6 : 1 },
          svg("title", {}, `${s.label}: iteration ${p[0]}, ${fmt(p[1])}${p[2] ? " ± " + fmt(p[2]) : ""}`)));
      }
    }
    if (s.label && !s.faint) {
      node.appendChild(svg("rect", { x: L + 10, y: legendY - 8, width: 10, height: 10, fill: s.color }));
      node.appendChild(svg("text", { x: L + 25, y: legendY + 1 }, s.label));
      legendY += 15;
    }
  }
  return node;
}

// -- the runs list ------------------------------------------------------------------

function runsPage() {
  document.title = "runs · selftaught view";
  crumbs("runs");
  const state = { rows: [], sort: "created", asc: false, filter: "", picked: new Set() };
  const problems = el("div", {});
  const list = el("div", {});
  const compareLink = el("a", { id: "compare-link", href: "#" }, "compare selected");
  const filter = el("input", { type: "search", placeholder: "filter: name, model, status, task", id: "filter",
    oninput: (e) => { state.filter = e.target.value.toLowerCase(); draw(); } });
  replace(main(), el("h1", {}, "Runs"), problems, el("div", { class: "controls" }, filter, compareLink), list);

  const cols = [
    { label: "", key: null, render: (r) => {
      const box = el("input", { type: "checkbox", "data-key": r.key, title: "select for compare" });
      box.checked = state.picked.has(r.key);
      box.addEventListener("change", () => { box.checked ? state.picked.add(r.key) : state.picked.delete(r.key); linkCompare(); });
      return box;
    } },
    { label: "run", key: "name", render: (r) => el("a", { href: runPath(...r.key.split(/\/(.*)/s)) }, r.name) },
    { label: "status", key: "status", render: (r) => badge(r.status) },
    { label: "created", key: "created" },
    { label: "model", key: "model" },
    { label: "tasks", key: "tasks", render: (r) => r.tasks.join(", ") },
    { label: "iterations", key: "iterations", num: true, render: (r) => `${r.iterations}${r.planned_iterations !== null && r.planned_iterations !== undefined ? " / " + (r.planned_iterations + 1) : ""}` },
    { label: "best held-out", key: "best_heldout", num: true, render: (r) => pm(r.best_heldout, r.best_heldout_se) },
    { label: "calls", key: "calls", num: true },
    { label: "tokens", key: "tokens", num: true },
    { label: "cost", key: "cost", num: true, render: (r) => money(r.cost, r.priced) },
  ];

  function linkCompare() {
    const keys = [...state.picked];
    compareLink.setAttribute("href", keys.length ? "/compare?" + keys.map((k) => "run=" + encodeURIComponent(k)).join("&") : "#");
    compareLink.textContent = `compare selected (${keys.length})`;
  }

  function draw() {
    let rows = state.rows.filter((r) =>
      !state.filter || [r.name, r.model, r.status, r.tasks.join(" "), r.kind || ""].join(" ").toLowerCase().includes(state.filter));
    const k = state.sort;
    rows = rows.slice().sort((a, b) => {
      const x = a[k], y = b[k];
      const c = x === y ? 0 : x === null || x === undefined ? -1 : y === null || y === undefined ? 1 : x < y ? -1 : 1;
      return state.asc ? c : -c;
    });
    const t = table(cols, rows, { class: "runs" });
    t.querySelectorAll("th").forEach((th, i) => {
      const key = cols[i].key;
      if (!key) return;
      th.classList.add("sortable");
      if (key === state.sort) th.classList.add("sorted", ...(state.asc ? ["asc"] : []));
      th.addEventListener("click", () => { state.asc = state.sort === key ? !state.asc : false; state.sort = key; draw(); });
    });
    replace(list, rows.length ? t : message(state.rows.length ? "no run matches the filter" : "no runs yet"));
    linkCompare();
  }

  poll("/api/runs", (body, err) => {
    if (err) { replace(problems, message(err, true)); return; }
    state.rows = body.runs;
    replace(problems, body.problems.map((p) => message(`${p.path}: ${p.message}`)));
    draw();
  }, 2000);
}

// -- one run, live ------------------------------------------------------------------

function runPage(f, n) {
  document.title = `${n} · selftaught view`;
  crumbs(el("a", { href: "/" }, "runs"), n);
  poll(apiRun(f, n), (run, err) => {
    if (err) { replace(main(), message(err, true)); return; }
    drawRun(f, n, run);
  });
}

function drawRun(f, n, run) {
  const u = run.usage;
  const now = run.now;
  const cap = [];
  if (u.max_run_tokens) cap.push(`cap ${u.max_run_tokens} tokens (${pct(u.tokens / u.max_run_tokens)})`);
  if (u.max_run_cost) cap.push(`cap $${u.max_run_cost} (${pct((u.cost || 0) / u.max_run_cost)})`);
  const reasons = Object.entries(u.unusable_reasons || {}).map(([k, v]) => `${k}: ${v}`).join(", ");
  const planned = run.planned_iterations;
  const current = now.iteration === null || now.iteration === undefined ? "–" : String(now.iteration);
  const its = run.iteration_rows;
  const base = runPath(f, n);

  const metaPlot = chart([
    { label: "validation", color: "#1f77b4", dx: -0.03, points: its.map((r) => [r.iteration, r.validation, r.validation_se, r.adopted && r.iteration > 0]) },
    { label: "held-out", color: "#d62728", dx: 0.03, points: its.map((r) => [r.iteration, r.heldout, r.heldout_se, r.adopted && r.iteration > 0]) },
  ]);
  const candPlot = chart([
    { label: "candidates", color: "#7f7f7f", line: false, points: run.candidates.filter((c) => !c.adopted).map((c) => [c.iteration, c.score, 0]) },
    { label: "adopted", color: "#2ca02c", line: false, points: run.candidates.filter((c) => c.adopted).map((c) => [c.iteration, c.score, 0, true]) },
  ]);

  replace(main(),
    el("h1", {}, run.name, " ", badge(run.status)),
    el("div", { class: "muted" }, `${run.kind || "run"} · model ${run.model} · tasks ${run.tasks.join(", ")} · created ${run.created} · ${run.path}`),
    el("div", { class: "cards" },
      card("stage", now.stage, now.at ? `last record ${when(now.at)}` : null, "stage"),
      card("iteration", current, planned !== null && planned !== undefined ? `of ${planned} (${its.length} recorded)` : `${its.length} recorded`, "iteration"),
      card("candidates scored", String(run.candidates.length), null, "candidate-count"),
      card("model calls", String(u.calls), `${u.samples} samples`, "calls"),
      card("usable samples", pct(u.usable_share), reasons ? `unusable: ${reasons}` : `${u.usable} of ${u.samples}`, "usable"),
      card("tokens", String(u.tokens), cap.filter((c) => c.includes("tokens")).join(" ") || `${u.prompt_tokens} in, ${u.completion_tokens} out`, "tokens"),
      card("cost", money(u.cost, u.priced), cap.filter((c) => c.includes("$")).join(" ") || null, "cost"),
      card("best held-out", pm(run.best_heldout, run.best_heldout_se), run.best_iteration !== null ? `iteration ${run.best_iteration}` : null),
    ),
    el("div", { class: "plots" },
      el("figure", {}, metaPlot, el("figcaption", {}, "meta-utility per iteration, ± standard error (squares: adopted)")),
      el("figure", {}, candPlot, el("figcaption", {}, "every candidate improver scored (validation meta-utility)"))),
    el("h2", {}, "Iterations"),
    table([
      { label: "iter", render: (r) => el("a", { href: `${base}/iteration/${r.iteration}` }, String(r.iteration)) },
      { label: "validation", num: true, render: (r) => pm(r.validation, r.validation_se) },
      { label: "held-out", num: true, render: (r) => pm(r.heldout, r.heldout_se) },
      { label: "paired diff [lower]", num: true, render: (r) => r.paired_diff === null ? "–" : `${fmt(r.paired_diff)} [${fmt(r.paired_lower)}] n=${fmt(r.paired_n)}` },
      { label: "adopted", render: (r) => (r.adopted ? "yes" : "no") },
      { label: "outcome", key: "outcome" },
      { label: "message", key: "message", text: true },
      { label: "calls", key: "model_calls", num: true },
      { label: "usable", num: true, render: (r) => `${fmt(r.usable)}/${fmt(r.samples)}` },
      { label: "tokens", num: true, render: (r) => fmt((r.prompt_tokens || 0) + (r.completion_tokens || 0)) },
      { label: "cost", num: true, render: (r) => money(r.cost, r.priced) },
      { label: "seconds", num: true, render: (r) => fmt(r.seconds, 1) },
    ], its, { class: "iterations" }),
    el("h2", {}, "Lineage of improvers"),
    table([
      { label: "iter", key: "iteration" },
      { label: "improver", render: (r) => el("a", { href: `${base}/iteration/${r.iteration}`, class: "lineage-link" }, r.improver_hash || "–") },
      { label: "parent", key: "parent_hash" },
      { label: "adopted", render: (r) => (r.adopted ? "yes" : "no") },
      { label: "strategies", render: (r) => r.strategies.join(", ") || "–" },
      { label: "flags", render: (r) => r.flags.length ? r.flags.map((x) => el("span", { class: "badge flag" }, x)) : "–" },
    ], run.lineage, { class: "lineage" }),
    el("h2", {}, `Candidates (${run.candidates.length})`),
    table([
      { label: "iter", key: "iteration" },
      { label: "candidate", key: "index" },
      { label: "score", num: true, render: (r) => fmt(r.score) },
      { label: "adopted", render: (r) => (r.adopted ? "yes" : "") },
      { label: "program", render: (r) => el("a", { href: `${base}/evaluation/${r.evaluation}` }, r.program_hash || "–") },
    ], run.candidates.slice().reverse(), { class: "candidates" }),
    el("h2", {}, "Model calls"),
    el("p", {}, el("a", { href: `${base}/calls`, id: "calls-link" }, `all ${u.calls} model calls`),
      " (prompt, every sample, tokens, time, cost, which sample the improver used)"),
    el("h2", {}, "Recent evaluations ", el("a", { href: `${base}/evaluations`, class: "muted" }, `(all ${run.evaluation_count})`)),
    evaluationsTable(base, run.recent_evaluations.slice().reverse()),
    el("h2", {}, `Sandbox events (${run.event_count}${run.event_count > run.events.length ? `; the last ${run.events.length} shown` : ""})`),
    run.events.length ? table([
      { label: "iter", key: "iteration" }, { label: "scope", key: "scope" }, { label: "kind", key: "kind" },
      { label: "program", key: "program_hash" }, { label: "detail", key: "detail", text: true },
    ], run.events.slice().reverse(), { class: "events" }) : el("p", { class: "muted" }, "none"),
    el("h2", {}, "Config"),
    pre(JSON.stringify(run.config, null, 2)),
  );
}

function callsTable(base, rows) {
  return table([
    { label: "call", render: (r) => el("a", { href: `${base}/call/${r.id}` }, `#${r.id}`) },
    { label: "iter", key: "iteration" }, { label: "scope", key: "scope" },
    { label: "samples", key: "samples", num: true }, { label: "usable", key: "usable", num: true },
    { label: "tokens", key: "tokens", num: true }, { label: "seconds", num: true, render: (r) => fmt(r.seconds, 2) },
    { label: "cost", num: true, render: (r) => money(r.cost) }, { label: "error", key: "error", text: true },
  ], rows, { class: "calls" });
}

function evaluationsTable(base, rows) {
  return table([
    { label: "eval", render: (r) => el("a", { href: `${base}/evaluation/${r.id}` }, `#${r.id}`) },
    { label: "iter", key: "iteration" }, { label: "scope", key: "scope" }, { label: "kind", key: "kind" },
    { label: "task", key: "task" }, { label: "split", key: "split" }, { label: "score", num: true, render: (r) => fmt(r.score) },
    { label: "solved/failed/timed out", num: true, render: (r) => `${fmt(r.solved)}/${fmt(r.failed)}/${fmt(r.timed_out)} of ${fmt(r.instances)}` },
    { label: "outcome", key: "outcome" },
  ], rows, { class: "evaluations" });
}

function listPage(f, n, what) {
  crumbs(el("a", { href: "/" }, "runs"), el("a", { href: runPath(f, n) }, n), what);
  document.title = `${what} · ${n} · selftaught view`;
  const base = runPath(f, n);
  async function load(offset) {
    const r = await api(`${apiRun(f, n)}/${what}?offset=${offset}`);
    if (r.error) { replace(main(), message(r.error, true)); return; }
    const b = r.body, rows = b[what];
    const nav = el("div", { class: "controls" },
      b.offset > 0 ? el("a", { href: "#", onclick: (e) => { e.preventDefault(); load(Math.max(b.offset - 100, 0)); } }, "← earlier") : null,
      `${b.offset + 1}–${b.offset + rows.length} of ${b.total}`,
      b.offset + rows.length < b.total ? el("a", { href: "#", onclick: (e) => { e.preventDefault(); load(b.offset + 100); } }, "later →") : null);
    replace(main(), el("h1", {}, `${what}: ${n}`), nav, what === "calls" ? callsTable(base, rows) : evaluationsTable(base, rows));
  }
  load(0);
}

// -- drill-down ---------------------------------------------------------------------

async function callPage(f, n, id) {
  crumbs(el("a", { href: "/" }, "runs"), el("a", { href: runPath(f, n) }, n), `call #${id}`);
  document.title = `call ${id} · ${n} · selftaught view`;
  const r = await api(`${apiRun(f, n)}/calls/${id}`);
  if (r.error) { replace(main(), message(r.error, true)); return; }
  const c = r.body;
  const answers = Array.isArray(c.answers) ? c.answers : [];
  const messages = Array.isArray(c.messages) ? c.messages : [c.messages];
  const responses = Array.isArray(c.responses) ? c.responses : [c.responses];
  replace(main(),
    el("h1", {}, `Model call #${c.id}`),
    fields([
      ["iteration", fmt(c.iteration)], ["scope", c.scope || "–"], ["backend", c.backend || "–"],
      ["samples", `${fmt(c.samples)} (usable ${fmt(c.usable)})`],
      ["unusable reasons", c.unusable_reasons ? JSON.stringify(c.unusable_reasons) : "–"],
      ["tokens", `${fmt(c.prompt_tokens)} prompt, ${fmt(c.completion_tokens)} completion`],
      ["seconds", fmt(c.seconds, 2)], ["cost", money(c.cost, c.priced !== 0)],
      ["temperature / max tokens / seed", `${fmt(c.temperature)} / ${fmt(c.max_tokens)} / ${fmt(c.seed)}`],
      ["cached", fmt(c.cached)], ["attempts", fmt(c.attempts)], ["truncated", fmt(c.truncated)],
      ["received by the caller", answers.length ? answers.map((a) => `sample ${a}`).join(", ") : "–"],
      ["error", c.error || "–"], ["notes", c.notes || "–"], ["at", when(c.created)],
    ]),
    el("h2", {}, "System prompt"), pre(c.system),
    el("h2", {}, `Prompt${messages.length > 1 ? "s" : ""} (${messages.length})`),
    messages.map((m, i) => el("div", { class: "sample" }, el("div", { class: "head" }, `message ${i}`),
      pre(typeof m === "string" ? m : JSON.stringify(m, null, 2)))),
    el("h2", {}, `Samples (${responses.length})`),
    responses.map((s, i) => el("div", { class: answers.includes(i) ? "sample received" : "sample" },
      el("div", { class: "head" }, `sample ${i}${answers.includes(i) ? " · received by the caller" : ""}`),
      pre(typeof s === "string" ? s : JSON.stringify(s, null, 2), "response"))),
  );
}

async function evaluationPage(f, n, id) {
  crumbs(el("a", { href: "/" }, "runs"), el("a", { href: runPath(f, n) }, n), `evaluation #${id}`);
  document.title = `evaluation ${id} · ${n} · selftaught view`;
  const r = await api(`${apiRun(f, n)}/evaluations/${id}`);
  if (r.error) { replace(main(), message(r.error, true)); return; }
  const e = r.body;
  replace(main(),
    el("h1", {}, `Evaluation #${e.id}`),
    fields([
      ["iteration", fmt(e.iteration)], ["scope", e.scope || "–"], ["kind", e.kind || "–"],
      ["program", e.program_hash || "–"], ["task", e.task || "–"], ["split", e.split || "–"],
      ["score", fmt(e.score)], ["instances", fmt(e.instances)],
      ["solved / failed / timed out", `${fmt(e.solved)} / ${fmt(e.failed)} / ${fmt(e.timed_out)}`],
      ["outcome", e.outcome || "–"], ["message", e.message || "–"],
      ["seconds", fmt(e.seconds, 2)], ["cache hit", fmt(e.cache_hit)],
      ["seeds", e.seeds === null ? "–" : JSON.stringify(e.seeds)], ["at", when(e.created)],
    ]),
    el("h2", {}, "Program"), e.program === null ? el("p", { class: "muted" }, "not recorded") : pre(e.program, "program"),
    el("h2", {}, `Sandbox events of this program (${e.event_count ?? e.events.length}${e.event_count > e.events.length ? `; the first ${e.events.length} shown` : ""})`),
    e.events.length ? table([{ label: "scope", key: "scope" }, { label: "kind", key: "kind" }, { label: "detail", key: "detail", text: true }], e.events) : el("p", { class: "muted" }, "none"),
  );
}

async function iterationPage(f, n, t) {
  crumbs(el("a", { href: "/" }, "runs"), el("a", { href: runPath(f, n) }, n), `iteration ${t}`);
  document.title = `iteration ${t} · ${n} · selftaught view`;
  const r = await api(`${apiRun(f, n)}/iterations/${t}`);
  if (r.error) { replace(main(), message(r.error, true)); return; }
  const s = r.body;
  replace(main(),
    el("h1", {}, `Iteration ${s.iteration}: improver ${s.improver_hash || "–"}`),
    fields([
      ["parent", s.parent_hash || "–"], ["adopted", s.adopted ? "yes" : "no"],
      ["validation", pm(s.validation, s.validation_se)], ["held-out", pm(s.heldout, s.heldout_se)],
      ["paired difference", s.paired_diff === null ? "–" : `${fmt(s.paired_diff)}, lower bound ${fmt(s.paired_lower)} at level ${fmt(s.paired_level)} (n=${fmt(s.paired_n)})`],
      ["outcome", s.outcome || "–"], ["message", s.message || "–"],
      ["strategies", s.strategies.join(", ") || "–"], ["flags", s.flags.join(", ") || "–"],
      ["cost", money(s.cost, s.priced)], ["seconds", fmt(s.seconds, 1)],
    ]),
    el("h2", {}, "Diff against the parent"),
    s.diff ? diffView(s.diff) : el("p", { class: "muted" }, s.iteration === 0 ? "the starting improver has no parent" : "unchanged from the parent"),
    el("h2", {}, "Improver"), pre(s.code, "program"),
    el("details", {}, el("summary", {}, "Parent"), pre(s.parent_code, "program")),
  );
}

// -- compare ------------------------------------------------------------------------

async function comparePage() {
  document.title = "compare · selftaught view";
  crumbs(el("a", { href: "/" }, "runs"), "compare");
  const keys = new URLSearchParams(location.search).getAll("run");
  if (!keys.length) { replace(main(), message("pick runs on the runs page to compare them")); return; }
  const r = await api("/api/compare?" + keys.map((k) => "run=" + encodeURIComponent(k)).join("&"));
  if (r.error) { replace(main(), message(r.error, true)); return; }
  const c = r.body;
  const series = [];
  for (const run of c.runs) {
    series.push({ color: "#1f77b4", faint: true, points: run.curve.map((p) => [p.iteration, p.validation, 0]) });
    series.push({ color: "#d62728", faint: true, points: run.curve.map((p) => [p.iteration, p.heldout, 0]) });
  }
  series.push({ label: `validation, mean of ${c.runs.length}`, color: "#1f77b4", dx: -0.03, points: c.across.map((p) => [p.iteration, p.validation, p.validation_se]) });
  series.push({ label: `held-out, mean of ${c.runs.length}`, color: "#d62728", dx: 0.03, points: c.across.map((p) => [p.iteration, p.heldout, p.heldout_se]) });
  replace(main(),
    el("h1", {}, `Compare ${c.runs.length} runs`),
    el("figure", {}, chart(series, { width: 640, height: 300 }), el("figcaption", {}, "meta-utility per iteration: mean ± standard error across runs, each run faint behind it")),
    el("h2", {}, "Runs"),
    table([
      { label: "run", render: (x) => el("a", { href: runPath(...x.key.split(/\/(.*)/s)) }, x.name) },
      { label: "status", render: (x) => badge(x.status) }, { label: "model", key: "model" },
      { label: "iterations", key: "iterations", num: true },
      { label: "best held-out", num: true, render: (x) => pm(x.best_heldout, x.best_heldout_se) },
      { label: "calls", key: "calls", num: true }, { label: "samples", key: "samples", num: true },
      { label: "tokens", key: "tokens", num: true }, { label: "cost", num: true, render: (x) => money(x.cost, x.priced) },
    ], c.runs, { class: "compare" }),
    el("h2", {}, "Mean ± SE per iteration"),
    table([
      { label: "iter", key: "iteration" },
      { label: "validation", num: true, render: (p) => `${pm(p.validation, p.validation_se)} (n=${p.validation_n})` },
      { label: "held-out", num: true, render: (p) => `${pm(p.heldout, p.heldout_se)} (n=${p.heldout_n})` },
    ], c.across),
    el("h2", {}, "Settings that differ"),
    c.config_differences.length
      ? table([{ label: "setting", key: "setting" }, ...c.runs.map((x, i) => ({ label: x.name, text: true, render: (d) => JSON.stringify(d.values[i]) }))], c.config_differences, { class: "config-diff" })
      : el("p", { class: "muted" }, "the runs' configs are the same"),
  );
}

// -- routing ------------------------------------------------------------------------

function route() {
  const path = location.pathname;
  let m;
  if (path === "/") return runsPage();
  if (path === "/compare") return comparePage();
  const dec = decodeURIComponent;
  if ((m = path.match(/^\/run\/(\d+)\/([^/]+)$/))) return runPage(m[1], dec(m[2]));
  if ((m = path.match(/^\/run\/(\d+)\/([^/]+)\/(calls|evaluations)$/))) return listPage(m[1], dec(m[2]), m[3]);
  if ((m = path.match(/^\/run\/(\d+)\/([^/]+)\/call\/(\d+)$/))) return callPage(m[1], dec(m[2]), m[3]);
  if ((m = path.match(/^\/run\/(\d+)\/([^/]+)\/evaluation\/(\d+)$/))) return evaluationPage(m[1], dec(m[2]), m[3]);
  if ((m = path.match(/^\/run\/(\d+)\/([^/]+)\/iteration\/(\d+)$/))) return iterationPage(m[1], dec(m[2]), m[3]);
  replace(main(), message("no such page", true));
}

document.addEventListener("DOMContentLoaded", route);
