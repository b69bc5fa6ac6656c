/* pds docs: shared helpers (DOM building, formatting, statuses, code highlighting).
   Plain scripts, no modules, so the site also works when opened from file://. */
"use strict";
window.Pds = window.Pds || {};
(function (P) {
  const SVG_NS = "http://www.w3.org/2000/svg";

  function build(el, attrs, children) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.setAttribute("class", value);
      else if (key === "text") el.textContent = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  /** An HTML element: h("a", {href: "#/"}, "text", child). Text is never parsed as HTML. */
  P.h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);
  /** An SVG element, same calling convention. */
  P.s = (tag, attrs, ...children) => build(document.createElementNS(SVG_NS, tag), attrs, children);

  P.nodeHref = (uid) => "#/node/" + encodeURIComponent(uid);
  P.runHref = (id) => "#/run/" + encodeURIComponent(id);
  P.metricHref = (uid) => "#/metric/" + encodeURIComponent(uid);

  /** The colour class of a node from its last result: success, warn, fail (built, checks failed), error, skipped, none. */
  P.nodeStatus = function (last) {
    if (!last) return "none";
    const s = last.status;
    if (s === "error" || s === "fail") return "error";
    if (s === "skipped") return "skipped";
    if (last.quality === "failed") return "fail";
    if (s === "warn" || last.quality === "warned") return "warn";
    return "success";
  };
  P.STATUS_LABEL = {success: "success", warn: "warning", fail: "checks failed", error: "error",
                    skipped: "skipped", none: "not run yet", pass: "pass", unchanged: "unchanged"};
  const SYMBOL = {success: "✓", pass: "✓", unchanged: "✓", warn: "!", fail: "✗", error: "✗", skipped: "–", none: "·"};

  /** A status pill with a symbol, so status never relies on colour alone. */
  P.badge = (status) => P.h("span", {class: "badge st-" + (status || "none")},
                            (SYMBOL[status] || "·") + " " + (P.STATUS_LABEL[status] || status || "none"));
  P.symbol = (status) => SYMBOL[status] || "·";

  P.fmtSeconds = function (s) {
    if (s === null || s === undefined || isNaN(s)) return "";
    if (s < 1) return (s * 1000).toFixed(0) + " ms";
    if (s < 60) return s.toFixed(2) + " s";
    return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
  };
  P.fmtTime = function (iso) {
    if (!iso) return "";
    return String(iso).replace("T", " ").replace(/\.\d+Z?$/, "").replace(/Z$/, "");
  };
  P.fmtNumber = function (v) {
    if (v === null || v === undefined) return "null";
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return (a !== 0 && (a < 0.001 || a >= 1e7)) ? v.toExponential(3) : String(+v.toPrecision(6));
  };

  const SQL_WORDS = ("select from where group by order having limit join left right inner outer full cross on " +
    "using as and or not in is null case when then else end with union all distinct create table view insert " +
    "into values update delete merge over partition between like ilike cast coalesce true false date interval " +
    "asc desc exists qualify window lateral").split(" ");
  const PY_WORDS = ("def return import from as if elif else for while in not and or is None True False class " +
    "with try except finally raise lambda yield pass break continue global nonlocal assert del").split(" ");
  const PATTERNS = {
    sql: /(--[^\n]*|\/\*[\s\S]*?\*\/)|('(?:[^']|'')*')|(\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|\{#[\s\S]*?#\})|(\b\d+(?:\.\d+)?\b)|(\b[A-Za-z_]+\b)/g,
    python: /(#[^\n]*)|("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|(@[A-Za-z_.]+)|(\b\d+(?:\.\d+)?\b)|(\b[A-Za-z_]+\b)/g,
  };

  /** Code as a fragment of spans (comments, strings, Jinja, numbers, keywords), built without innerHTML. */
  P.highlight = function (text, language) {
    const frag = document.createDocumentFragment();
    const pattern = PATTERNS[language];
    if (!pattern || text.length > 200000) { frag.appendChild(document.createTextNode(text)); return frag; }
    const words = new Set(language === "sql" ? SQL_WORDS : PY_WORDS);
    let last = 0;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
      let cls = null;
      if (m[1]) cls = "tok-comment";
      else if (m[2]) cls = "tok-string";
      else if (m[3]) cls = language === "sql" ? "tok-jinja" : "tok-decorator";
      else if (m[4]) cls = "tok-number";
      else if (m[5] && words.has(language === "sql" ? m[5].toLowerCase() : m[5])) cls = "tok-keyword";
      if (!cls) continue;
      if (m.index > last) frag.appendChild(document.createTextNode(text.slice(last, m.index)));
      frag.appendChild(P.h("span", {class: cls}, m[0]));
      last = m.index + m[0].length;
    }
    if (last < text.length) frag.appendChild(document.createTextNode(text.slice(last)));
    return frag;
  };

  /** Upstream and downstream node ids of `uid`, following parents/children maps. */
  P.reach = function (uid, nodes) {
    const walk = (key) => {
      const seen = new Set();
      const stack = [...(nodes[uid] ? nodes[uid][key] : [])];
      while (stack.length) {
        const next = stack.pop();
        if (seen.has(next) || !nodes[next]) continue;
        seen.add(next);
        stack.push(...nodes[next][key]);
      }
      return seen;
    };
    return {up: walk("parents"), down: walk("children")};
  };

  /** A section with a heading; `id` makes it linkable. */
  P.section = (title, id, ...children) =>
    P.h("section", {class: "card", id: id, "aria-labelledby": id ? id + "-h" : null},
        P.h("h2", {id: id ? id + "-h" : null}, title), ...children);

  P.empty = (text) => P.h("p", {class: "empty"}, text);
})(window.Pds);
