/* pds docs: the lineage graph. Positions come from the generator (a layered layout computed in
   Python); this draws them as SVG and adds pan (drag), zoom (wheel, buttons, + - 0 keys), search
   matches, and upstream/downstream highlighting. Labels hide when zoomed far out, so 500+
   nodes stay smooth. */
"use strict";
(function (P) {
  const s = P.s, h = P.h;
  const W = 200, H = 28, MIN_K = 0.05, MAX_K = 3;
  const KIND = {model: "model", seed: "seed", source: "source"};

  function label(node) {
    const text = node.name;
    return text.length > 25 ? text.slice(0, 24) + "…" : text;
  }

  function tag(node) {
    if (node.resource_type === "model") return node.language === "python" ? "py" : (node.materialized || "");
    return KIND[node.resource_type] || "";
  }

  /**
   * Positions for just `uids` (a node's lineage): layers by longest path inside the subset, each layer
   * in the project layout's top-to-bottom order, centred; so a lineage in a big project is drawn compactly.
   */
  P.focusLayout = function (uids, nodes, gaps) {
    const order = [...uids].filter((id) => nodes[id]).sort((a, b) => nodes[a].layer - nodes[b].layer);
    const layer = new Map();
    for (const id of order) {  // the project's layers are a topological order
      let l = 0;
      for (const parent of nodes[id].parents) if (layer.has(parent)) l = Math.max(l, layer.get(parent) + 1);
      layer.set(id, l);
    }
    const groups = [];
    for (const id of order) (groups[layer.get(id)] = groups[layer.get(id)] || []).push(id);
    const tallest = Math.max(...groups.map((g) => g.length));
    const pos = {};
    groups.forEach((group, li) => {
      group.sort((a, b) => nodes[a].y - nodes[b].y);
      const offset = ((tallest - group.length) * gaps.y) / 2;
      group.forEach((id, i) => { pos[id] = {x: li * gaps.x, y: offset + i * gaps.y}; });
    });
    return pos;
  };

  /**
   * Draw the graph in `container`: every node of `data.nodes`, or only opts.positions' nodes at
   * those positions. opts.onOpen(uid) is called on click or Enter.
   */
  P.Graph = function (container, data, opts) {
    this.data = data;
    this.opts = opts || {};
    this.pos = this.opts.positions || data.nodes;
    this.t = {x: 0, y: 0, k: 1};
    this.els = new Map();
    this.edgeEls = [];
    this.svg = s("svg", {class: "graph", role: "group", "aria-label": "lineage graph (drag to pan, wheel to zoom)"});
    this.view = s("g", {class: "viewport"});
    const edges = s("g", {class: "edges"}), nodes = s("g", {class: "nodes"});
    for (const [from, to] of data.edges) {
      const a = this.pos[from], b = this.pos[to];
      if (!a || !b) continue;
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
      const path = s("path", {class: "edge", d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
                              "data-from": from, "data-to": to});
      edges.appendChild(path);
      this.edgeEls.push(path);
    }
    const order = Object.keys(this.pos).map((id) => data.nodes[id])
      .sort((a, b) => this.pos[a.unique_id].x - this.pos[b.unique_id].x || this.pos[a.unique_id].y - this.pos[b.unique_id].y);
    for (const node of order) {
      const at = this.pos[node.unique_id];
      const status = P.nodeStatus(node.last);
      const g = s("g", {class: `node type-${node.resource_type} status-${status}`, "data-uid": node.unique_id,
                        "data-name": node.name, transform: `translate(${at.x},${at.y})`, tabindex: "0",
                        role: "link", "aria-label": `${node.resource_type} ${node.name}, ${P.STATUS_LABEL[status]}`},
                  s("title", {}, `${node.name} (${node.resource_type}) — ${P.STATUS_LABEL[status]}`),
                  s("rect", {class: "box", width: W, height: H, rx: 6}),
                  s("rect", {class: "stripe", x: 0.6, y: 0.6, width: 6, height: H - 1.2, rx: 2}),
                  s("text", {class: "label", x: 13, y: 18}, label(node)),
                  s("text", {class: "tag", x: W - 8, y: 18, "text-anchor": "end"}, tag(node)));
      nodes.appendChild(g);
      this.els.set(node.unique_id, g);
    }
    this.view.append(edges, nodes);
    this.svg.appendChild(this.view);
    this.toolbar = h("div", {class: "graph-tools", role: "toolbar", "aria-label": "graph controls"},
      h("button", {type: "button", class: "zoom-in", title: "Zoom in (+)", "aria-label": "Zoom in",
                   onclick: () => this.zoomBy(1.3)}, "+"),
      h("button", {type: "button", class: "zoom-out", title: "Zoom out (−)", "aria-label": "Zoom out",
                   onclick: () => this.zoomBy(1 / 1.3)}, "−"),
      h("button", {type: "button", class: "zoom-fit", title: "Fit (0)", "aria-label": "Fit to view",
                   onclick: () => this.fit(this.focusSet)}, "Fit"),
      legend());
    this.root = h("div", {class: "graph-wrap"}, this.toolbar, this.svg);
    container.appendChild(this.root);
    this.bind();
  };

  function legend() {
    const items = ["success", "warn", "fail", "error", "skipped", "none"].map((st) =>
      h("span", {class: "legend-item"}, h("span", {class: "swatch status-" + st}), P.STATUS_LABEL[st]));
    return h("span", {class: "legend", "aria-label": "colour by last status"}, ...items);
  }

  P.Graph.prototype.apply = function () {
    const {x, y, k} = this.t;
    this.view.setAttribute("transform", `translate(${x.toFixed(1)},${y.toFixed(1)}) scale(${k.toFixed(4)})`);
    this.svg.classList.toggle("lod-low", k < 0.42);
    this.svg.setAttribute("data-zoom", k.toFixed(3));
  };

  P.Graph.prototype.zoomBy = function (factor, cx, cy) {
    const rect = this.svg.getBoundingClientRect();
    const px = cx === undefined ? rect.width / 2 : cx, py = cy === undefined ? rect.height / 2 : cy;
    const k = Math.min(MAX_K, Math.max(MIN_K, this.t.k * factor));
    this.t.x = px - ((px - this.t.x) * k) / this.t.k;
    this.t.y = py - ((py - this.t.y) * k) / this.t.k;
    this.t.k = k;
    this.apply();
  };

  /** Fit the given node ids (or every node) into view. */
  P.Graph.prototype.fit = function (uids) {
    const list = uids && uids.size ? [...uids] : Object.keys(this.pos);
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const uid of list) {
      const n = this.pos[uid];
      if (!n) continue;
      x0 = Math.min(x0, n.x); y0 = Math.min(y0, n.y); x1 = Math.max(x1, n.x + W); y1 = Math.max(y1, n.y + H);
    }
    if (x0 === Infinity) return;
    const rect = this.svg.getBoundingClientRect();
    const top = this.toolbar.offsetHeight + 12;  // keep nodes clear of the toolbar
    const vw = rect.width || 800, vh = (rect.height || 500) - top, padding = 24;
    const k = Math.min(1.2, Math.max(MIN_K, Math.min((vw - 2 * padding) / (x1 - x0), (vh - 2 * padding) / (y1 - y0))));
    this.t = {k, x: vw / 2 - ((x0 + x1) / 2) * k, y: top + vh / 2 - ((y0 + y1) / 2) * k};
    this.apply();
  };

  P.Graph.prototype.bind = function () {
    let drag = null;
    this.svg.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const rect = this.svg.getBoundingClientRect();
      this.zoomBy(Math.exp(-ev.deltaY * 0.0015), ev.clientX - rect.left, ev.clientY - rect.top);
    }, {passive: false});
    this.svg.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) return;
      drag = {x: ev.clientX, y: ev.clientY, tx: this.t.x, ty: this.t.y, moved: false, id: ev.pointerId};
    });
    this.svg.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) > 4) {
        drag.moved = true;
        this.svg.setPointerCapture(drag.id);
        this.svg.classList.add("dragging");
      }
      if (drag.moved) { this.t.x = drag.tx + dx; this.t.y = drag.ty + dy; this.apply(); }
    });
    const end = (ev) => {
      if (!drag) return;
      const moved = drag.moved;
      drag = null;
      this.svg.classList.remove("dragging");
      if (moved || ev.type !== "pointerup") return;
      const g = ev.target.closest && ev.target.closest("g.node");
      if (g && this.opts.onOpen) this.opts.onOpen(g.getAttribute("data-uid"));
    };
    this.svg.addEventListener("pointerup", end);
    this.svg.addEventListener("pointercancel", end);
    this.svg.addEventListener("keydown", (ev) => {
      const g = ev.target.closest && ev.target.closest("g.node");
      if (ev.key === "Enter" && g && this.opts.onOpen) { ev.preventDefault(); this.opts.onOpen(g.getAttribute("data-uid")); }
      else if (ev.key === "+" || ev.key === "=") this.zoomBy(1.3);
      else if (ev.key === "-" || ev.key === "_") this.zoomBy(1 / 1.3);
      else if (ev.key === "0") this.fit(this.focusSet);
    });
    this.svg.addEventListener("focusin", (ev) => {  // keep a node reached with Tab on screen
      const g = ev.target.closest && ev.target.closest("g.node");
      if (!g) return;
      this.reveal(g.getAttribute("data-uid"));
      if (this.opts.hoverHighlight) this.preview(g.getAttribute("data-uid"));
    });
    if (!this.opts.hoverHighlight) return;
    this.svg.addEventListener("pointerover", (ev) => {  // the whole project: hovering shows a node's lineage
      const g = ev.target.closest && ev.target.closest("g.node");
      if (g && !drag) this.preview(g.getAttribute("data-uid"));
    });
    this.svg.addEventListener("pointerout", (ev) => {
      const into = ev.relatedTarget && ev.relatedTarget.closest && ev.relatedTarget.closest("g.node");
      if (!into && !drag) this.preview(null);
    });
    this.svg.addEventListener("focusout", () => this.preview(null));
  };

  /** Show (or, with null, stop showing) a node's lineage while it is hovered or focused. */
  P.Graph.prototype.preview = function (uid) {
    if (uid === this.previewing) return;
    this.previewing = uid;
    if (uid) this.highlight(uid);
    else { this.clear(); this.search(this.query); }
  };

  /** Pan so the node is visible (keyboard navigation), without changing the zoom. */
  P.Graph.prototype.reveal = function (uid) {
    const n = this.pos[uid];
    if (!n) return;
    const rect = this.svg.getBoundingClientRect();
    const sx = n.x * this.t.k + this.t.x, sy = n.y * this.t.k + this.t.y;
    if (sx < 0 || sy < 0 || sx + W * this.t.k > rect.width || sy + H * this.t.k > rect.height) {
      this.t.x = rect.width / 2 - (n.x + W / 2) * this.t.k;
      this.t.y = rect.height / 2 - (n.y + H / 2) * this.t.k;
      this.apply();
    }
  };

  /** Mark `uid`, its upstream and downstream nodes and the edges between them; dim the rest. */
  P.Graph.prototype.highlight = function (uid) {
    const {up, down} = P.reach(uid, this.data.nodes);
    this.focusSet = new Set([uid, ...up, ...down]);
    for (const [id, g] of this.els) {
      g.classList.toggle("selected", id === uid);
      g.classList.toggle("upstream", up.has(id));
      g.classList.toggle("downstream", down.has(id));
      g.classList.toggle("dimmed", !this.focusSet.has(id));
      g.classList.remove("match");
    }
    const upSide = new Set([uid, ...up]), downSide = new Set([uid, ...down]);
    for (const e of this.edgeEls) {
      const a = e.getAttribute("data-from"), b = e.getAttribute("data-to");
      const active = (upSide.has(a) && upSide.has(b)) || (downSide.has(a) && downSide.has(b));
      e.classList.toggle("active", active);
      e.classList.toggle("dimmed", !active);
    }
    return {up, down};
  };

  P.Graph.prototype.clear = function () {
    this.focusSet = null;
    for (const g of this.els.values()) g.classList.remove("selected", "upstream", "downstream", "dimmed", "match");
    for (const e of this.edgeEls) e.classList.remove("active", "dimmed");
  };

  /** Mark the nodes whose name contains `query` (case-insensitive); returns their ids. */
  P.Graph.prototype.search = function (query) {
    this.query = query;
    const q = (query || "").trim().toLowerCase();
    const hits = [];
    for (const [id, g] of this.els) {
      const hit = q !== "" && g.getAttribute("data-name").toLowerCase().includes(q);
      if (hit) hits.push(id);
      g.classList.toggle("match", hit);
      if (!this.focusSet) g.classList.toggle("dimmed", q !== "" && !hit);
    }
    if (!this.focusSet) for (const e of this.edgeEls) e.classList.toggle("dimmed", q !== "");
    return hits;
  };
})(window.Pds);
