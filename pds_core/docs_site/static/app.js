/* pds docs: start-up, the sidebar and search, keyboard shortcuts, and routing on location.hash. */
"use strict";
(function (P) {
  const h = P.h;
  const data = window.PDS_DOCS;
  P.data = data;
  const main = document.getElementById("main");
  const search = document.getElementById("search");
  const sidebar = document.getElementById("sidebar");

  P.go = (hash) => { if (location.hash === hash) route(); else location.hash = hash; };

  function header() {
    const meta = data.meta;
    document.title = `${meta.project} · pds docs`;
    document.getElementById("project-name").textContent = meta.project || "";
    document.getElementById("target-info").textContent =
      `target ${meta.target.name || "?"} (${meta.target.type || "?"}) · ${Object.keys(data.nodes).length} nodes`;
    if (meta.history_problem) {
      document.getElementById("notice").replaceChildren(h("p", {class: "notice", role: "status"}, meta.history_problem));
    }
  }

  const GROUPS = [["model", "Models"], ["seed", "Seeds"], ["source", "Sources"]];
  const sideLinks = [];

  function buildSidebar() {
    for (const [type, title] of GROUPS) {
      const nodes = Object.values(data.nodes).filter((n) => n.resource_type === type)
        .sort((a, b) => a.name.localeCompare(b.name));
      if (!nodes.length) continue;
      const list = h("ul", {});
      for (const n of nodes) {
        const a = h("a", {href: P.nodeHref(n.unique_id), class: "side-link status-" + P.nodeStatus(n.last),
                          "data-uid": n.unique_id, "data-name": n.name.toLowerCase()},
                    h("span", {class: "dot", "aria-hidden": "true"}), n.name);
        sideLinks.push(a);
        list.appendChild(h("li", {}, a));
      }
      sidebar.appendChild(h("details", {open: true, class: "side-group"},
        h("summary", {}, `${title} (${nodes.length})`), list));
    }
  }

  /** Filter the sidebar (and mark graph matches) by the search text; returns the visible links. */
  function applySearch() {
    const q = search.value.trim().toLowerCase();
    const visible = [];
    for (const a of sideLinks) {
      const hit = !q || a.getAttribute("data-name").includes(q);
      a.parentElement.hidden = !hit;
      if (hit) visible.push(a);
    }
    for (const group of sidebar.querySelectorAll(".side-group")) {
      group.hidden = !group.querySelector("li:not([hidden])");
    }
    if (P.currentGraph) {
      const hits = P.currentGraph.search(q);
      const status = document.getElementById("search-status");
      if (status) status.textContent = q ? `${hits.length} match${hits.length === 1 ? "" : "es"}` : "";
      if (q && hits.length && P.route === "lineage") P.currentGraph.fit(new Set(hits));
    }
    return visible;
  }

  function bindSearch() {
    search.addEventListener("input", applySearch);
    search.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        const first = applySearch()[0];
        if (search.value.trim() && first) { ev.preventDefault(); P.go(first.getAttribute("href")); }
      } else if (ev.key === "ArrowDown") {
        const first = applySearch()[0];
        if (first) { ev.preventDefault(); first.focus(); }
      } else if (ev.key === "Escape") {
        ev.preventDefault();
        if (search.value) { search.value = ""; applySearch(); } else search.blur();
      }
    });
    document.addEventListener("keydown", (ev) => {
      const typing = ev.target.matches && ev.target.matches("input, textarea, select");
      if (ev.key === "/" && !typing) { ev.preventDefault(); search.focus(); search.select(); }
      else if (ev.key === "Escape" && !typing) {
        search.value = "";
        applySearch();
        if (P.currentGraph && P.route === "lineage") P.currentGraph.clear();
      }
    });
    sidebar.addEventListener("keydown", (ev) => {  // arrow keys move through the visible links
      if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return;
      const visible = sideLinks.filter((a) => !a.parentElement.hidden);
      const i = visible.indexOf(document.activeElement);
      if (i < 0) return;
      ev.preventDefault();
      if (ev.key === "ArrowUp" && i === 0) search.focus();
      else (visible[ev.key === "ArrowDown" ? Math.min(i + 1, visible.length - 1) : i - 1]).focus();
    });
  }

  function renderLineage() {
    const head = h("header", {class: "page-head compact"}, h("h1", {}, "Lineage"),
      h("p", {class: "description"}, "Drag to pan, wheel or + / − to zoom, / to search. Hover or focus a node to see its lineage; " +
        "click or Enter opens it. ",
        h("span", {id: "search-status", role: "status", class: "muted"})));
    main.appendChild(head);
    const card = h("div", {class: "card graph-card full"});
    main.appendChild(card);
    if (!Object.keys(data.nodes).length) { card.appendChild(P.empty("This project has no models yet.")); return; }
    const graph = new P.Graph(card, data, {hoverHighlight: true, onOpen: (uid) => P.go(P.nodeHref(uid))});
    P.currentGraph = graph;
    requestAnimationFrame(() => { graph.fit(); applySearch(); });
  }

  function markNav(name) {
    for (const a of document.querySelectorAll("[data-nav]")) {
      if (a.getAttribute("data-nav") === name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    for (const a of sideLinks) {
      if (P.route === "node" && a.getAttribute("data-uid") === P.routeArg) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
  }

  function route() {
    const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ""));
    const [path, query] = hash.split("?");
    const slash = path.indexOf("/");
    const name = slash < 0 ? path : path.slice(0, slash), arg = slash < 0 ? "" : path.slice(slash + 1);
    const params = new URLSearchParams(query || "");
    main.replaceChildren();
    P.currentGraph = null;
    P.route = name || "lineage";
    P.routeArg = arg;
    if (name === "node") P.renderNode(main, arg);
    else if (name === "runs") P.renderRuns(main);
    else if (name === "run") P.renderRun(main, arg);
    else if (name === "checks") P.renderChecks(main, params.get("q"));
    else if (name === "metrics") P.renderMetrics(main);
    else if (name === "metric") P.renderMetric(main, arg);
    else { P.route = "lineage"; renderLineage(); }
    markNav({node: "lineage", run: "runs", metric: "metrics"}[P.route] || P.route);
    main.setAttribute("data-route", P.route);
    window.scrollTo(0, 0);
    if (!sidebar.contains(document.activeElement)) {
      main.focus({preventScroll: true});
    }
  }

  P.index(data);
  header();
  buildSidebar();
  bindSearch();
  window.addEventListener("hashchange", route);
  route();
  document.body.setAttribute("data-ready", "true");
})(window.Pds);
