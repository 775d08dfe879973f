/* cairn ui: the pages of one workspace. Plain script, no dependencies, no network but the
   server it came from. Pages: #/ (overview), #/family/F (runs), #/task/ID, #/diff/A/B,
   #/graph/ID (a stored task's graph), #/build/ID or #/build/latest (live). */
(function () {
  "use strict";
  var view = document.getElementById("view");
  var colours = {};
  var live = null;  // the EventSource of a live graph

  // --- helpers -------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; }
      else if (k === "onclick") { node.addEventListener("click", attrs[k]); }
      else if (attrs[k] !== null && attrs[k] !== undefined) { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) {
        node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
      }
    });
    return node;
  }
  function api(path) {
    return fetch(path, { headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error(data.error || r.statusText); }
        return data;
      });
    });
  }
  function bytes(n) {
    if (n === null || n === undefined || n === "") { return ""; }
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    n = Number(n);
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return i ? n.toFixed(1) + " " + units[i] : n + " B";
  }
  function when(iso) {
    if (!iso) { return ""; }
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return String(iso); }
    var pad = function (x) { return String(x).padStart(2, "0"); };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  function cell(value) {
    if (value === null || value === undefined) { return ""; }
    if (typeof value === "number") {
      return Number.isInteger(value) ? String(value) : String(+value.toPrecision(6));
    }
    return typeof value === "string" ? value : JSON.stringify(value);
  }
  function stateBadge(state, text) {
    return el("span", { "class": "state state-" + String(state).replace(/ /g, "-"),
      text: text || state });
  }
  function taskLink(id, text) {
    return el("a", { href: "#/task/" + id, text: text || id.slice(0, 12) });
  }
  function kvTable(rows) {
    return el("table", { "class": "grid kv" }, rows.map(function (r) {
      return el("tr", {}, [el("td", { text: r[0] }), el("td", {}, [
        typeof r[1] === "object" && r[1] !== null && r[1].nodeType ? r[1] : cell(r[1])])]);
    }));
  }
  function show(children, full) {
    if (live) { live.close(); live = null; }
    view.className = full ? "full" : "";
    view.replaceChildren.apply(view, children);
  }
  function failed(error) {
    show([el("h1", { text: "Not found" }), el("div", { "class": "error", text: error.message })]);
  }

  // --- overview ------------------------------------------------------------------------
  function overview() {
    return api("/api/overview").then(function (data) {
      colours = data.colours;
      document.getElementById("workspace").textContent = data.workspace;
      var families = el("table", { "class": "grid", id: "families" }, [
        el("tr", {}, ["family", "runs", "complete", "failed", "size", "last run"].map(
          function (h) { return el("th", { text: h }); }))
      ].concat(data.families.map(function (f) {
        return el("tr", {}, [
          el("td", {}, [el("a", { href: "#/family/" + encodeURIComponent(f.family),
            text: f.family })]),
          el("td", { "class": "num", text: f.runs }),
          el("td", { "class": "num", text: f.complete }),
          el("td", { "class": "num", text: f.failed }),
          el("td", { "class": "num", text: bytes(f.bytes) }),
          el("td", { text: when(f.last) })]);
      })));
      var builds = el("table", { "class": "grid", id: "builds" }, [
        el("tr", {}, ["build", "started", "tasks", "states", ""].map(function (h) {
          return el("th", { text: h });
        }))
      ].concat(data.builds.map(function (b) {
        return el("tr", {}, [
          el("td", {}, [el("a", { href: "#/build/" + b.build,
            text: (b.roots || []).join(", ") || b.build })]),
          el("td", { text: when(b.started) }),
          el("td", { "class": "num", text: b.tasks }),
          el("td", { text: Object.keys(b.counts).map(function (s) {
            return b.counts[s] + " " + s; }).join(", ") }),
          el("td", { text: b.finished ? "finished" : "running" })]);
      })));
      var failures = data.failures.length ? el("table", { "class": "grid", id: "failures" },
        data.failures.map(function (f) {
          return el("tr", {}, [el("td", {}, [taskLink(f.task_id, f.label || f.name)]),
            el("td", { text: f.summary }), el("td", { text: when(f.failed_at) })]);
        })) : el("p", { "class": "muted", text: "No failures." });
      show([
        el("h1", { text: "Workspace" }),
        el("div", { "class": "cards" }, [
          el("div", { "class": "card" }, [el("b", { text: data.tasks }), "stored runs"]),
          el("div", { "class": "card" }, [el("b", { text: data.families.length }), "families"]),
          el("div", { "class": "card" }, [el("b", { text: bytes(data.bytes) }), "of outputs"]),
          el("div", { "class": "card" }, [el("b", { text: data.failures.length }), "failed"])]),
        el("h2", { text: "Families" }),
        data.families.length ? families : el("p", { "class": "muted",
          text: "Nothing stored yet: build something into this workspace." }),
        el("h2", { text: "Recent builds" }),
        data.builds.length ? builds : el("p", { "class": "muted", text: "No builds logged." }),
        el("h2", { text: "Failures" }), failures]);
    });
  }

  // --- a family's runs: the results table ----------------------------------------------
  var HIDDEN = { family: true, record_path: true, task: true };
  function parseFilter(text) {
    var tests = [];
    text.split(/\s+and\s+|,/).map(function (s) { return s.trim(); }).filter(Boolean)
      .forEach(function (part) {
        var m = part.match(/^([\w.\-]+)\s*(<=|>=|!=|==|=|<|>|~)\s*(.+)$/);
        if (!m) {
          var needle = part.toLowerCase();
          tests.push(function (row) {
            return Object.keys(row).some(function (k) {
              return cell(row[k]).toLowerCase().indexOf(needle) >= 0;
            });
          });
          return;
        }
        var col = m[1], op = m[2], raw = m[3].replace(/^["']|["']$/g, "");
        var num = Number(raw), numeric = raw !== "" && !isNaN(num);
        tests.push(function (row) {
          var v = row[col];
          if (v === undefined || v === null) { return op === "!="; }
          var a = numeric && typeof v === "number" ? v : cell(v);
          var b = numeric && typeof v === "number" ? num : raw;
          switch (op) {
            case "<": return a < b;
            case "<=": return a <= b;
            case ">": return a > b;
            case ">=": return a >= b;
            case "!=": return a !== b;
            case "~": return cell(v).toLowerCase().indexOf(raw.toLowerCase()) >= 0;
            default: return a === b;
          }
        });
      });
    return function (row) { return tests.every(function (t) { return t(row); }); };
  }
  function family(name, params) {
    return api("/api/family/" + encodeURIComponent(name)).then(function (data) {
      var every = data.columns.filter(function (c) { return !HIDDEN[c]; });
      var state = { sort: params.sort || null, desc: params.desc === "1",
        filter: params.where || "", picked: [], ids: false };
      var columns = [];
      function pick() {  // upstream ids and empty columns only when asked for
        columns = every.filter(function (c) {
          if (state.ids) { return true; }
          if (/\.task(_id)?$/.test(c)) { return false; }
          return data.rows.some(function (r) { return r[c] !== null && r[c] !== undefined; });
        });
      }
      pick();
      var ids = el("input", { type: "checkbox", id: "show-ids" });
      ids.addEventListener("change", function () { state.ids = ids.checked; pick(); draw(); });
      var count = el("span", { "class": "muted", id: "count" });
      var input = el("input", { type: "text", id: "filter", value: state.filter,
        placeholder: "filter: lr < 0.1, state = failed, or any text" });
      var compare = el("button", { type: "button", id: "compare", text: "Compare two runs",
        disabled: "disabled" });
      var table = el("table", { "class": "grid", id: "runs" });
      compare.addEventListener("click", function () {
        if (state.picked.length === 2) {
          location.hash = "#/diff/" + state.picked[0] + "/" + state.picked[1];
        }
      });
      function draw() {
        var keep = parseFilter(state.filter);
        var rows = data.rows.filter(keep);
        if (state.sort) {
          var col = state.sort, sign = state.desc ? -1 : 1;
          rows = rows.slice().sort(function (a, b) {
            var x = a[col], y = b[col];
            if (x === y) { return 0; }
            if (x === null || x === undefined) { return 1; }
            if (y === null || y === undefined) { return -1; }
            return (x < y ? -1 : 1) * sign;
          });
        }
        count.textContent = rows.length + " of " + data.rows.length + " run(s)";
        var head = el("tr", {}, [el("th", { text: "" })].concat(columns.map(function (c) {
          var th = el("th", { "class": "sortable" + (state.sort === c ?
            (state.desc ? " sorted-desc" : " sorted-asc") : ""), text: c, "data-column": c });
          th.addEventListener("click", function () {
            if (state.sort === c) { state.desc = !state.desc; }
            else { state.sort = c; state.desc = false; }
            draw();
          });
          return th;
        })));
        table.replaceChildren.apply(table, [head].concat(rows.map(function (row) {
          var box = el("input", { type: "checkbox", "data-task-id": row.task_id });
          box.checked = state.picked.indexOf(row.task_id) >= 0;
          box.addEventListener("change", function () {
            state.picked = state.picked.filter(function (t) { return t !== row.task_id; });
            if (box.checked) { state.picked.push(row.task_id); }
            if (state.picked.length > 2) { state.picked.shift(); draw(); }
            if (state.picked.length === 2) { compare.removeAttribute("disabled"); }
            else { compare.setAttribute("disabled", "disabled"); }
          });
          return el("tr", { "data-task-id": row.task_id }, [el("td", {}, [box])].concat(
            columns.map(function (c) {
              var v = row[c];
              if (c === "task_id") { return el("td", {}, [taskLink(v)]); }
              if (c === "state") { return el("td", {}, [stateBadge(v)]); }
              if (c === "duration_s") {
                return el("td", { "class": "num", text: window.cairnFormatSeconds(v) });
              }
              if (c === "output_bytes") { return el("td", { "class": "num", text: bytes(v) }); }
              if (c === "start") { return el("td", { text: when(v) }); }
              if (/\.task_id$/.test(c) && v) { return el("td", {}, [taskLink(v)]); }
              return el("td", { "class": typeof v === "number" ? "num" : null,
                text: cell(v) });
            })));
        })));
      }
      input.addEventListener("input", function () { state.filter = input.value; draw(); });
      draw();
      show([el("h1", { text: name }),
        el("div", { "class": "toolbar" }, [input, compare, count,
          el("label", {}, [ids, " upstream ids and empty columns"])]), table]);
    });
  }

  // --- a task --------------------------------------------------------------------------
  function preview(entry, box) {
    if (entry.preview === "image") {
      box.replaceChildren(el("img", { src: entry.url, alt: entry.path }));
      return;
    }
    function load() {
      box.replaceChildren(el("span", { "class": "muted", text: "loading…" }));
      api("/api/preview/" + entry.url.split("/").slice(3).join("/")).then(function (p) {
        var parts = [];
        if (p.kind === "frame") {
          parts.push(el("div", { "class": "muted", text: p.shape.join(" × ") + " frame" }));
          parts.push(el("table", { "class": "grid frame" }, [
            el("tr", {}, p.columns.map(function (c) { return el("th", { text: c }); })),
            el("tr", { "class": "dtypes" }, p.dtypes.map(function (t) {
              return el("td", { "class": "muted", text: t }); }))
          ].concat(p.rows.map(function (r) {
            return el("tr", {}, r.map(function (v) { return el("td", { text: cell(v) }); }));
          }))));
        } else if (p.kind === "array") {
          parts.push(el("div", { "class": "muted", text: p.dtype + " array " +
            p.shape.join(" × ") }));
          parts.push(el("pre", { text: p.text }));
        } else if (p.kind === "text") {
          parts.push(el("pre", { text: p.text }));
        } else {
          parts.push(el("div", { "class": "muted", text: p.type }));
          parts.push(el("pre", { text: p.text }));
        }
        box.replaceChildren.apply(box, parts);
      }).catch(function (e) { box.replaceChildren(el("div", { "class": "error",
        text: e.message })); });
    }
    if (entry.preview === "unsafe") {
      box.replaceChildren(el("button", { type: "button", text:
        "Load a preview (unpickles the file: only for stores you trust)", onclick: load }));
    } else {
      load();
    }
  }
  function task(id) {
    return api("/api/task/" + id).then(function (t) {
      var r = t.record || {};
      var parts = [
        el("h1", {}, [t.name + " ", stateBadge(t.state)]),
        el("div", { "class": "toolbar" }, [el("span", { "class": "muted", text: t.task_id }),
          el("a", { href: "#/graph/" + t.task_id, text: "graph" }),
          el("a", { href: "#/family/" + encodeURIComponent(t.family), text: "all runs of " +
            t.name })])];
      var params = r.params || (t.failure || {}).params || {};
      var left = [el("h2", { text: "Parameters" }), kvTable(Object.keys(params).map(
        function (k) {
          var v = params[k];
          if (v && typeof v === "object" && v.task_id) {
            return [k, taskLink(v.task_id, String(v.task).split(".").pop() + " #" +
              v.task_id.slice(0, 8))];
          }
          return [k, v];
        }))];
      var metrics = r.metrics || (t.failure || {}).metrics || {};
      if (Object.keys(metrics).length) {
        left.push(el("h2", { text: "Metrics" }));
        left.push(kvTable(Object.keys(metrics).map(function (k) { return [k, metrics[k]]; })));
      }
      var right = [el("h2", { text: "Run" }), kvTable([
        ["family", t.family], ["started", when(r.start || (t.failure || {}).failed_at)],
        ["duration", t.duration], ["seed", r.seed], ["attempt", r.attempt],
        ["host", (r.environment || {}).host], ["python", (r.environment || {}).python],
        ["code", (r.code || {}).fingerprint], ["record", t.record_path]].filter(function (x) {
          return x[1] !== undefined && x[1] !== null && x[1] !== ""; }))];
      right.push(el("h2", { text: "Upstream" }));
      right.push(t.upstream.length ? el("ul", {}, t.upstream.map(function (u) {
        return el("li", {}, [taskLink(u.task_id, u.name + " #" + u.task_id.slice(0, 8))]);
      })) : el("p", { "class": "muted", text: "none" }));
      right.push(el("h2", { text: "Downstream" }));
      right.push(t.downstream.length ? el("ul", {}, t.downstream.map(function (u) {
        return el("li", {}, [taskLink(u.task_id, u.name + " #" + u.task_id.slice(0, 8))]);
      })) : el("p", { "class": "muted", text: "none stored" }));
      parts.push(el("div", { "class": "two" }, [el("div", {}, left), el("div", {}, right)]));
      if (t.failure) {
        parts.push(el("h2", { text: "Failure" }));
        parts.push(el("div", { "class": "error", text: t.failure.error + ": " +
          t.failure.message + (t.failure.location ? " at " + t.failure.location : "") }));
        parts.push(el("pre", { "class": "traceback", id: "traceback",
          text: t.failure.user_traceback || t.failure.traceback || "(none)" }));
      }
      if (t.outputs.length) {
        parts.push(el("h2", { text: "Outputs" }));
        t.outputs.forEach(function (o) {
          var box = el("div", { "class": "preview" });
          parts.push(el("div", {}, [el("b", { text: o.key || "output" }), " ",
            el("span", { "class": "muted", text: o.path + " · " + bytes(o.size) +
              (o.type ? " · " + o.type : "") })]));
          parts.push(box);
          preview(o, box);
        });
      }
      var log = r.log || (t.failure || {}).log || [];
      parts.push(el("h2", { text: "Log" }));
      parts.push(el("pre", { id: "log", text: log.length ? log.join("\n") : "(empty)" }));
      var code = (r.code || {}).components || {};
      if (Object.keys(code).length) {
        parts.push(el("h2", { text: "Code" }));
        parts.push(kvTable(Object.keys(code).map(function (k) { return [k, code[k]]; })));
      }
      show(parts);
    });
  }

  // --- two runs side by side -----------------------------------------------------------
  function diff(a, b) {
    return api("/api/diff/" + a + "/" + b).then(function (d) {
      var only = el("input", { type: "checkbox", id: "only-diff" });
      only.checked = true;
      var body = el("div", {});
      function draw() {
        var parts = [];
        Object.keys(d.sections).forEach(function (name) {
          var rows = d.sections[name].filter(function (r) { return !only.checked || r[3]; });
          parts.push(el("h2", { text: name }));
          if (!rows.length) {
            parts.push(el("p", { "class": "muted", text: only.checked ? "no differences" :
              "nothing" }));
            return;
          }
          parts.push(el("table", { "class": "grid diff", "data-section": name }, [
            el("tr", {}, [el("th", { text: "" }), el("th", { text: "A" }),
              el("th", { text: "B" })])
          ].concat(rows.map(function (r) {
            return el("tr", { "class": r[3] ? "differs" : null }, [el("td", { text: r[0] }),
              el("td", { text: cell(r[1]) }), el("td", { text: cell(r[2]) })]);
          }))));
        });
        body.replaceChildren.apply(body, parts);
      }
      only.addEventListener("change", draw);
      draw();
      show([el("h1", { text: "Compare runs" }),
        el("div", { "class": "toolbar" }, [
          el("span", {}, ["A: ", taskLink(d.a.task_id, d.a.name + " #" + d.a.task_id.slice(0, 8)),
            " ", stateBadge(d.a.state)]),
          el("span", {}, ["B: ", taskLink(d.b.task_id, d.b.name + " #" + d.b.task_id.slice(0, 8)),
            " ", stateBadge(d.b.state)]),
          el("label", {}, [only, " only differences"])]), body]);
    });
  }

  // --- graphs --------------------------------------------------------------------------
  function legend(nodes) {
    var counts = {};
    nodes.forEach(function (n) { counts[n.state] = (counts[n.state] || 0) + 1; });
    return Object.keys(counts).sort().map(function (s) {
      return stateBadge(s, s + ": " + counts[s]);
    });
  }
  function drawGraph(title, data, extra) {
    var t0 = performance.now();
    colours = data.colours || colours;
    var pane = el("div", { "class": "cairn-pane", id: "graph" });
    var controls = el("div", { "class": "cairn-controls" });
    var status = el("span", { "class": "legend", id: "legend" }, legend(data.nodes));
    var head = el("div", { "class": "graph-head" }, [el("b", { text: title }),
      el("span", { "class": "muted", text: data.nodes.length + " task(s)" }), status]
      .concat(extra || []));
    show([head, el("div", { "class": "graph-body" }, [pane])], true);
    pane.innerHTML = data.svg;  // drawn and escaped by the server
    pane.insertBefore(controls, pane.firstChild);
    var graph = new window.CairnGraph(pane.querySelector("svg"), {
      colours: colours,
      onSelect: function (id) { location.hash = "#/task/" + id; }
    });
    graph.controls(controls);
    window.cairnGraph = graph;
    window.cairnRenderMs = performance.now() - t0;  // drawing, once the data is here
    window.cairnReadyMs = performance.now();  // since the page started loading
    return { graph: graph, status: status, nodes: data.nodes };
  }
  function storedGraph(id) {
    return api("/api/graph/" + id).then(function (data) {
      drawGraph("graph of " + id.slice(0, 12), data);
    });
  }
  function buildGraph(id) {
    return api("/api/build/" + id).then(function (data) {
      var state = el("span", { id: "build-state", text: data.finished ? "finished" :
        "running…" });
      var drawn = drawGraph("build " + data.build, data, [state]);
      var byId = {};
      drawn.nodes.forEach(function (n) { byId[n.id] = n; });
      if (data.finished) { return; }
      live = new EventSource("/api/events/" + data.build + "?skip=" + data.events);
      live.onmessage = function (message) {
        var e = JSON.parse(message.data), node = byId[e.id];
        if (e.event === "build_finished") {
          state.textContent = "finished";
          live.close();
          live = null;
          return;
        }
        if (!node) { return; }
        var next = { started: "running", succeeded: "complete", reused: "complete",
          failed: "failed" }[e.event];
        if (!next) { return; }
        node.state = next;
        drawn.graph.setState(e.id, next, e.duration_s);
        drawn.status.replaceChildren.apply(drawn.status, legend(drawn.nodes));
      };
    });
  }

  // --- routing -------------------------------------------------------------------------
  function route() {
    var hash = location.hash.replace(/^#\/?/, "");
    var query = {};
    var q = hash.indexOf("?");
    if (q >= 0) {
      hash.slice(q + 1).split("&").forEach(function (kv) {
        var p = kv.split("=");
        query[decodeURIComponent(p[0])] = decodeURIComponent(p[1] || "");
      });
      hash = hash.slice(0, q);
    }
    var parts = hash.split("/").filter(Boolean).map(decodeURIComponent);
    var done;
    if (!parts.length) { done = overview(); }
    else if (parts[0] === "family" && parts[1]) { done = family(parts[1], query); }
    else if (parts[0] === "task" && parts[1]) { done = task(parts[1]); }
    else if (parts[0] === "diff" && parts[2]) { done = diff(parts[1], parts[2]); }
    else if (parts[0] === "graph" && parts[1]) { done = storedGraph(parts[1]); }
    else if (parts[0] === "build" && parts[1]) { done = buildGraph(parts[1]); }
    else { done = Promise.reject(new Error("no page " + location.hash)); }
    done.then(function () { document.body.setAttribute("data-page", parts[0] || "overview"); })
      .catch(failed);
  }
  window.addEventListener("hashchange", route);
  api("/api/overview").then(function (data) {
    colours = data.colours;
    document.getElementById("workspace").textContent = data.workspace;
  }).catch(function () {});
  route();
})();
