/* The mpeil page: no framework, no network beyond this server. Text comes from strings.json. */
"use strict";

const state = { strings: {}, lang: "nl", last: null, job: null, pages: { results: 0, errors: 0 } };
const PAGE = 20;
const SVG = "http://www.w3.org/2000/svg";

function t(key, vars) {
  let text = (state.strings[state.lang] || {})[key] || key;
  for (const [name, value] of Object.entries(vars || {})) text = text.replace("{" + name + "}", value);
  return text;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function fmt(value) {
  if (value === null || value === undefined) return t("no_data");
  return Number(value).toPrecision(4).replace(/\.?0+e/, "e");
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  if (state.last) renderScore(state.last);
}

async function loadStrings() {
  const response = await fetch("/static/strings.json");
  state.strings = await response.json();
  const saved = localStorage.getItem("mpeil-lang");
  if (saved && state.strings[saved]) state.lang = saved;
  document.getElementById("lang").value = state.lang;
  applyLanguage();
}

function setupTabs() {
  const tabs = Array.from(document.querySelectorAll(".tab"));
  const select = (tab) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    }
    tab.focus();
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      if (event.key === "ArrowRight") select(tabs[(i + 1) % tabs.length]);
      if (event.key === "ArrowLeft") select(tabs[(i - 1 + tabs.length) % tabs.length]);
    });
  });
}

async function loadMethods() {
  const response = await fetch("/v1/methods");
  const methods = await response.json();
  const select = document.getElementById("score-method");
  for (const method of methods) {
    const option = el("option", { value: method.name }, method.name);
    option.title = method.title;
    if (method.name === "mpeil-ef31") option.selected = true;
    select.append(option);
  }
}

async function problem(response) {
  try {
    const body = await response.json();
    return body.message || response.statusText;
  } catch (error) {
    return response.statusText;
  }
}

async function scoreFile(file, method) {
  const form = new FormData();
  form.append("file", file);
  form.append("method", method || "mpeil-ef31");
  const response = await fetch("/v1/score", { method: "POST", body: form });
  if (!response.ok) throw new Error(await problem(response));
  return response.json();
}

function table(headers, rows, numeric) {
  const head = el("tr", {}, ...headers.map((h, i) => el("th", { scope: "col", class: numeric[i] ? "n" : null }, h)));
  const body = rows.map((row) => el("tr", {}, ...row.map((v, i) => el("td", { class: numeric[i] ? "n" : null }, v))));
  return el("div", { class: "scroll" }, el("table", {}, el("thead", {}, head), el("tbody", {}, ...body)));
}

function coverageParts(coverage) {
  // one bar summing to 100 %: declared + estimated + missing (covered = declared + estimated is not a part)
  if (coverage.weight_declared !== null && coverage.weight_declared !== undefined) {
    const declared = coverage.weight_declared, estimated = coverage.weight_estimated || 0;
    const missing = coverage.weight_missing ?? Math.max(0, 1 - declared - estimated);
    return [["weight_declared", declared], ["weight_estimated", estimated], ["weight_missing", missing]];
  }
  const covered = coverage.weight_covered ?? 0;
  return [["weight_covered", covered], ["weight_missing", coverage.weight_missing ?? Math.max(0, 1 - covered)]];
}

function coverageBar(coverage) {
  const bar = el("div", { class: "bar", role: "img", id: "coverage-bar" });
  const legend = el("p", { class: "legend" });
  const parts = coverageParts(coverage);
  const total = parts.reduce((sum, [, value]) => sum + value, 0) || 1;
  const labels = [];
  for (const [key, value] of parts) {
    const kind = key.replace("weight_", "");
    const share = (100 * value) / total;
    const span = el("span", { class: kind, "data-share": share.toFixed(3) });
    span.style.width = share.toFixed(3) + "%";
    bar.append(span);
    legend.append(el("span", { class: kind }, t(key) + " " + share.toFixed(1) + " %"));
    labels.push(t(key) + " " + share.toFixed(1) + " %");
  }
  bar.setAttribute("aria-label", t("coverage") + ": " + labels.join(", "));
  return [bar, legend];
}

const FLAG_PATTERNS = [
  ["flag_peer_above", /^(?<module>\S+) (?<indicator>\S+) (?<value>\S+) per kg is (?<ratio>\S+)x above the median of its category peers \((?<median>[^)]*)\)$/],
  ["flag_peer_below", /^(?<module>\S+) (?<indicator>\S+) (?<value>\S+) per kg is (?<ratio>\S+)x below the median of its category peers \((?<median>[^)]*)\)$/],
  ["flag_area_weight", /^density x thickness vs area weight \(per m2\): (?<a>\S+) vs (?<b>\S+) kg$/],
  ["flag_carbon", /^(?<module>\S+) (?<indicator>\S+) (?<value>\S+) kg CO2e per kg of the declared unit's mass \((?<mass>[^)]*)\) exceeds 4; burning pure carbon emits 3\.67$/],
];

function flagItem(flag) {
  // "<data set id> (<product name>) <indicator | properties>: <reason>"; the product name is data, the reason is translated
  const match = /^(.*?) (\S+): (.*)$/s.exec(flag);
  if (!match) return el("li", { lang: "en" }, flag);
  const [, where, indicator, text] = match;
  const what = indicator === "properties" ? t("flag_properties") : indicator;
  const share = / \((\d+(?:\.\d+)?%) of the score\)$/.exec(text);  // added when the flag drives the score
  const reason = share ? text.slice(0, share.index) : text;
  const suffix = share ? " " + t("flag_share", { share: share[1] }) : "";
  for (const [key, pattern] of FLAG_PATTERNS) {
    const found = pattern.exec(reason);
    if (found) return el("li", { class: "flag" }, `${where} ${what}: ${t(key, found.groups)}${suffix}`);
  }
  return el("li", { class: "flag" }, `${where} ${what}: `, el("span", { lang: "en" }, reason), suffix);
}

function replacedFlagItem(flag) {
  // "<flag>; peer estimate used (the declared value would add <share> of the score)" (flagged_values = "estimate")
  const match = /^(.*); peer estimate used \(the declared value would add (\d+(?:\.\d+)?%) of the score\)$/s.exec(flag);
  if (!match) return el("li", { class: "flag replaced", lang: "en" }, flag);
  const item = flagItem(match[1]);
  item.classList.add("replaced");
  item.append(" — " + t("flag_replaced", { share: match[2] }));
  return item;
}

function elementLabel(e) {
  const type = t("type_" + e.element_type);
  const label = el("span", { class: "label" }, el("span", { class: "type" }, type === "type_" + e.element_type ? e.element_type : type));
  label.append(el("span", { class: "name" }, e.name || e.element));
  label.title = (e.name || e.element) + " (" + e.element + ")";
  return label;
}

function elementChart(elements, unit) {
  // HTML bars, not SVG: text keeps the page's font size on a phone and on a wide screen
  const shown = elements.filter((e) => e.score !== null).sort((a, b) => Math.abs(b.score) - Math.abs(a.score)).slice(0, 15);
  const max = Math.max(1e-12, ...shown.map((e) => Math.abs(e.score)));
  const chart = el("ol", { id: "element-chart", class: "chart", "aria-label": t("element_chart") + " (" + unit + ")" });
  for (const e of shown) {
    const bar = el("span", { class: "bar-fill " + (e.score < 0 ? "neg" : "pos"), "data-score": String(e.score) });
    bar.style.width = ((100 * Math.abs(e.score)) / max).toFixed(2) + "%";
    const track = el("span", { class: "track" }, bar);
    chart.append(el("li", { class: "row" }, elementLabel(e), track, el("span", { class: "value" }, fmt(e.score))));
  }
  return chart;
}

function scalesBlock(building) {
  // the two letter scales in the words of every output (data/scale_names.csv), never one read as the other
  const scales = el("p", { class: "scales" });
  if (building.label) {
    scales.append(el("span", { class: "scale scale-label", title: t("scale_label_long") }, t("scale_label") + " " + building.label));
  }
  if (building.quality_grade) {
    const title = t("scale_quality_grade_long");
    scales.append(el("span", { class: "scale quality-grade", title }, t("scale_quality_grade") + " " + building.quality_grade));
  }
  const legend = el("p", { class: "scale-legend" });
  for (const key of building.label ? ["scale_label_long", "scale_quality_grade_long"] : ["scale_quality_grade_long"]) {
    legend.append(el("span", {}, t(key)));
  }
  // estimated for the building (every line has a value, some are peer estimates), as the CLI's notes
  const gaps = new Set([...(building.indicators_missing || []), ...(building.indicators_partial || [])]);
  const estimated = Object.keys(building.indicators_estimated || {}).filter((code) => !gaps.has(code));
  const parts = [scales, legend];
  if (estimated.length) parts.push(el("p", { class: "estimated-indicators" }, t("estimated_indicators") + ": " + estimated.join(", ")));
  return parts;
}

function buildingBlock(summary, building) {
  const unit = building.score_unit;
  const block = el("article", { class: "building" }, el("h2", {}, building.building));
  block.append(el("p", {}, t("score")));
  block.append(el("p", { class: "big score-value", "data-score": String(building.score) }, fmt(building.score) + " " + unit));
  block.append(...scalesBlock(building));
  block.append(el("h3", {}, t("coverage")), ...coverageBar(building.coverage));
  const stages = Object.entries(building.stages).map(([k, v]) => [t("stage_" + k), fmt(v)]);
  block.append(el("h3", {}, t("stages")), table([t("stage"), unit], stages, [false, true]));
  block.append(el("h3", {}, t("element_chart")), elementChart(building.elements, unit));
  block.append(el("h3", {}, t("flags")));
  const replaced = building.flags_replaced || [];
  const items = [...building.flags.map(flagItem), ...replaced.map(replacedFlagItem)];
  const flags = items.length ? el("ul", { class: "flags" }, ...items) : el("p", {}, t("no_flags"));
  block.append(flags);
  if (building.indicators_missing.length) {
    block.append(el("p", {}, t("missing_indicators") + ": " + building.indicators_missing.join(", ")));
  }
  return block;
}

function notesBlock(notes) {
  if (!notes || !notes.length) return [];
  return [el("h3", {}, t("notes")), el("ul", { class: "notes", lang: "en" }, ...notes.map((n) => el("li", {}, n)))];
}

function renderScore(summary) {
  const target = document.getElementById("score-result");
  target.replaceChildren(...notesBlock(summary.notes), ...summary.buildings.map((b) => buildingBlock(summary, b)));
  const link = el("a", { class: "button", id: "report-link", href: summary.report + "?download=1", download: "" }, t("report"));
  target.append(el("p", {}, link));
  target.hidden = false;
}

async function onScore(event) {
  event.preventDefault();
  const status = document.getElementById("score-status");
  const file = document.getElementById("score-file").files[0];
  status.textContent = t("busy");
  status.className = "";
  try {
    state.last = await scoreFile(file, document.getElementById("score-method").value);
    renderScore(state.last);
    status.textContent = t("done");
  } catch (error) {
    status.textContent = error.message;
    status.className = "error";
  }
}

function comparison(result) {
  const [ba, bb] = result.buildings;
  const unit = ba.score_unit;
  const rows = [[t("score"), fmt(ba.score), fmt(bb.score), fmt(result.difference)]];
  for (const stage of Object.keys(ba.stages)) {
    const va = ba.stages[stage], vb = bb.stages[stage];
    rows.push([t("stage_" + stage), fmt(va), fmt(vb), va === null || vb === null ? t("no_data") : fmt(vb - va)]);
  }
  const change = result.difference / ba.score;
  const pct = Math.abs(100 * change).toFixed(1) + " %";
  const sentence = change < 0 ? t("lower", { pct }) : change > 0 ? t("higher", { pct }) : t("equal");
  const headers = ["", t("variant_a") + " (" + ba.building + ")", t("variant_b") + " (" + bb.building + ")", t("difference")];
  const explanation = el("div", { id: "compare-explanation", lang: "en" });
  for (const paragraph of result.explanation.split("\n\n")) explanation.append(el("p", {}, paragraph));
  return [
    el("p", { id: "compare-sentence" }, sentence),
    table(headers, rows, [false, true, true, true]),
    el("p", {}, unit),
    el("h3", {}, t("explanation")),
    explanation,
    ...notesBlock(result.notes),
  ];
}

async function onCompare(event) {
  event.preventDefault();
  const status = document.getElementById("compare-status");
  status.textContent = t("busy");
  status.className = "";
  const form = new FormData();
  form.append("a", document.getElementById("compare-a").files[0]);
  form.append("b", document.getElementById("compare-b").files[0]);
  try {
    const response = await fetch("/v1/compare", { method: "POST", body: form });
    if (!response.ok) throw new Error(await problem(response));
    const target = document.getElementById("compare-result");
    target.replaceChildren(...comparison(await response.json()));
    target.hidden = false;
    status.textContent = t("done");
  } catch (error) {
    status.textContent = error.message;
    status.className = "error";
  }
}

function keyHeaders() {
  return { Authorization: "Bearer " + document.getElementById("batch-key").value };
}

async function onBatch(event) {
  event.preventDefault();
  const status = document.getElementById("batch-status");
  const form = new FormData();
  for (const file of document.getElementById("batch-files").files) form.append("files", file);
  status.className = "";
  const response = await fetch("/v1/batches", { method: "POST", body: form, headers: keyHeaders() });
  if (!response.ok) {
    status.textContent = await problem(response);
    status.className = "error";
    return;
  }
  state.job = (await response.json()).job_id;
  state.pages = { results: 0, errors: 0 };
  document.getElementById("batch-result").hidden = true;
  document.getElementById("batch-progress").hidden = false;
  poll();
}

async function poll() {
  const status = document.getElementById("batch-status");
  const response = await fetch("/v1/batches/" + state.job, { headers: keyHeaders() });
  if (!response.ok) {
    status.textContent = await problem(response);
    status.className = "error";
    return;
  }
  const job = await response.json();
  document.getElementById("batch-progress").value = job.progress.fraction;
  if (job.status === "done") {
    status.textContent = t("batch_done", { buildings: job.buildings, errors: job.errors });
    await showPage("results");
    await showPage("errors");
    document.getElementById("batch-result").hidden = false;
    return;
  }
  if (job.status === "failed") {
    status.textContent = t("failed", { message: job.message });
    status.className = "error";
    return;
  }
  status.textContent = job.status === "queued" ? t("queued") : t("running", { done: job.progress.files_done, files: job.progress.files });
  setTimeout(poll, 1000);
}

const COLUMNS = {
  results: [["file", false], ["building", false], ["score", true], ["score_unit", false], ["weight_covered", true], ["gwp_per_m2_yr", true]],
  errors: [["file", false], ["building", false], ["error_type", false], ["message", false]],
};

async function showPage(kind) {
  const offset = state.pages[kind] * PAGE;
  const url = `/v1/batches/${state.job}/${kind}?format=json&offset=${offset}&limit=${PAGE}`;
  const response = await fetch(url, { headers: keyHeaders() });
  const page = await response.json();
  const columns = COLUMNS[kind];
  const rows = page.rows.map((row) => columns.map(([name, numeric]) => (numeric ? fmt(row[name]) : row[name] ?? "")));
  const headers = columns.map(([name]) => (state.strings[state.lang][name] ? t(name) : name));
  document.getElementById("batch-" + kind).replaceChildren(table(headers, rows, columns.map(([, n]) => n)));
  const to = Math.min(offset + PAGE, page.total);
  document.getElementById(kind + "-page").textContent = t("page", { from: page.total ? offset + 1 : 0, to, total: page.total });
  document.getElementById(kind + "-prev").disabled = offset === 0;
  document.getElementById(kind + "-next").disabled = to >= page.total;
}

async function downloadCsv() {
  const response = await fetch(`/v1/batches/${state.job}/results?format=csv`, { headers: keyHeaders() });
  const blob = await response.blob();
  const link = el("a", { href: URL.createObjectURL(blob), download: "mpeil-results.csv" });
  document.body.append(link);
  link.click();
  link.remove();
}

function setup() {
  setupTabs();
  document.getElementById("lang").addEventListener("change", (event) => {
    state.lang = event.target.value;
    localStorage.setItem("mpeil-lang", state.lang);
    applyLanguage();
  });
  document.getElementById("score-form").addEventListener("submit", onScore);
  document.getElementById("compare-form").addEventListener("submit", onCompare);
  document.getElementById("batch-form").addEventListener("submit", onBatch);
  for (const kind of ["results", "errors"]) {
    document.getElementById(kind + "-prev").addEventListener("click", () => { state.pages[kind]--; showPage(kind); });
    document.getElementById(kind + "-next").addEventListener("click", () => { state.pages[kind]++; showPage(kind); });
  }
  document.getElementById("download-csv").addEventListener("click", downloadCsv);
  loadStrings();
  loadMethods();
}

document.addEventListener("DOMContentLoaded", setup);
