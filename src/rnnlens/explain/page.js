/* rnnlens explain: draws the data embedded in this page. No network, no libraries.
 *
 * Data (see rnnlens/explain/page.py): DATA.models[m] = {title, notes, samples, inputs,
 * nodes, tensors, views, targets, attribution}. Arrays are {t: "f2"|"f4"|"b1", s: shape,
 * b: base64}; heatmap arrays are (steps, units) in C order, step = processing order.
 * Every view is a function of `state`; changing a control updates `state` and redraws.
 */
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const DATA = JSON.parse(document.getElementById("rnnlens-data").textContent);
  const state = {model: 0, view: 0, sample: 0, step: 0, unit: 0, target: 0,
                 patUnits: [], patFrom: 0, patTo: 0, minAgree: 1};

  // ------------------------------------------------------------------ decoding
  const F16 = (function () {
    const table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 31, frac = h & 1023;
      if (exp === 0) table[h] = sign * frac * Math.pow(2, -24);
      else if (exp === 31) table[h] = frac ? NaN : sign * Infinity;
      else table[h] = sign * (1 + frac / 1024) * Math.pow(2, exp - 15);
    }
    return table;
  })();

  function bytesOf(b64) {
    const text = atob(b64), out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }

  /** The values of an encoded array (cached on the object). */
  function decode(enc) {
    if (!enc) return null;
    if (enc._v) return enc._v;
    const bytes = bytesOf(enc.b);
    let v;
    if (enc.t === "f2") {
      const u16 = new Uint16Array(bytes.buffer, 0, bytes.length >> 1);
      v = new Float32Array(u16.length);
      for (let i = 0; i < u16.length; i++) v[i] = F16[u16[i]];
    } else if (enc.t === "f4") {
      v = new Float32Array(bytes.buffer, 0, bytes.length >> 2);
    } else {
      v = bytes;
    }
    enc._v = v;
    return v;
  }

  const bit = (bytes, i) => (bytes[i >> 3] >> (i & 7)) & 1;

  // ------------------------------------------------------------------ helpers
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of [].concat(children || [])) if (c != null) node.append(c);
    return node;
  }

  function svg(tag, attrs, children) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of [].concat(children || [])) if (c != null) node.append(c);
    return node;
  }

  /** A number with 4 significant digits (the page's precision). */
  function fmt(v) {
    if (v === null || v === undefined) return "∞";
    if (!Number.isFinite(v)) return String(v);
    if (v === 0) return "0";
    return String(Number(v.toPrecision(4)));
  }
  const paren = (v) => (v < 0 ? "(" + fmt(v) + ")" : fmt(v));

  const tooltip = document.getElementById("tooltip");
  function showTip(event, text, value) {
    tooltip.textContent = text;
    tooltip.dataset.value = value === undefined ? "" : String(value);
    tooltip.hidden = false;
    tooltip.style.left = (event.pageX + 14) + "px";
    tooltip.style.top = (event.pageY + 14) + "px";
  }
  function hideTip() { tooltip.hidden = true; }

  /** RGB for v on a spec's scale: diverging blue-white-red, or white-to-teal. */
  function colour(v, spec) {
    if (!Number.isFinite(v)) return [190, 190, 190];
    if (spec.diverging) {
      const m = Math.max(Math.abs(spec.lo), Math.abs(spec.hi)) || 1;
      const a = Math.max(-1, Math.min(1, v / m));
      return a >= 0 ? [255, Math.round(255 - 180 * a), Math.round(255 - 200 * a)]
                    : [Math.round(255 + 200 * a), Math.round(255 + 150 * a), 255];
    }
    const a = Math.max(0, Math.min(1, (v - spec.lo) / ((spec.hi - spec.lo) || 1)));
    return [Math.round(255 - 230 * a), Math.round(255 - 140 * a), Math.round(255 - 150 * a)];
  }
  const rgb = (c) => "rgb(" + c.join(",") + ")";

  const model = () => DATA.models[state.model];
  const view = () => model().views[state.view];
  const detailIndex = () => model().samples.detail[state.sample];     // position in traced
  const xIndex = (pos) => model().samples.traced[pos];                 // index in x

  function parseUnits(text, limit) {
    const out = new Set();
    for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
      const m = part.match(/^(\d+)\s*(?:-\s*(\d+))?$/);
      if (!m) continue;
      const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
      for (let u = Math.min(a, b); u <= Math.max(a, b) && u < limit; u++) out.add(u);
    }
    return [...out].sort((p, q) => p - q);
  }
  const unitsText = (units) => units.join(", ");

  // ------------------------------------------------------------------ layout
  const app = document.getElementById("app");
  const sections = {};

  function section(id, title, intro) {
    const body = el("div", {class: "body"});
    const node = el("section", {id: id}, [el("h2", {text: title}),
      intro ? el("p", {class: "intro", text: intro}) : null, body]);
    sections[id] = body;
    app.append(node);
    return body;
  }

  function buildSkeleton() {
    app.textContent = "";
    const header = el("header", {}, [el("h1", {id: "title"})]);
    if (DATA.models.length > 1) {
      const select = el("select", {id: "model-select", onchange: (e) => {
        state.model = Number(e.target.value); resetModel(); drawAll(); }});
      DATA.models.forEach((m, k) => select.append(el("option", {value: k, text: m.title})));
      header.append(el("label", {}, ["Model ", select]));
    }
    header.append(el("ul", {id: "notes"}));
    app.append(header);
    section("graph", "Model graph",
      "Every layer call and the tensors it returns, with their shapes. A recurrent " +
      "layer's outputs say what they are: a sequence is h at every step; state_h is " +
      "its last column; state_c is the last column of the cell state c.");
    section("returns", "What a recurrent layer returns",
      "h and c of the chosen unit at every step of the chosen sample, and which part " +
      "each configuration of the layer returns (the seed tutorial's four cases).");
    section("layer", "Inside a layer: states and gates over time",
      "Rows are units, columns are steps (in processing order). Hover for the exact " +
      "value; click a cell to choose the step and unit below. Grey marks on the time " +
      "axis are masked steps (the state is carried unchanged).");
    section("step", "One step, with its numbers",
      "The cell's equations at the chosen sample, step and unit, with the traced values " +
      "(4 significant digits).");
    section("pattern", "Pattern search (as LSTMVis)",
      "Choose units and a range of steps of this sample. A unit is on where h > the " +
      "threshold. The search lists every traced sample and start step where those " +
      "units follow the same on/off pattern over a window of the same length " +
      "(agreement = matching cells / all cells of the pattern).");
    section("attribution", "Input attribution",
      "d(output value) / d(input step): the gradient of the chosen output with respect " +
      "to each input step, summed over features (signed), computed by rnnlens's own " +
      "backward pass for this sample.");
    section("summary", "Summary per unit",
      "Over every traced sample and real step. Saturation: how often each gate is " +
      "below 0.05 / above 0.95 (candidates: below -0.95 / above 0.95). Memory length: " +
      "the median, over samples and start steps s, of the steps k until the product " +
      "of the forget gate (GRU: update gate z) over steps s+1..s+k falls below 1/2 " +
      "(∞ when it never does before the sequence ends).");
  }

  function resetModel() {
    const m = model();
    state.view = 0; state.sample = 0;
    state.target = Math.max(0, m.targets.findIndex((t) => m.tensors[t[0]].output !== null));
    resetView();
  }

  function resetView() {
    const v = view();
    if (!v) return;
    const steps = v.window[1] - v.window[0];
    state.step = v.window[1] - 1;
    state.unit = Math.min(state.unit, v.units_shown - 1);
    state.patTo = v.window[1] - 1;
    state.patFrom = Math.max(v.window[0], v.window[1] - Math.min(3, steps));
    state.patUnits = [state.unit];
  }

  // ------------------------------------------------------------------ header
  function drawHeader() {
    const m = model();
    document.getElementById("title").textContent = "rnnlens explain: " + m.title;
    const notes = document.getElementById("notes");
    notes.textContent = "";
    const detail = m.samples.detail.map(xIndex);
    const lines = m.notes.concat([
      "Heatmaps, steps and attribution are drawn for sample(s) " + detail.join(", ") +
      " of x; pattern search and the summary use all " + m.samples.traced.length +
      " traced samples.",
      "Values are stored as float16 (about 3.3 significant digits) and shown with 4."]);
    for (const v of m.views) {
      if (v.window[0] > 0 || v.units_shown < v.units)
        lines.push(v.key + ": steps " + v.window[0] + "–" + (v.window[1] - 1) + " of " +
                   v.steps + " and units 0–" + (v.units_shown - 1) + " of " + v.units +
                   " are shown.");
    }
    for (const line of lines) notes.append(el("li", {text: line}));
  }

  // ------------------------------------------------------------------ graph
  const ROLE_TEXT = {sequence: "h at every step", last: "h_T (last h)", state_h: "state_h = h_T",
                     state_c: "state_c = c_T", state: "final state", input: "input", tensor: ""};

  function drawGraph() {
    const m = model(), body = sections.graph;
    body.textContent = "";
    const maxDepth = Math.max(...m.nodes.map((n) => n.depth));
    const colW = 320, boxW = 290, cols = {};
    const pos = {}, tensorPos = {};
    const flagLines = (n) => {            // the layer's settings, wrapped at ~44 characters
      const lines = [""];
      for (const part of n.flags ? n.flags.split(", ") : []) {
        const last = lines[lines.length - 1];
        if (last && last.length + part.length > 44) lines.push(part);
        else lines[lines.length - 1] = last ? last + ", " + part : part;
      }
      return lines;
    };
    for (const n of m.nodes) {
      const c = maxDepth - n.depth;
      const y = cols[c] || 10;
      const extra = 14 * (flagLines(n).length - 1);
      const h = 46 + extra + 20 * n.outputs.length;
      pos[n.id] = {x: 10 + c * colW, y: y, h: h};
      cols[c] = y + h + 22;
      n.outputs.forEach((t, k) => { tensorPos[t] = {x: 10 + c * colW + boxW, y: y + extra + 52 + 20 * k}; });
      pos[n.id].extra = extra;
    }
    const width = 20 + (maxDepth + 1) * colW, height = Math.max(...Object.values(cols)) - 12;
    const root = svg("svg", {width: width, height: height, class: "graph",
                             viewBox: "0 0 " + width + " " + height});
    for (const n of m.nodes) {
      for (const t of n.inputs) {
        const a = tensorPos[t], b = pos[n.id];
        if (!a) continue;
        const mid = (a.x + b.x) / 2;
        root.append(svg("path", {class: "edge", d: "M" + a.x + "," + a.y + " C" + mid + "," +
                                 a.y + " " + mid + "," + (b.y + 20) + " " + b.x + "," + (b.y + 20)}));
      }
    }
    for (const n of m.nodes) {
      const p = pos[n.id];
      const views = m.views.map((v, k) => [v, k]).filter(([v]) => v.node === n.id);
      const g = svg("g", {class: "node" + (n.recurrent ? " recurrent" : ""),
                          "data-node": n.name, transform: "translate(" + p.x + "," + p.y + ")"});
      g.append(svg("rect", {width: boxW, height: p.h, rx: 6}));
      g.append(svg("text", {x: 8, y: 18, class: "name", text: n.name + " (" + n.class + ")"}));
      flagLines(n).forEach((line, k) => g.append(svg("text", {x: 8, y: 34 + 14 * k, class: "flags",
                                                              text: line})));
      n.outputs.forEach((id, k) => {
        const t = m.tensors[id];
        const out = t.output === null ? "" : "  → output " + t.output;
        const label = t.name + " " + t.shape + "  " + (ROLE_TEXT[t.role] || "") + out;
        const row = svg("text", {x: 8, y: p.extra + 56 + 20 * k, class: "tensor role-" + t.role,
                                 "data-tensor": t.name, text: label});
        row.addEventListener("mousemove", (e) => showTip(e, t.desc || t.name));
        row.addEventListener("mouseleave", hideTip);
        g.append(row);
      });
      if (views.length) {
        g.addEventListener("click", () => { state.view = views[0][1]; resetView(); drawLayerAll(); });
      }
      root.append(g);
    }
    body.append(el("div", {class: "scroll"}, root));
  }

  // ------------------------------------------------------------------ returns
  function layerValues(v, name) {
    const d = v.detail[state.sample];
    return d && d.arrays[name] ? decode(d.arrays[name]) : null;
  }

  function drawReturns() {
    const body = sections.returns;
    body.textContent = "";
    const v = view();
    if (!v) { body.append(el("p", {text: "This model has no recurrent layer."})); return; }
    const U = v.units_shown, T = v.window[1] - v.window[0], u = state.unit;
    const h = layerValues(v, "h"), c = v.cell === "LSTM" ? layerValues(v, "c") : null;
    const cfg = v.config, units = cfg.units || v.units;
    body.append(el("p", {class: "lead", text: v.key + ": " + v.cell + "(" + units + ")" +
      (v.direction ? ", the " + v.direction + " direction of a Bidirectional layer" : "") +
      ", sample " + xIndex(detailIndex()) + ", unit " + u + "."}));
    const shown = T <= 12 ? [...Array(T).keys()] : [0, 1, 2, 3, -1, T - 4, T - 3, T - 2, T - 1];
    const strip = (name, values, lastLabel) => {
      const row = el("div", {class: "strip", "data-strip": name}, el("span", {class: "rowname", text: name}));
      for (const k of shown) {
        if (k < 0) { row.append(el("span", {class: "ellipsis", text: "…"})); continue; }
        const val = values[k * U + u], mask = decode(v.mask);
        const masked = mask && !bit(mask, detailIndex() * T + k);
        const box = el("span", {class: "box" + (k === T - 1 ? " last" : "") + (masked ? " masked" : ""),
          title: masked ? "masked step: the state is carried from the step before" : "",
          style: "background:" + rgb(colour(val, {diverging: true, lo: -1, hi: 1})),
          "data-value": String(val)}, [el("small", {text: name + "_" + (v.window[0] + k + 1)}),
          el("b", {text: fmt(val)})]);
        row.append(box);
      }
      row.append(el("span", {class: "tag", text: lastLabel}));
      return row;
    };
    body.append(strip("h", h, "← last column: state_h = h_T" +
                      (cfg.return_sequences ? "" : " (also the default output)")));
    if (c) body.append(strip("c", c, "← last column: state_c = c_T"));
    const seqShape = "(batch, " + v.steps + ", " + units + ")", vecShape = "(batch, " + units + ")";
    const states = c ? ["state_h " + vecShape, "state_c " + vecShape] : ["state_h " + vecShape];
    const rows = [
      ["default", "h_T", vecShape, !cfg.return_sequences && !cfg.return_state],
      ["return_sequences=True", "h_1 … h_T (every column of h)", seqShape,
       cfg.return_sequences && !cfg.return_state],
      ["return_state=True", "h_T, " + states.join(", "), vecShape,
       !cfg.return_sequences && cfg.return_state],
      ["return_sequences=True, return_state=True", "h_1 … h_T, " + states.join(", "), seqShape,
       cfg.return_sequences && cfg.return_state]];
    const table = el("table", {class: "configs"}, el("tr", {}, [el("th", {text: "configuration"}),
      el("th", {text: "returns"}), el("th", {text: "first output's shape"}), el("th", {text: "this layer"})]));
    for (const [name, what, shape, mine] of rows) {
      table.append(el("tr", {class: mine ? "mine" : ""}, [el("td", {text: name}), el("td", {text: what}),
        el("td", {text: shape}), el("td", {text: mine ? "✓" : ""})]));
    }
    body.append(table);
    if (!c && v.cell !== "LSTM") {
      body.append(el("p", {class: "note", text: "A " + v.cell + " carries one state, h: its " +
        "state_h is the last column of h and there is no state_c."}));
    }
  }

  // ------------------------------------------------------------------ heatmaps
  const SVG_LIMIT = 4096;

  /** One heatmap: rows = units, columns = steps. Returns {node, cw, ch}. */
  function heatmap(values, T, U, spec, info) {
    const cw = Math.min(48, Math.max(1, 880 / T)), ch = Math.min(22, Math.max(1, 320 / U));
    const wrap = el("div", {class: "heatmap", "data-array": spec.name, "data-rows": U,
                            "data-cols": T, style: "width:" + T * cw + "px;height:" + U * ch + "px"});
    let surface;
    if (T * U <= SVG_LIMIT) {
      surface = svg("svg", {width: T * cw, height: U * ch, class: "cells"});
      for (let t = 0; t < T; t++) {
        for (let u = 0; u < U; u++) {
          surface.append(svg("rect", {class: "cell", x: t * cw, y: u * ch, width: cw, height: ch,
                                      fill: rgb(colour(values[t * U + u], spec)), "data-t": t, "data-u": u}));
        }
      }
    } else {
      surface = el("canvas", {width: T, height: U, class: "cells",
                              style: "width:" + T * cw + "px;height:" + U * ch + "px"});
      const ctx = surface.getContext("2d"), img = ctx.createImageData(T, U);
      for (let t = 0; t < T; t++) {
        for (let u = 0; u < U; u++) {
          const [r, g, b] = colour(values[t * U + u], spec), o = 4 * (u * T + t);
          img.data[o] = r; img.data[o + 1] = g; img.data[o + 2] = b; img.data[o + 3] = 255;
        }
      }
      ctx.putImageData(img, 0, 0);
    }
    wrap.append(surface);
    const cell = (e) => {
      const box = wrap.getBoundingClientRect();
      const t = Math.floor((e.clientX - box.left) / cw), u = Math.floor((e.clientY - box.top) / ch);
      return t >= 0 && t < T && u >= 0 && u < U ? [t, u] : null;
    };
    wrap.addEventListener("mousemove", (e) => {
      const at = cell(e);
      if (!at) return hideTip();
      const value = values[at[0] * U + at[1]];
      showTip(e, info.describe(spec.name, at[0], at[1]) + " = " + fmt(value), value);
    });
    wrap.addEventListener("mouseleave", hideTip);
    wrap.addEventListener("click", (e) => { const at = cell(e); if (at) info.click(at[0], at[1]); });
    return {node: wrap, cw: cw, ch: ch};
  }

  function maskStrip(mask, pos, T, cw) {
    const row = el("div", {class: "maskstrip", style: "width:" + T * cw + "px"});
    for (let t = 0; t < T; t++) {
      const masked = mask && !bit(mask, pos * T + t);
      row.append(el("span", {class: "mcell" + (masked ? " masked" : ""), style: "width:" + cw + "px",
                             title: masked ? "masked step" : "real step"}));
    }
    return row;
  }

  function describeCell(v) {
    const T = v.window[1] - v.window[0];
    return (name, t, u) => {
      const step = v.window[0] + t;
      let text = name + "[unit " + u + ", step " + step + "]";
      if (v.go_backwards) text += " (reads input step " + (v.steps - 1 - step) + ")";
      const mask = decode(v.mask);
      if (mask && !bit(mask, detailIndex() * T + t)) text += " masked";
      return text;
    };
  }

  function drawLayer() {
    const body = sections.layer;
    body.textContent = "";
    const m = model();
    if (!m.views.length) { body.append(el("p", {text: "This model has no recurrent layer."})); return; }
    const controls = el("div", {class: "controls"});
    const layerSel = el("select", {id: "layer-select", onchange: (e) => {
      state.view = Number(e.target.value); resetView(); drawLayerAll(); }});
    m.views.forEach((v, k) => layerSel.append(el("option", {value: k, text: v.key + " (" + v.cell +
      (v.direction ? ", " + v.direction : "") + ")"})));
    layerSel.value = state.view;
    const sampleSel = el("select", {id: "sample-select", onchange: (e) => {
      state.sample = Number(e.target.value); drawLayerAll(); drawAttribution(); }});
    m.samples.detail.forEach((pos, k) => sampleSel.append(el("option", {value: k, text: "sample " + xIndex(pos)})));
    sampleSel.value = state.sample;
    controls.append(el("label", {}, ["Layer ", layerSel]), el("label", {}, ["Sample ", sampleSel]));
    body.append(controls);
    const v = view(), T = v.window[1] - v.window[0], U = v.units_shown;
    const info = {describe: describeCell(v), click: (t, u) => {
      state.step = v.window[0] + t; state.unit = u; drawMarks(); drawStep(); drawReturns(); }};
    const grid = el("div", {class: "heatmaps"});
    let last = null;
    for (const spec of v.specs) {
      const values = layerValues(v, spec.name);
      const width = values.length / T;
      const map = heatmap(values, T, width, spec, info);
      const range = spec.diverging ? "±" + fmt(Math.max(Math.abs(spec.lo), Math.abs(spec.hi)))
                                   : fmt(spec.lo) + "…" + fmt(spec.hi);
      const label = el("div", {class: "maplabel"}, [el("b", {text: spec.name}),
        el("small", {text: (spec.kind === "gate" ? "gate, " + spec.activation : "state") + " " + range})]);
      const box = el("div", {class: "maprow"}, [label, el("div", {class: "mapcol"}, [map.node])]);
      grid.append(box);
      last = map;
    }
    body.append(grid);
    if (last) {
      const axis = el("div", {class: "maprow"}, [el("div", {class: "maplabel"}, el("small", {text: "mask"})),
        el("div", {class: "mapcol"}, [maskStrip(decode(v.mask), detailIndex(), T, last.cw),
          el("div", {class: "axis", text: "steps " + v.window[0] + " … " + (v.window[1] - 1) +
            (v.go_backwards ? " (processing order: step 0 read the last input step)" : "")})])]);
      body.append(axis);
    }
    drawMarks();
  }

  /** Outlines the chosen cell and the pattern range on every heatmap. */
  function drawMarks() {
    const v = view();
    if (!v) return;
    for (const map of sections.layer.querySelectorAll(".heatmap")) {
      for (const old of map.querySelectorAll(".mark")) old.remove();
      const T = Number(map.dataset.cols), U = Number(map.dataset.rows);
      const cw = parseFloat(map.style.width) / T, ch = parseFloat(map.style.height) / U;
      const t = state.step - v.window[0];
      const range = el("div", {class: "mark range", style: "left:" + (state.patFrom - v.window[0]) * cw +
        "px;width:" + (state.patTo - state.patFrom + 1) * cw + "px;height:" + U * ch + "px"});
      map.append(range);
      const mask = decode(v.mask);
      for (let k = 0; mask && k < T; k++) {
        if (!bit(mask, detailIndex() * T + k)) {
          map.append(el("div", {class: "mark masked", style: "left:" + k * cw + "px;width:" + cw +
            "px;height:" + U * ch + "px"}));
        }
      }
      if (state.unit < U) {
        map.append(el("div", {class: "mark cellmark", style: "left:" + t * cw + "px;top:" +
          state.unit * ch + "px;width:" + cw + "px;height:" + ch + "px"}));
      }
    }
  }

  // ------------------------------------------------------------------ step view
  function drawStep() {
    const body = sections.step;
    body.textContent = "";
    const v = view();
    if (!v) return;
    const T = v.window[1] - v.window[0], U = v.units_shown;
    const controls = el("div", {class: "controls"});
    const stepIn = el("input", {id: "step-input", type: "number", min: v.window[0], max: v.window[1] - 1,
      value: state.step, onchange: (e) => { state.step = clamp(Number(e.target.value), v.window[0], v.window[1] - 1);
        drawMarks(); drawStep(); }});
    const unitIn = el("input", {id: "unit-input", type: "number", min: 0, max: U - 1, value: state.unit,
      onchange: (e) => { state.unit = clamp(Number(e.target.value), 0, U - 1); drawMarks(); drawStep(); drawReturns(); }});
    controls.append(el("label", {}, ["Step ", stepIn]), el("label", {}, ["Unit ", unitIn]));
    body.append(controls);
    const t = state.step - v.window[0], u = state.unit;
    const at = (name, k) => {
      const values = layerValues(v, name);
      if (!values) return NaN;
      const width = values.length / T;
      if (k >= 0) return values[k * width + u];
      if (v.window[0] > 0) return NaN;                      // before the shown window
      return decode(v.detail[state.sample].initial[name])[u];
    };
    const lines = stepEquations(v, (name) => at(name, t), (name) => at(name, t - 1));
    const mask = decode(v.mask);
    const masked = mask && !bit(mask, detailIndex() * T + t);
    const where = "sample " + xIndex(detailIndex()) + ", step " + state.step + ", unit " + u;
    body.append(el("p", {class: "lead", text: v.key + " (" + v.cell + ") at " + where +
      (masked ? ": a masked step" : "")}));
    const list = el("div", {id: "step-view"});
    if (masked) {
      list.append(el("div", {class: "equation", text: "masked step: every state is carried, h_t = h_(t-1) = " +
        fmt(at("h", t)) + (v.cell === "LSTM" ? ", c_t = c_(t-1) = " + fmt(at("c", t)) : "") +
        " (the gates below were computed but not used)"}));
    }
    for (const line of lines) list.append(el("div", {class: "equation", text: line}));
    body.append(list);
  }

  const clamp = (x, lo, hi) => Math.max(lo, Math.min(hi, Number.isFinite(x) ? x : lo));

  function actName(name) {
    return name === "sigmoid" ? "σ" : name || "act";
  }

  /** The cell's equations at one step with the numbers (now(name), before(name)). */
  function stepEquations(v, now, before) {
    const act = actName(v.config.activation), rec = actName(v.config.recurrent_activation);
    const pre = (g) => "W_" + g + "·x_t + U_" + g + "·h_(t-1)" + (v.config.use_bias === false ? "" : " + b_" + g);
    const prev = (name) => { const x = before(name); return Number.isFinite(x) ? paren(x) : name + "_(t-1)"; };
    if (v.cell === "LSTM") {
      const [i, f, g, o, c, h] = ["i", "f", "g", "o", "c", "h"].map(now);
      return [
        "i = " + rec + "(" + pre("i") + ") = " + fmt(i) + "   (input gate)",
        "f = " + rec + "(" + pre("f") + ") = " + fmt(f) + "   (forget gate)",
        "g = " + act + "(" + pre("g") + ") = " + fmt(g) + "   (candidate)",
        "o = " + rec + "(" + pre("o") + ") = " + fmt(o) + "   (output gate)",
        "c_t = f*c_(t-1) + i*g = " + fmt(f) + "*" + prev("c") + " + " + fmt(i) + "*" + paren(g) +
          " = " + fmt(c),
        "h_t = o*" + act + "(c_t) = " + fmt(o) + "*" + act + "(" + fmt(c) + ") = " + fmt(h)];
    }
    if (v.cell === "GRU") {
      const [z, r, hh, h] = ["z", "r", "hh", "h"].map(now);
      const cand = v.config.reset_after === false
        ? "W_h·x_t + U_h·(r*h_(t-1)) + b_h" : "W_h·x_t + r*(U_h·h_(t-1) + b_rh) + b_h";
      return [
        "z = " + rec + "(" + pre("z") + ") = " + fmt(z) + "   (update gate: weight of the old state)",
        "r = " + rec + "(" + pre("r") + ") = " + fmt(r) + "   (reset gate)",
        "hh = " + act + "(" + cand + ") = " + fmt(hh) + "   (candidate)",
        "h_t = z*h_(t-1) + (1-z)*hh = " + fmt(z) + "*" + prev("h") + " + " + fmt(1 - z) + "*" +
          paren(hh) + " = " + fmt(h)];
    }
    if (v.cell === "SimpleRNN") {
      return ["h_t = " + act + "(W·x_t + U·h_(t-1)" + (v.config.use_bias === false ? "" : " + b") +
              ") with h_(t-1) = " + prev("h"), "h_t = " + fmt(now("h"))];
    }
    return v.specs.map((s) => s.name + ": " + prev(s.name) + " → " + fmt(now(s.name)) +
                       "   (a user or stacked cell: its own equations)");
  }

  // ------------------------------------------------------------------ pattern search
  function drawPattern() {
    const body = sections.pattern;
    body.textContent = "";
    const v = view();
    if (!v) return;
    const U = v.units_shown;
    body.append(el("p", {class: "lead", text: "On means " + v.threshold_rule + "."}));
    const controls = el("div", {class: "controls"});
    const unitsIn = el("input", {id: "pattern-units", type: "text", value: unitsText(state.patUnits),
      size: 18, onchange: (e) => { state.patUnits = parseUnits(e.target.value, U); }});
    const fromIn = el("input", {id: "pattern-from", type: "number", value: state.patFrom,
      min: v.window[0], max: v.window[1] - 1, onchange: (e) => { state.patFrom = clamp(Number(e.target.value), v.window[0], v.window[1] - 1); drawMarks(); }});
    const toIn = el("input", {id: "pattern-to", type: "number", value: state.patTo,
      min: v.window[0], max: v.window[1] - 1, onchange: (e) => { state.patTo = clamp(Number(e.target.value), v.window[0], v.window[1] - 1); drawMarks(); }});
    const agree = el("select", {id: "pattern-agree", onchange: (e) => { state.minAgree = Number(e.target.value); }});
    for (const a of [1, 0.9, 0.8, 0.7]) agree.append(el("option", {value: a, text: Math.round(a * 100) + "%"}));
    agree.value = state.minAgree;
    const onButton = el("button", {id: "pattern-on", type: "button", text: "Units on throughout the range",
      onclick: () => { state.patUnits = unitsOn(v); unitsIn.value = unitsText(state.patUnits); }});
    const go = el("button", {id: "pattern-search", type: "button", text: "Search", onclick: () => runSearch(v)});
    controls.append(el("label", {}, ["Units ", unitsIn]), el("label", {}, ["Steps ", fromIn]),
      el("label", {}, ["to ", toIn]), el("label", {}, ["Agreement ≥ ", agree]), onButton, go);
    body.append(controls, el("div", {id: "pattern-results"}));
  }

  /** Units whose h is on at every step of the range, in the current sample. */
  function unitsOn(v) {
    const T = v.window[1] - v.window[0], U = v.units_shown, on = decode(v.on), pos = detailIndex();
    const a = state.patFrom - v.window[0], b = state.patTo - v.window[0], out = [];
    for (let u = 0; u < U; u++) {
      let all = true;
      for (let t = a; t <= b && all; t++) all = bit(on, (pos * T + t) * U + u) === 1;
      if (all) out.push(u);
    }
    return out;
  }

  /** Every (sample, start) whose on/off pattern of the chosen units agrees enough. */
  function search(v, units, a, b, minAgree) {
    const T = v.window[1] - v.window[0], U = v.units_shown, on = decode(v.on);
    const S = model().samples.traced.length, L = b - a + 1, pos = detailIndex();
    const query = [];
    for (let k = 0; k < L; k++) for (const u of units) query.push(bit(on, (pos * T + a + k) * U + u));
    const need = Math.ceil(minAgree * query.length - 1e-9), found = [];
    for (let s = 0; s < S; s++) {
      for (let start = 0; start + L <= T; start++) {
        let same = 0, q = 0;
        for (let k = 0; k < L; k++) {
          const base = (s * T + start + k) * U;
          for (const u of units) same += bit(on, base + u) === query[q++] ? 1 : 0;
        }
        if (same >= need) found.push({sample: s, start: start, agree: same / query.length,
                                      self: s === pos && start === a});
      }
    }
    found.sort((p, q) => q.agree - p.agree || p.sample - q.sample || p.start - q.start);
    return found;
  }

  function runSearch(v) {
    const out = document.getElementById("pattern-results");
    out.textContent = "";
    const units = state.patUnits, a = state.patFrom - v.window[0], b = state.patTo - v.window[0];
    if (!units.length || b < a) {
      out.append(el("p", {class: "note", text: "Choose at least one unit and a range of steps (from ≤ to)."}));
      return;
    }
    if (units.length * (b - a + 1) > 20000) {
      out.append(el("p", {class: "note", text: "The pattern is too large (units × steps > 20000)."}));
      return;
    }
    const found = search(v, units, a, b, state.minAgree);
    const others = found.filter((f) => !f.self);
    out.append(el("p", {id: "pattern-count", "data-count": others.length, text: others.length +
      " match(es) besides the query (units " + unitsText(units) + ", steps " + state.patFrom + "–" +
      state.patTo + ", agreement ≥ " + Math.round(state.minAgree * 100) + "%)" +
      (others.length > 50 ? "; the first 50 are listed." : ".")}));
    const table = el("table", {class: "matches"}, el("tr", {}, ["sample", "steps", "agreement", "on/off pattern (rows: units)"]
      .map((h) => el("th", {text: h}))));
    for (const f of found.slice(0, 51)) {
      if (f.self && found.length > 51) continue;
      const detail = model().samples.detail.indexOf(f.sample);
      const row = el("tr", {class: "match" + (f.self ? " self" : ""), "data-sample": xIndex(f.sample),
        "data-start": v.window[0] + f.start}, [
        el("td", {text: xIndex(f.sample) + (f.self ? " (query)" : "")}),
        el("td", {text: (v.window[0] + f.start) + "–" + (v.window[0] + f.start + b - a)}),
        el("td", {text: Math.round(f.agree * 1000) / 10 + "%"}),
        el("td", {}, patternStrip(v, f.sample, f.start, b - a + 1, units))]);
      row.addEventListener("click", () => {
        if (detail < 0) { row.title = "only the on/off pattern of this sample is in the page"; return; }
        state.sample = detail; state.step = v.window[0] + f.start + (b - a);
        state.patFrom = v.window[0] + f.start; state.patTo = state.patFrom + (b - a);
        drawLayerAll(); drawAttribution();
      });
      table.append(row);
    }
    out.append(table);
  }

  function patternStrip(v, s, start, L, units) {
    const T = v.window[1] - v.window[0], U = v.units_shown, on = decode(v.on);
    const size = Math.max(3, Math.min(10, Math.floor(240 / L)));
    const root = svg("svg", {width: L * size, height: units.length * size, class: "pstrip"});
    units.forEach((u, r) => {
      for (let k = 0; k < L; k++) {
        const lit = bit(on, (s * T + start + k) * U + u);
        root.append(svg("rect", {x: k * size, y: r * size, width: size - 1, height: size - 1,
                                 class: lit ? "on" : "off"}));
      }
    });
    return root;
  }

  // ------------------------------------------------------------------ attribution
  function drawAttribution() {
    const body = sections.attribution;
    body.textContent = "";
    const m = model();
    if (!m.targets.length) {
      body.append(el("p", {class: "note", text: "Input attribution was not computed for this page."}));
      return;
    }
    const current = m.targets[state.target];
    const tensorIds = [...new Set(m.targets.map((t) => t[0]))];
    const controls = el("div", {class: "controls"});
    const pick = (tensor, step, unit) => {
      let k = m.targets.findIndex((t) => t[0] === tensor && t[1] === step && t[2] === unit);
      if (k < 0) k = m.targets.findIndex((t) => t[0] === tensor && t[1] === step);
      if (k < 0) k = m.targets.findIndex((t) => t[0] === tensor);
      state.target = k; drawAttribution();
    };
    const lastStep = (id) => {
      const steps = m.targets.filter((t) => t[0] === id && t[1] !== null).map((t) => t[1]);
      return steps.length ? Math.max(...steps) : null;
    };
    const tensorSel = el("select", {id: "attr-tensor", onchange: (e) => {
      const id = Number(e.target.value); pick(id, lastStep(id), current[2]); }});
    for (const id of tensorIds) {
      const t = m.tensors[id];
      tensorSel.append(el("option", {value: id, text: t.name + " " + t.shape + (ROLE_TEXT[t.role] ? " — " + ROLE_TEXT[t.role] : "")}));
    }
    tensorSel.value = current[0];
    const mine = m.targets.filter((t) => t[0] === current[0]);
    const steps = [...new Set(mine.map((t) => t[1]))];
    const stepSel = el("select", {id: "attr-step", onchange: (e) => {
      pick(current[0], e.target.value === "" ? null : Number(e.target.value), current[2]); }});
    for (const s of steps) stepSel.append(el("option", {value: s === null ? "" : s, text: s === null ? "—" : "step " + s}));
    stepSel.value = current[1] === null ? "" : current[1];
    const unitSel = el("select", {id: "attr-unit", onchange: (e) => pick(current[0], current[1], Number(e.target.value))});
    for (const t of mine.filter((t) => t[1] === current[1])) unitSel.append(el("option", {value: t[2], text: "unit " + t[2]}));
    unitSel.value = current[2];
    controls.append(el("label", {}, ["Output ", tensorSel]), el("label", {}, ["Step ", stepSel]),
                    el("label", {}, ["Unit ", unitSel]));
    body.append(controls);
    const t = m.tensors[current[0]];
    const what = t.name + "[" + (current[1] === null ? "" : "step " + current[1] + ", ") + "unit " + current[2] + "]";
    m.inputs.forEach((input, k) => {
      const block = el("div", {class: "attr-input", "data-input": input.name});
      block.append(el("p", {class: "lead", text: "d " + what + " / d " + input.name +
        "[t], summed over features, sample " + xIndex(detailIndex())}));
      const rows = m.attribution[k], problem = m.attribution_problems[String(current[0])];
      if (problem) {
        block.append(el("p", {class: "note", text: "No attribution for " + t.name + ": " + problem}));
      } else if (!rows) {
        block.append(el("p", {class: "note", text: "No gradient: " + input.name + " holds integer ids (" + input.dtype + ")."}));
      } else {
        const all = decode(rows[state.sample]), n = input.shown;
        block.append(bars(all.subarray(state.target * n, (state.target + 1) * n), input.steps - n));
      }
      body.append(block);
    });
  }

  function bars(values, offset) {
    const n = values.length, bw = Math.min(40, Math.max(1, 880 / n)), H = 140, mid = H / 2;
    let peak = 0;
    for (const v of values) if (Number.isFinite(v)) peak = Math.max(peak, Math.abs(v));
    peak = peak || 1;
    const root = svg("svg", {width: n * bw + 60, height: H + 22, class: "bars"});
    root.append(svg("line", {x1: 50, x2: 50 + n * bw, y1: mid, y2: mid, class: "zero"}));
    root.append(svg("text", {x: 0, y: 12, class: "ylab", text: "+" + fmt(peak)}));
    root.append(svg("text", {x: 0, y: H, class: "ylab", text: "-" + fmt(peak)}));
    for (let i = 0; i < n; i++) {
      const v = values[i], hgt = Number.isFinite(v) ? Math.abs(v) / peak * (mid - 4) : 0;
      const rect = svg("rect", {class: "bar " + (v < 0 ? "neg" : "pos"), x: 50 + i * bw, width: Math.max(bw - 1, 1),
        y: v < 0 ? mid : mid - hgt, height: Math.max(hgt, 0.5), "data-step": offset + i, "data-value": String(v)});
      rect.addEventListener("mousemove", (e) => showTip(e, "input step " + (offset + i) + ": " + fmt(v), v));
      rect.addEventListener("mouseleave", hideTip);
      root.append(rect);
    }
    root.append(svg("text", {x: 50, y: H + 18, class: "xlab", text: "input steps " + offset + " … " + (offset + n - 1)}));
    return root;
  }

  // ------------------------------------------------------------------ summary
  function drawSummary() {
    const body = sections.summary;
    body.textContent = "";
    const v = view();
    if (!v) return;
    const U = v.units_shown;
    body.append(el("p", {class: "lead", text: v.key + ": " + U + " unit(s), " +
      model().samples.traced.length + " traced sample(s), " + v.steps + " steps."}));
    const gates = Object.keys(v.saturation);
    if (!gates.length) body.append(el("p", {class: "note", text: "This cell has no bounded gates to saturate."}));
    for (const g of gates) {
      const s = v.saturation[g], spec = v.specs.find((x) => x.name === g);
      const [lo, hi] = spec && spec.lo < 0 ? ["-0.95", "0.95"] : ["0.05", "0.95"];
      body.append(unitChart("saturation of " + g + ": above " + hi + " (up) / below " + lo + " (down)",
        U, (u) => [s.high[u], s.low[u]], ["100%", "100%"],
        (u) => "unit " + u + ": " + g + " > " + hi + " in " + pct(s.high[u]) + ", < " + lo +
               " in " + pct(s.low[u]) + " of real steps", "sat-" + g));
    }
    if (v.memory) {
      const T = v.steps, len = (u) => v.memory[u];
      body.append(unitChart("memory length from " + v.memory_gate + " (steps until the running product " +
        "falls below 1/2; full height = " + T + " steps or never)", U,
        (u) => [len(u) === null ? 1 : Math.max(0, Math.min(len(u), T)) / T, 0], [T + " steps", ""],
        (u) => "unit " + u + ": median " + (len(u) === null ? "∞ (it stays above 1/2 to the end)"
          : len(u) < 0 ? "undefined (no real step)" : fmt(len(u)) + " steps") +
          "; never below 1/2 for " + pct(v.memory_never[u]) + " of start steps", "memory", true));
    } else {
      body.append(el("p", {class: "note", text: "No memory length: it is defined for LSTM (forget " +
        "gate) and GRU (update gate) with gates in [0, 1]."}));
    }
  }
  const pct = (x) => fmt(100 * x) + "%";

  /** Bars per unit: up = first value (0..1), down = second value (0..1). */
  function unitChart(title, U, valuesOf, labels, describe, id, upOnly) {
    const bw = Math.min(24, Math.max(1, 880 / U)), H = 34, height = upOnly ? H + 4 : 2 * H + 4;
    const root = svg("svg", {width: U * bw + 60, height: height, class: "unitchart", "data-chart": id});
    root.append(svg("line", {x1: 50, x2: 50 + U * bw, y1: H, y2: H, class: "zero"}));
    for (let u = 0; u < U; u++) {
      const [up, down] = valuesOf(u);
      root.append(svg("rect", {x: 50 + u * bw, y: H - up * H, width: Math.max(bw - 1, 1),
                               height: up * H, class: "up" + (up >= 1 && upOnly ? " full" : "")}));
      if (!upOnly) {
        root.append(svg("rect", {x: 50 + u * bw, y: H, width: Math.max(bw - 1, 1), height: down * H,
                                 class: "down"}));
      }
      const hit = svg("rect", {x: 50 + u * bw, y: 0, width: bw, height: height, class: "hit",
                               "data-unit": u});
      hit.addEventListener("mousemove", (e) => showTip(e, describe(u)));
      hit.addEventListener("mouseleave", hideTip);
      root.append(hit);
    }
    root.append(svg("text", {x: 0, y: 10, class: "ylab", text: labels[0]}));
    if (!upOnly) root.append(svg("text", {x: 0, y: 2 * H, class: "ylab", text: labels[1]}));
    return el("div", {class: "chart"}, [el("div", {class: "charttitle", text: title}), root]);
  }

  // ------------------------------------------------------------------ main
  function drawLayerAll() {
    drawLayer(); drawReturns(); drawStep(); drawPattern(); drawSummary();
  }

  function drawAll() {
    drawHeader(); drawGraph(); drawLayerAll(); drawAttribution();
  }

  try {
    buildSkeleton();
    resetModel();
    drawAll();
    document.body.dataset.ready = "1";
    window.__rnnlens_ready_ms = performance.now();      // since navigation start
    window.__rnnlens_ready = true;
  } catch (err) {
    app.append(el("pre", {class: "error", text: "rnnlens: the page could not be drawn: " + err}));
    console.error(err);
  }
})();
