/* pds docs: the page of one model, seed or source. */
"use strict";
(function (P) {
  const h = P.h;

  function nodeLink(uid, column) {
    const node = P.data.nodes[uid];
    const name = node ? node.name : uid;
    return h("a", {href: P.nodeHref(uid), class: "node-link status-" + P.nodeStatus(node && node.last)},
             column ? `${name}.${column}` : name);
  }
  P.nodeLink = nodeLink;

  function facts(node) {
    const rows = [["Type", node.resource_type + (node.language === "python" ? " (Python)" : "")],
                  ["Materialized", node.materialized], ["Relation", node.relation], ["File", node.path],
                  ["Schema file", node.patch_path], ["Tags", (node.tags || []).join(", ")]];
    if (node.serving) {
      const s = node.serving;
      rows.push(["Served", [s.rows ? "rows" + (s.key && s.key.length ? ` by ${s.key.join(", ")}` : "") : "",
                            s.score ? "online scoring (POST /score)" : ""].filter(Boolean).join("; ") +
                           " · pds serve"]);
    }
    if (node.last) {
      rows.push(["Last run", `${P.fmtTime(node.last.at)} · ${P.fmtSeconds(node.last.time)}`]);
      if (node.last.message && node.last.status !== "success") rows.push(["Message", node.last.message]);
    }
    return h("dl", {class: "facts"}, ...rows.filter((r) => r[1]).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  }

  function columnsTable(node) {
    if (!node.columns.length) return P.empty("No columns known: declare them in schema YAML, or build the node.");
    const testsByColumn = {};
    for (const uid of node.tests) {
      const t = P.data.tests[uid];
      if (t && t.column) (testsByColumn[t.column.toLowerCase()] = testsByColumn[t.column.toLowerCase()] || []).push(t);
    }
    const refs = (list) => list.length ? h("ul", {class: "refs"}, ...list.map(([uid, col]) => h("li", {}, nodeLink(uid, col))))
                                       : h("span", {class: "muted"}, "—");
    return h("table", {class: "columns"},
      h("thead", {}, h("tr", {}, ...["Column", "Type", "Description", "Tests", "Computed from", "Used by"]
        .map((c) => h("th", {scope: "col"}, c)))),
      h("tbody", {}, ...node.columns.map((c) => h("tr", {"data-column": c.name},
        h("th", {scope: "row"}, h("code", {}, c.name)),
        h("td", {}, h("code", {}, c.type || "")),
        h("td", {}, c.description),
        h("td", {}, ...(testsByColumn[c.name.toLowerCase()] || []).map((t) => h("span", {class: "tag-test"},
          P.symbol(P.latestCheck(t.unique_id)), " ", t.test_name || t.name))),
        h("td", {class: "lineage-up"}, refs(c.upstream)),
        h("td", {class: "lineage-down"}, refs(c.downstream))))));
  }

  function codeBlock(node) {
    const tabs = [];
    if (node.resource_type === "seed") tabs.push(["CSV (first lines)", node.preview || "", "csv"]);
    else if (node.resource_type === "source") tabs.push(["Source", JSON.stringify(node.source || {}, null, 2), "json"]);
    else if (node.language === "python") tabs.push(["Python source", node.raw_code || "", "python"]);
    else {
      tabs.push(["Raw SQL", node.raw_code || "", "sql"]);
      if (node.compiled_code) tabs.push(["Compiled SQL", node.compiled_code, "sql"]);
    }
    const pre = h("pre", {class: "code", tabindex: "0"});
    const buttons = tabs.map(([title, text, lang], i) => h("button", {type: "button", role: "tab",
      class: "tab", "aria-selected": i === 0 ? "true" : "false",
      onclick: (ev) => {
        buttons.forEach((b) => b.setAttribute("aria-selected", "false"));
        ev.currentTarget.setAttribute("aria-selected", "true");
        show(text, lang);
      }}, title));
    const show = (text, lang) => { pre.replaceChildren(h("code", {class: "lang-" + lang}, P.highlight(text, lang))); };
    show(tabs[0][1], tabs[0][2]);
    return [h("div", {class: "tabs", role: "tablist"}, ...buttons), pre];
  }

  function testsTable(node) {
    if (!node.tests.length && !node.metrics.length) return P.empty("No tests, checks or metrics on this node.");
    const rows = node.tests.map((uid) => {
      const t = P.data.tests[uid];
      const status = P.latestCheck(uid);
      return h("tr", {"data-test": uid},
        h("td", {}, P.badge(status)), h("td", {}, h("a", {href: "#/checks?q=" + encodeURIComponent(t.name)}, t.name)),
        h("td", {}, t.test_type === "python" ? "check (Python)" : t.test_type), h("td", {}, t.column || ""),
        h("td", {}, t.severity), h("td", {}, P.checkStrip(uid)));
    });
    for (const uid of node.metrics) {
      const m = P.data.metrics[uid];
      rows.push(h("tr", {"data-metric": uid},
        h("td", {}, P.badge(P.latestMetric(uid))), h("td", {}, h("a", {href: P.metricHref(uid)}, m.name)),
        h("td", {}, "metric"), h("td", {}, m.column || ""),
        h("td", {}, (m.bounds || []).map((b) => `${b.kind} ${b.value} (${b.severity})`).join("; ") || "—"),
        h("td", {}, P.checkStrip(uid))));
    }
    return h("table", {class: "tests"}, h("thead", {}, h("tr", {}, ...["Latest", "Name", "Kind", "Column",
      "Severity / bounds", "History"].map((c) => h("th", {scope: "col"}, c)))), h("tbody", {}, ...rows));
  }

  function exportsList(node) {
    if (!node.exports.length) return P.empty("No exports from this node.");
    const rows = node.exports.map((e) => {
      const byRun = {};
      for (const [run, status, nrows, , message] of e.history) byRun[run] = [status, nrows, message];
      const latest = [...P.runsOldest].reverse().map((r) => byRun[r.run_id]).find(Boolean);
      return h("tr", {"data-export": e.unique_id},
        h("td", {}, P.badge(latest ? latest[0] : "none")), h("th", {scope: "row"}, e.name),
        h("td", {}, e.kind), h("td", {}, h("code", {}, e.destination)),
        h("td", {class: "num"}, latest && latest[1] !== null && latest[1] !== undefined ? String(latest[1]) : ""),
        h("td", {}, P.checkStrip(e.unique_id, byRun)),
        h("td", {class: "msg"}, latest && latest[0] !== "success" ? latest[2] : ""));
    });
    return h("table", {class: "exports"}, h("thead", {}, h("tr", {}, ...["Latest", "Export", "Kind", "Destination",
      "Rows", "History", "Message"].map((c) => h("th", {scope: "col"}, c)))), h("tbody", {}, ...rows));
  }

  function chartsList(node) {
    return h("div", {class: "charts"}, ...node.charts.map((c) => h("figure", {class: "chart", "data-chart": c.unique_id},
      c.image ? h("img", {src: c.image, alt: c.title || c.name}) : P.empty("Not rendered yet: pds build renders it."),
      h("figcaption", {}, h("strong", {}, c.title || c.name),
        c.rendered_at ? ` · rendered ${P.fmtTime(c.rendered_at)}` : "",
        c.files && c.files.length ? [" · ", ...c.files.map((f) => h("code", {}, f))] : "",
        c.description ? h("p", {}, c.description) : ""))));
  }

  function runsOfNode(node) {
    const hist = P.nodeHistory(node.unique_id);
    if (!hist.length) return P.empty("Not in any recorded run yet.");
    const recent = hist.slice(-12).reverse();
    return [P.sparkline(hist.map((r) => r.time), hist.map((r) => r.status),
                        {width: 320, height: 48, label: `duration of ${node.name} per run`}),
      h("table", {class: "node-runs"}, h("thead", {}, h("tr", {}, ...["Run", "Status", "Duration", "Rows"]
        .map((c) => h("th", {scope: "col"}, c)))),
        h("tbody", {}, ...recent.map((r) => h("tr", {},
          h("td", {}, h("a", {href: P.runHref(r.run.run_id)}, P.fmtTime(r.run.started_at))),
          h("td", {}, P.badge(r.status)), h("td", {class: "num"}, P.fmtSeconds(r.time)),
          h("td", {class: "num"}, r.rows === null || r.rows === undefined ? "" : String(r.rows))))))];
  }

  /** Render the page of node `uid` into `main`. */
  P.renderNode = function (main, uid) {
    const node = P.data.nodes[uid];
    if (!node) { main.appendChild(P.empty(`No node ${uid} in this project.`)); return; }
    const status = P.nodeStatus(node.last);
    main.appendChild(h("header", {class: "page-head"},
      h("p", {class: "kicker"}, node.resource_type),
      h("h1", {}, node.name, " ", P.badge(status)),
      node.description ? h("p", {class: "description"}, node.description)
                       : h("p", {class: "description muted"}, "No description.")));
    main.appendChild(P.section("Details", "details", facts(node)));
    const graphCard = P.section("Lineage", "lineage",
      h("p", {class: "hint"}, "This node's lineage: upstream in purple, downstream in teal; click a node to open it."));
    graphCard.classList.add("graph-card");
    main.appendChild(graphCard);
    const {up, down} = P.reach(uid, P.data.nodes);
    const positions = P.focusLayout(new Set([uid, ...up, ...down]), P.data.nodes, P.data.layout.gaps);
    const graph = new P.Graph(graphCard, P.data, {positions, onOpen: (id) => P.go(P.nodeHref(id))});
    graph.highlight(uid);
    requestAnimationFrame(() => graph.fit(graph.focusSet));
    P.currentGraph = graph;
    const related = (title, ids) => h("div", {class: "related"}, h("h3", {}, title),
      ids.length ? h("ul", {class: "refs"}, ...ids.map((id) => h("li", {}, nodeLink(id)))) : P.empty("none"));
    graphCard.appendChild(h("div", {class: "related-row"}, related("Parents", node.parents),
                            related("Children", node.children)));
    if (node.charts && node.charts.length) main.appendChild(P.section("Charts", "charts", chartsList(node)));
    main.appendChild(P.section("Columns", "columns", columnsTable(node)));
    main.appendChild(P.section("Tests, checks and metrics", "tests", testsTable(node)));
    main.appendChild(P.section(node.resource_type === "seed" ? "Data" : "Code", "code", ...codeBlock(node)));
    main.appendChild(P.section("Config", "config", h("pre", {class: "code config"},
                                                       JSON.stringify(node.config || {}, null, 2))));
    main.appendChild(P.section("Exports", "exports", exportsList(node)));
    main.appendChild(P.section("Runs", "runs", ...[].concat(runsOfNode(node))));
  };
})(window.Pds);
