/* pds docs: SVG charts (metric line chart with bounds, sparklines, run duration bars). */
"use strict";
(function (P) {
  const s = P.s;

  /** Round tick values spanning [lo, hi]. */
  function ticks(lo, hi, count) {
    const span = hi - lo || 1;
    const raw = span / Math.max(1, count);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((st) => span / st <= count) || 10 * mag;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
    return out;
  }

  /** The absolute bounds of a metric (min: the largest min bound, max: the smallest max bound). */
  P.metricBounds = function (metric) {
    const out = {min: null, max: null, other: []};
    for (const b of (metric && metric.bounds) || []) {
      if (b.kind === "min") out.min = out.min === null ? b.value : Math.max(out.min, b.value);
      else if (b.kind === "max") out.max = out.max === null ? b.value : Math.min(out.max, b.value);
      else out.other.push(b);
    }
    return out;
  };

  /** Whether a recorded value broke its bounds: its recorded status, or outside min/max. */
  P.outOfBounds = function (point, bounds) {
    if (point.status && point.status !== "pass") return true;
    if (point.value === null || point.value === undefined) return false;
    return (bounds.min !== null && point.value < bounds.min) || (bounds.max !== null && point.value > bounds.max);
  };

  /**
   * A line chart of one metric series: points [{value, status, at, run_id, slot}] oldest first,
   * bounds {min, max} drawn as dashed lines, out-of-bounds points ringed in red. `slot` places a
   * point among opts.slots runs, so a run without a value leaves a gap; without it points are evenly spaced.
   */
  P.lineChart = function (points, bounds, opts) {
    const o = Object.assign({width: 560, height: 220, title: ""}, opts || {});
    const pad = {left: 58, right: 58, top: 14, bottom: 30};  // bound labels sit right of the plot
    const w = o.width - pad.left - pad.right, hgt = o.height - pad.top - pad.bottom;
    const values = points.map((p) => p.value).filter((v) => v !== null && v !== undefined);
    const domain = values.concat([bounds.min, bounds.max].filter((v) => v !== null));
    let lo = domain.length ? Math.min(...domain) : 0, hi = domain.length ? Math.max(...domain) : 1;
    if (lo === hi) { const d = Math.abs(lo) * 0.1 || 1; lo -= d; hi += d; }
    const margin = (hi - lo) * 0.08;
    lo -= margin; hi += margin;
    const slots = o.slots || points.length;
    const slot = (i) => (points[i].slot === undefined || points[i].slot === null ? i : points[i].slot);
    const x = (i) => pad.left + (slots < 2 ? w / 2 : (slot(i) * w) / (slots - 1));
    const y = (v) => pad.top + hgt - ((v - lo) / (hi - lo)) * hgt;
    const svg = s("svg", {class: "chart line-chart", viewBox: `0 0 ${o.width} ${o.height}`, width: o.width,
                          height: o.height, role: "img", "aria-label": o.title || "metric chart"});
    const axis = s("g", {class: "axis"});
    for (const t of ticks(lo, hi, 4)) {
      axis.appendChild(s("line", {class: "grid", x1: pad.left, x2: pad.left + w, y1: y(t), y2: y(t)}));
      axis.appendChild(s("text", {x: pad.left - 6, y: y(t) + 4, "text-anchor": "end"}, P.fmtNumber(t)));
    }
    const labelAt = (i, anchor) => axis.appendChild(
      s("text", {x: x(i), y: o.height - 8, "text-anchor": anchor}, P.fmtTime(points[i].at).slice(0, 19)));
    if (points.length) labelAt(0, points.length === 1 ? "middle" : "start");
    if (points.length > 1) labelAt(points.length - 1, "end");
    svg.appendChild(axis);
    for (const [kind, value] of [["min", bounds.min], ["max", bounds.max]]) {
      if (value === null) continue;
      svg.appendChild(s("line", {class: "bound bound-" + kind, x1: pad.left, x2: pad.left + w, y1: y(value),
                                 y2: y(value), "data-value": value}));
      svg.appendChild(s("text", {class: "bound-label", x: pad.left + w + 6, y: y(value) + 4},
                        `${kind} ${P.fmtNumber(value)}`));
    }
    let d = "";
    points.forEach((p, i) => {
      const gap = p.value === null || p.value === undefined || (i > 0 && slot(i) - slot(i - 1) > 1);
      if (gap) d += " ";
      if (p.value === null || p.value === undefined) return;
      d += (d === "" || d.endsWith(" ") ? "M" : "L") + x(i).toFixed(1) + "," + y(p.value).toFixed(1);
    });
    svg.appendChild(s("path", {class: "series", d: d.trim().replace(/ +/g, " ")}));
    const dots = s("g", {class: "points"});
    points.forEach((p, i) => {
      if (p.value === null || p.value === undefined) return;
      const bad = P.outOfBounds(p, bounds);
      const tip = `${P.fmtTime(p.at)}  ${P.fmtNumber(p.value)}  (${p.status || "?"})`;
      if (bad) dots.appendChild(s("circle", {class: "oob-ring", cx: x(i), cy: y(p.value), r: 8}));
      dots.appendChild(s("circle", {class: "point" + (bad ? " oob st-" + (p.status || "fail") : ""), cx: x(i),
                                    cy: y(p.value), r: bad ? 4.5 : 3.5, "data-value": p.value,
                                    "data-run": p.run_id, "data-status": p.status || ""}, s("title", {}, tip)));
    });
    svg.appendChild(dots);
    return svg;
  };

  /** A small line of values (e.g. a node's duration per run), with a dot coloured by each run's status. */
  P.sparkline = function (values, statuses, opts) {
    const o = Object.assign({width: 140, height: 28, label: "history"}, opts || {});
    const present = values.filter((v) => v !== null && v !== undefined);
    const svg = s("svg", {class: "chart sparkline", width: o.width, height: o.height, role: "img",
                          viewBox: `0 0 ${o.width} ${o.height}`, "aria-label": o.label});
    if (!present.length) return svg;
    const hi = Math.max(...present), lo = Math.min(0, ...present);
    const x = (i) => 3 + (values.length < 2 ? (o.width - 6) / 2 : (i * (o.width - 6)) / (values.length - 1));
    const y = (v) => o.height - 4 - ((v - lo) / ((hi - lo) || 1)) * (o.height - 8);
    const pts = values.map((v, i) => (v === null || v === undefined ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`));
    svg.appendChild(s("polyline", {class: "spark-line", points: pts.filter(Boolean).join(" ")}));
    values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      const st = statuses ? statuses[i] : null;
      svg.appendChild(s("circle", {class: "spark-dot st-" + (st || "none"), cx: x(i), cy: y(v), r: 2.2},
                        s("title", {}, `${P.fmtSeconds(v)} ${st || ""}`)));
    });
    return svg;
  };

  /** Bars of run durations, oldest to newest, coloured by run status; each bar links to its run. */
  P.runBars = function (runs, opts) {
    const o = Object.assign({width: 720, height: 140}, opts || {});
    const pad = {left: 52, right: 8, top: 10, bottom: 22};
    const w = o.width - pad.left - pad.right, hgt = o.height - pad.top - pad.bottom;
    const hi = Math.max(0.001, ...runs.map((r) => r.elapsed_seconds || 0));
    const svg = s("svg", {class: "chart run-bars", viewBox: `0 0 ${o.width} ${o.height}`, width: o.width,
                          height: o.height, role: "img", "aria-label": "run durations"});
    for (const t of ticks(0, hi, 3)) {
      const yy = pad.top + hgt - (t / hi) * hgt;
      svg.appendChild(s("line", {class: "grid", x1: pad.left, x2: pad.left + w, y1: yy, y2: yy}));
      svg.appendChild(s("text", {x: pad.left - 6, y: yy + 4, "text-anchor": "end"}, P.fmtSeconds(t)));
    }
    const bw = w / Math.max(1, runs.length);
    runs.forEach((r, i) => {
      const bh = ((r.elapsed_seconds || 0) / hi) * hgt;
      const bar = s("rect", {class: "bar st-" + r.status, x: pad.left + i * bw + bw * 0.15, width: bw * 0.7,
                             y: pad.top + hgt - bh, height: Math.max(1, bh)},
                    s("title", {}, `${P.fmtTime(r.started_at)} ${r.command} ${r.status} ${P.fmtSeconds(r.elapsed_seconds)}`));
      svg.appendChild(s("a", {href: P.runHref(r.run_id), tabindex: "-1"}, bar));
    });
    return svg;
  };
})(window.Pds);
