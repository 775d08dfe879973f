/* cairn's graph view: places the boxes of a server-drawn SVG graph to fill its pane,
   with pan (drag), zoom (wheel, + and -) and fit; live state changes; clicks select.
   No dependencies, no network. Used by `cairn graph -o graph.html` and `cairn ui`. */
(function (root) {
  "use strict";
  var W = 220, H = 62, MARGIN = 24;

  function formatSeconds(s) {
    if (typeof s !== "number" || !isFinite(s) || s < 0) { return ""; }
    if (s < 0.1) { return Math.round(s * 1000) + " ms"; }
    if (s < 9.95) { return s.toFixed(1) + " s"; }
    if (s < 59.95) { return Math.round(s) + " s"; }
    var total = Math.round(s), minutes = Math.floor(total / 60), secs = total % 60;
    var hours = Math.floor(minutes / 60);
    if (hours) { return hours + " h " + (minutes % 60) + " min"; }
    return secs ? minutes + " min " + secs + " s" : minutes + " min";
  }

  function CairnGraph(svg, options) {
    options = options || {};
    var self = this;
    this.svg = svg;
    this.colours = options.colours || {};
    this.onSelect = options.onSelect || function () {};
    this.viewport = svg.querySelector("g.viewport");
    this.nodes = {};
    this.list = [];
    var maxLayer = 0, maxRow = 0;
    svg.querySelectorAll("g.node").forEach(function (g) {
      var n = {
        el: g, id: g.getAttribute("data-task-id"),
        layer: +g.getAttribute("data-layer"), row: +g.getAttribute("data-row"),
        rect: g.querySelector("rect"), status: g.querySelector("text.status")
      };
      maxLayer = Math.max(maxLayer, n.layer);
      maxRow = Math.max(maxRow, n.row);
      self.nodes[n.id] = n;
      self.list.push(n);
    });
    this.edges = Array.prototype.map.call(svg.querySelectorAll("path.edge"), function (p) {
      return { el: p, from: p.getAttribute("data-from"), to: p.getAttribute("data-to") };
    });
    this.layers = maxLayer + 1;
    this.rows = Math.ceil(maxRow) + 1;
    this.scale = 1; this.tx = 0; this.ty = 0;
    svg.removeAttribute("viewBox");
    svg.setAttribute("width", "100%");
    svg.setAttribute("height", "100%");
    this._interact();
    this.place();
    var timer = null;
    root.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { self.place(); }, 100);
    });
  }

  CairnGraph.prototype.pane = function () {
    var box = this.svg.parentElement.getBoundingClientRect();
    return { w: Math.max(box.width, 200), h: Math.max(box.height, 150) };
  };

  /* Choose the direction (left to right, or top down) that needs the least shrinking,
     spread the boxes over the pane, and fit. */
  CairnGraph.prototype.place = function () {
    var pane = this.pane(), L = this.layers, R = this.rows;
    var lr = this._need(L, R, 40, 16), tb = this._need(R, L, 24, 26);
    this.down = tb.scale > lr.scale * 1.15;
    var chosen = this.down ? tb : lr;
    var w = chosen.w, scale = Math.min(chosen.scale, 1.5);
    var availW = pane.w / scale - 2 * MARGIN, availH = pane.h / scale - 2 * MARGIN;
    var cols = this.down ? R : L, rows = this.down ? L : R;
    var minX = this.down ? 24 : 40, minY = this.down ? 26 : 16;
    var gapX = cols > 1 ? Math.min(Math.max(minX, (availW - cols * w) / (cols - 1)), 2.5 * w) : 0;
    var gapY = rows > 1 ? Math.min(Math.max(minY, (availH - rows * H) / (rows - 1)), 3 * H) : 0;
    var down = this.down, self = this;
    this.w = w;
    this.list.forEach(function (n) {
      var col = down ? n.row : n.layer, row = down ? n.layer : n.row;
      n.x = MARGIN + col * (w + gapX);
      n.y = MARGIN + row * (H + gapY);
      n.el.setAttribute("transform", "translate(" + n.x.toFixed(1) + "," + n.y.toFixed(1) + ")");
    });
    this._width(w);
    this.edges.forEach(function (e) {
      var a = self.nodes[e.from], b = self.nodes[e.to], d;
      if (!a || !b) { return; }
      if (down) {
        var x1 = a.x + w / 2, y1 = a.y + H, x2 = b.x + w / 2, y2 = b.y, m = (y2 - y1) / 2;
        d = "M" + x1 + " " + y1 + " C" + x1 + " " + (y1 + m) + " " + x2 + " " + (y2 - m) +
          " " + x2 + " " + y2;
      } else {
        var u1 = a.x + w, v1 = a.y + H / 2, u2 = b.x, v2 = b.y + H / 2, k = (u2 - u1) / 2;
        d = "M" + u1 + " " + v1 + " C" + (u1 + k) + " " + v1 + " " + (u2 - k) + " " + v2 +
          " " + u2 + " " + v2;
      }
      e.el.setAttribute("d", d);
    });
    var maxX = 0, maxY = 0;
    this.list.forEach(function (n) {
      maxX = Math.max(maxX, n.x + w);
      maxY = Math.max(maxY, n.y + H);
    });
    this.bounds = { w: maxX + MARGIN, h: maxY + MARGIN };
    this.fit();
  };

  /* The box width and scale for `cols` columns and `rows` rows at the smallest gaps:
     boxes narrow (down to 150) before the drawing shrinks. */
  CairnGraph.prototype._need = function (cols, rows, gapX, gapY) {
    var pane = this.pane();
    var h = rows * H + (rows - 1) * gapY + 2 * MARGIN;
    var fitW = (pane.w - 2 * MARGIN - (cols - 1) * gapX) / cols;
    var w = Math.max(150, Math.min(W, fitW));
    var width = cols * w + (cols - 1) * gapX + 2 * MARGIN;
    var scale = Math.min(pane.w / width, pane.h / h);
    if (w < W && scale < 0.6) {  // too small to read anyway: keep whole boxes (no cutting)
      w = W;
      scale = Math.min(pane.w / (cols * W + (cols - 1) * gapX + 2 * MARGIN), pane.h / h);
    }
    return { w: w, scale: scale };
  };

  /* Boxes `w` wide; texts that no longer fit are cut with an ellipsis (kept whole in
     data-full). */
  CairnGraph.prototype._width = function (w) {
    if (this._drawnWidth === w) { return; }
    var cut = w < W || (this._drawnWidth !== undefined && this._drawnWidth < W);
    this._drawnWidth = w;
    this.list.forEach(function (n) {
      n.rect.setAttribute("width", w);
      if (!cut) { return; }
      n.el.querySelectorAll("text.name, text.detail").forEach(function (t) {
        var full = t.getAttribute("data-full");
        if (full === null) { full = t.textContent; t.setAttribute("data-full", full); }
        t.textContent = full;
        var room = w - 14;
        if (t.getComputedTextLength() <= room) { return; }
        var keep = Math.max(1, Math.floor(full.length * room / t.getComputedTextLength()));
        while (keep > 1) {
          t.textContent = full.slice(0, keep - 1) + "\u2026";
          if (t.getComputedTextLength() <= room) { break; }
          keep -= 1;
        }
      });
    });
  };

  CairnGraph.prototype.fit = function () {
    var pane = this.pane(), b = this.bounds;
    var s = Math.min(pane.w / b.w, pane.h / b.h, 1.5);
    this.scale = s;
    this.tx = (pane.w - b.w * s) / 2;
    this.ty = (pane.h - b.h * s) / 2;
    this._apply();
  };

  CairnGraph.prototype.zoom = function (factor, cx, cy) {
    var pane = this.pane();
    if (cx === undefined) { cx = pane.w / 2; cy = pane.h / 2; }
    var s = Math.min(Math.max(this.scale * factor, 0.02), 8);
    this.tx = cx - (cx - this.tx) * (s / this.scale);
    this.ty = cy - (cy - this.ty) * (s / this.scale);
    this.scale = s;
    this._apply();
  };

  CairnGraph.prototype._apply = function () {
    this.viewport.setAttribute("transform", "translate(" + this.tx.toFixed(1) + "," +
      this.ty.toFixed(1) + ") scale(" + this.scale.toFixed(4) + ")");
  };

  CairnGraph.prototype.select = function (id) {
    this.list.forEach(function (n) { n.el.classList.toggle("selected", n.id === id); });
  };

  /* A task's state changed (live view): colour, data-state and its status line. */
  CairnGraph.prototype.setState = function (id, state, seconds) {
    var n = this.nodes[id];
    if (!n) { return; }
    n.el.setAttribute("data-state", state);
    n.rect.setAttribute("fill", this.colours[state] || "#ffffff");
    var shown = formatSeconds(seconds);
    if (n.status) { n.status.textContent = shown ? state + " \u00b7 " + shown : state; }
  };

  CairnGraph.prototype._interact = function () {
    var self = this, svg = this.svg, drag = null;
    svg.addEventListener("mousedown", function (e) {
      drag = { x: e.clientX, y: e.clientY, tx: self.tx, ty: self.ty, moved: false };
    });
    root.addEventListener("mousemove", function (e) {
      if (!drag) { return; }
      var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 4) { drag.moved = true; }
      if (drag.moved) {
        self.tx = drag.tx + dx; self.ty = drag.ty + dy; self._apply();
        svg.classList.add("panning");
      }
    });
    root.addEventListener("mouseup", function () {
      if (drag && drag.moved) { self._justPanned = true; }
      drag = null;
      svg.classList.remove("panning");
    });
    svg.addEventListener("wheel", function (e) {
      e.preventDefault();
      var box = svg.getBoundingClientRect();
      self.zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - box.left, e.clientY - box.top);
    }, { passive: false });
    svg.addEventListener("click", function (e) {
      if (self._justPanned) { self._justPanned = false; return; }
      var g = e.target.closest ? e.target.closest("g.node") : null;
      if (g) { self.onSelect(g.getAttribute("data-task-id")); }
    });
    svg.addEventListener("keydown", function (e) {
      var g = e.target.closest ? e.target.closest("g.node") : null;
      if (g && (e.key === "Enter" || e.key === " ")) {
        self.onSelect(g.getAttribute("data-task-id"));
      }
    });
  };

  /* Buttons "fit", "+" and "-" in `bar` (an element) for `graph`. */
  CairnGraph.prototype.controls = function (bar) {
    var self = this;
    [["fit", "Fit", function () { self.fit(); }],
     ["zoom-in", "+", function () { self.zoom(1.25); }],
     ["zoom-out", "\u2212", function () { self.zoom(1 / 1.25); }]].forEach(function (b) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "cairn-" + b[0];
      button.textContent = b[1];
      button.addEventListener("click", b[2]);
      bar.appendChild(button);
    });
  };

  root.CairnGraph = CairnGraph;
  root.cairnFormatSeconds = formatSeconds;
})(window);
