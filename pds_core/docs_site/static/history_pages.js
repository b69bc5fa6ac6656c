/* pds docs: history pages (runs, one run, checks, metrics) and the history look-ups the node page uses. */
"use strict";
(function (P) {
  const h = P.h;
  const RANK = {error: 5, fail: 4, warn: 3, skipped: 2, pass: 1, success: 1, unchanged: 1};
  const worst = (statuses) => statuses.reduce((a, b) => ((RANK[b] || 0) > (RANK[a] || 0) ? b : a), null);

  /** Indexes over the embedded data, built once. */
  P.index = function (data) {
    const runs = data.runs.slice().reverse();  // oldest first, as charts read
    const checksByUid = {};
    for (const c of data.checks) (checksByUid[c.unique_id] = checksByUid[c.unique_id] || []).push(c);
    const seriesByUid = {};
    for (const sr of data.metric_series) (seriesByUid[sr.unique_id] = seriesByUid[sr.unique_id] || []).push(sr);
    const byNode = {};
    runs.forEach((run, i) => {
      for (const [uid, status, time, rows, quality] of data.run_nodes[run.run_id] || []) {
        (byNode[uid] = byNode[uid] || []).push({run, i, status, time, rows, quality});
      }
    });
    P.runsOldest = runs;
    P.checksByUid = checksByUid;
    P.seriesByUid = seriesByUid;
    P.byNode = byNode;
  };

  P.nodeHistory = (uid) => P.byNode[uid] || [];

  /** Status of a test (or a metric: its bounds and recorded values) per run id, the worst of its entries. */
  function statusByRun(uid) {
    const out = {};
    const add = (run, status) => { out[run] = worst([out[run], status].filter(Boolean)); };
    for (const c of P.checksByUid[uid] || []) for (const [run, res] of Object.entries(c.results)) add(run, res[0]);
    for (const sr of P.seriesByUid[uid] || []) for (const p of sr.points) add(p.run_id, p.status || "pass");
    return out;
  }

  P.latestCheck = function (uid) {
    const by = statusByRun(uid);
    for (let i = P.runsOldest.length - 1; i >= 0; i--) if (by[P.runsOldest[i].run_id]) return by[P.runsOldest[i].run_id];
    return "none";
  };

  P.latestMetric = (uid) => P.latestCheck(uid);

  /** One small cell per run (oldest to newest) with the check's status in it. */
  P.checkStrip = function (uid, results) {
    const by = results || statusByRun(uid);
    return h("span", {class: "strip", role: "img", "aria-label": "status per run, oldest first"},
      ...P.runsOldest.map((run) => {
        const st = by[run.run_id] ? (Array.isArray(by[run.run_id]) ? by[run.run_id][0] : by[run.run_id]) : "none";
        return h("span", {class: "cell st-" + st, title: `${P.fmtTime(run.started_at)}: ${st}`}, P.symbol(st));
      }));
  };

  P.renderRuns = function (main) {
    main.appendChild(h("header", {class: "page-head"}, h("h1", {}, "Run history"),
      h("p", {class: "description"}, `The last ${P.data.runs.length} runs on target ${P.data.meta.target.name || ""}.`)));
    if (!P.data.runs.length) { main.appendChild(P.empty("No runs recorded yet: run `pds build`.")); return; }
    main.appendChild(P.section("Duration per run", "run-chart", P.runBars(P.runsOldest)));
    const rows = P.data.runs.map((r) => h("tr", {class: "run-row", "data-run": r.run_id},
      h("td", {}, h("a", {href: P.runHref(r.run_id)}, P.fmtTime(r.started_at))),
      h("td", {}, r.command), h("td", {}, P.badge(r.status)), h("td", {class: "num"}, P.fmtSeconds(r.elapsed_seconds)),
      h("td", {class: "num"}, String(r.nodes ?? "")), h("td", {class: "num"}, String(r.failed ?? ""))));
    main.appendChild(P.section("Runs", "runs", h("table", {class: "runs"},
      h("thead", {}, h("tr", {}, ...["Started", "Command", "Status", "Duration", "Nodes", "Failed"]
        .map((c) => h("th", {scope: "col"}, c)))), h("tbody", {}, ...rows))));
    const nodes = Object.values(P.data.nodes).filter((n) => P.byNode[n.unique_id])
      .map((n) => ({n, hist: P.byNode[n.unique_id]}))
      .sort((a, b) => (b.hist[b.hist.length - 1].time || 0) - (a.hist[a.hist.length - 1].time || 0));
    main.appendChild(P.section("Duration per node", "node-durations", h("table", {class: "durations"},
      h("thead", {}, h("tr", {}, ...["Node", "Last", "Over the runs", "Runs"].map((c) => h("th", {scope: "col"}, c)))),
      h("tbody", {}, ...nodes.map(({n, hist}) => h("tr", {"data-node": n.unique_id},
        h("td", {}, P.nodeLink(n.unique_id)), h("td", {class: "num"}, P.fmtSeconds(hist[hist.length - 1].time)),
        h("td", {}, P.sparkline(hist.map((x) => x.time), hist.map((x) => x.status), {label: `duration of ${n.name}`})),
        h("td", {class: "num"}, String(hist.length))))))));
  };

  P.renderRun = function (main, runId) {
    const run = P.data.runs.find((r) => r.run_id === runId);
    if (!run) { main.appendChild(P.empty(`No run ${runId} in the recorded history.`)); return; }
    main.appendChild(h("header", {class: "page-head"}, h("p", {class: "kicker"}, "run"),
      h("h1", {}, `${run.command} · ${P.fmtTime(run.started_at)} `, P.badge(run.status)),
      h("p", {class: "description"}, `${run.nodes} nodes, ${run.failed} failed, ${P.fmtSeconds(run.elapsed_seconds)}. `,
        h("code", {}, run.run_id))));
    const names = (uid) => (P.data.nodes[uid] || P.data.tests[uid] || P.data.metrics[uid] || {}).name || uid;
    const rows = (P.data.run_nodes[runId] || []).map(([uid, status, time, nrows, , message]) => h("tr", {},
      h("td", {}, P.data.nodes[uid] ? P.nodeLink(uid) : P.data.metrics[uid] ? h("a", {href: P.metricHref(uid)}, names(uid))
                                    : names(uid)),
      h("td", {}, uid.split(".")[0]), h("td", {}, P.badge(status)), h("td", {class: "num"}, P.fmtSeconds(time)),
      h("td", {class: "num"}, nrows === null || nrows === undefined ? "" : String(nrows)), h("td", {class: "msg"}, message)));
    main.appendChild(P.section("Nodes", "run-nodes", h("table", {class: "run-nodes"},
      h("thead", {}, h("tr", {}, ...["Node", "Kind", "Status", "Duration", "Rows", "Message"]
        .map((c) => h("th", {scope: "col"}, c)))), h("tbody", {}, ...rows))));
  };

  P.renderChecks = function (main, query) {
    main.appendChild(h("header", {class: "page-head"}, h("h1", {}, "Check history"),
      h("p", {class: "description"}, "Every test, check and metric bound, with its status in each run (oldest left).")));
    if (!P.data.checks.length) { main.appendChild(P.empty("No test results recorded yet.")); return; }
    const filter = h("input", {type: "search", class: "table-filter", placeholder: "Filter checks",
                               "aria-label": "Filter checks", value: query || ""});
    const failing = h("input", {type: "checkbox", id: "only-failing"});
    const body = h("tbody");
    const draw = () => {
      const q = filter.value.trim().toLowerCase();
      body.replaceChildren(...P.data.checks.filter((c) => (!q || (c.name + " " + c.group).toLowerCase().includes(q)) &&
        (!failing.checked || Object.values(c.results).some((r) => r[0] !== "pass"))).map((c) => {
        const node = c.node && P.data.nodes[c.node];
        const latest = worst([P.checkLatest(c)].filter(Boolean)) || "none";
        return h("tr", {class: "check-row", "data-check": c.id},
          h("th", {scope: "row"}, P.data.metrics[c.unique_id] ? h("a", {href: P.metricHref(c.unique_id)}, c.name) : c.name,
            c.group ? h("span", {class: "muted"}, ` (${c.group})`) : null),
          h("td", {}, c.test_type || ""), h("td", {}, node ? P.nodeLink(c.node) : ""), h("td", {}, c.severity || ""),
          h("td", {}, P.badge(latest)), h("td", {}, P.checkStrip(c.unique_id, c.results)));
      }));
    };
    filter.addEventListener("input", draw);
    failing.addEventListener("change", draw);
    draw();
    main.appendChild(P.section("Checks", "checks", h("div", {class: "filters"}, filter,
      h("label", {for: "only-failing"}, failing, " only those that did not always pass")),
      h("table", {class: "checks"}, h("thead", {}, h("tr", {}, ...["Check", "Kind", "Node", "Severity", "Latest",
        "Per run"].map((c) => h("th", {scope: "col"}, c)))), body)));
  };

  P.checkLatest = function (check) {
    for (let i = P.runsOldest.length - 1; i >= 0; i--) {
      const r = check.results[P.runsOldest[i].run_id];
      if (r) return r[0];
    }
    return null;
  };

  function metricCard(uid, series, width) {
    const metric = P.data.metrics[uid] || {name: series.metric, bounds: []};
    const bounds = P.metricBounds(metric);
    const title = `${metric.model ? metric.model + "." : ""}${metric.name}` + (series.group ? ` (${series.group})` : "");
    const last = series.points[series.points.length - 1];
    const out = series.points.filter((p) => P.outOfBounds(p, bounds)).length;
    const slotOf = new Map(P.runsOldest.map((r, i) => [r.run_id, i]));
    const placed = series.points.map((p) => Object.assign({slot: slotOf.get(p.run_id)}, p));
    const known = placed.every((p) => p.slot !== undefined);
    return h("figure", {class: "metric", "data-metric": uid, "data-group": series.group_key},
      h("figcaption", {}, h("a", {href: P.metricHref(uid)}, title), " ",
        h("span", {class: "muted"}, `last ${last ? P.fmtNumber(last.value) : "—"} · ${series.points.length} values` +
          (out ? ` · ${out} out of bounds` : ""))),
      P.lineChart(known ? placed : series.points, bounds,
                  {width: width, title: `${title} per run`, slots: known ? P.runsOldest.length : null}),
      bounds.other.length ? h("p", {class: "hint"}, "Relative bounds: " + bounds.other.map((b) =>
        `${b.kind} ${b.value} (${b.severity})`).join("; ")) : null);
  }

  P.renderMetrics = function (main) {
    main.appendChild(h("header", {class: "page-head"}, h("h1", {}, "Metrics"),
      h("p", {class: "description"}, "Each metric's value per run; dashed lines are its bounds, ringed points broke them.")));
    if (!P.data.metric_series.length) { main.appendChild(P.empty("No metric values recorded yet.")); return; }
    main.appendChild(h("div", {class: "metric-grid"},
      ...P.data.metric_series.map((sr) => metricCard(sr.unique_id, sr, 460))));
  };

  P.renderMetric = function (main, uid) {
    const metric = P.data.metrics[uid];
    const series = P.seriesByUid[uid] || [];
    main.appendChild(h("header", {class: "page-head"}, h("p", {class: "kicker"}, "metric"),
      h("h1", {}, metric ? metric.name : uid, " ", P.badge(P.latestMetric(uid))),
      metric && metric.description ? h("p", {class: "description"}, metric.description) : null));
    if (metric) {
      main.appendChild(P.section("Definition", "definition", h("dl", {class: "facts"},
        ...[["Model", P.nodeLink(metric.attached_to)], ["Kind", metric.kind], ["Expression", metric.expression],
            ["Column", metric.column], ["Where", metric.where], ["Group by", (metric.group_by || []).join(", ")],
            ["Bounds", (metric.bounds || []).map((b) => `${b.kind} ${b.value} (${b.severity})`).join("; ")],
            ["Defined in", metric.path + (metric.line ? ":" + metric.line : "")]]
          .filter(([, v]) => v).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))));
    }
    if (!series.length) { main.appendChild(P.empty("No values recorded for this metric yet.")); return; }
    main.appendChild(P.section("Values per run", "values", ...series.map((sr) => metricCard(uid, sr, 760))));
  };
})(window.Pds);
