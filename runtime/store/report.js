/* batchtune report: draws the page from the JSON in #bt-data into inline SVG. Embedded in every
 * page by runtime/store/report_html.c; no library, no network. docs/report.md says what it shows. */
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var D = JSON.parse(document.getElementById('bt-data').textContent);
  var S = D.sweeps;
  var app = document.getElementById('app');
  app.textContent = '';
  var PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#ff9da6',
                 '#9d755d', '#bab0ac', '#eeca3b'];
  var VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

  function h(tag, attrs, parent, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function s(tag, attrs, parent, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(x) {
    if (x === null || x === undefined) return '–';
    if (typeof x !== 'number') return String(x);
    if (x === Math.round(x) && Math.abs(x) < 1e9) return String(x);
    var a = Math.abs(x);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? x.toExponential(3) : String(+x.toPrecision(5));
  }
  function viridis(t) {
    t = Math.max(0, Math.min(1, isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
    var i = Math.min(VIRIDIS.length - 2, Math.floor(t)), f = t - i, a = VIRIDIS[i], b = VIRIDIS[i + 1];
    return 'rgb(' + [0, 1, 2].map(function (k) { return Math.round(a[k] + f * (b[k] - a[k])); }).join(',') + ')';
  }
  function finite(v) { return typeof v === 'number' && isFinite(v); }
  function extent(vals) {
    var lo = Infinity, hi = -Infinity;
    vals.forEach(function (v) { if (finite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; } });
    if (lo > hi) return [0, 1];
    if (lo === hi) return [lo - (Math.abs(lo) || 1) * 0.05, hi + (Math.abs(hi) || 1) * 0.05];
    return [lo, hi];
  }
  /* A numeric scale onto [r0, r1]: linear, or log10 when asked and the domain is positive. */
  function scale(dom, r0, r1, log) {
    log = log && dom[0] > 0;
    var f = log ? function (v) { return Math.log10(v); } : function (v) { return v; };
    var a = f(dom[0]), b = f(dom[1]);
    if (a === b) b = a + 1;
    var sc = function (v) { return r0 + (f(v) - a) / (b - a) * (r1 - r0); };
    sc.log = log;
    sc.inv = function (p) { var u = a + (p - r0) / (r1 - r0) * (b - a); return log ? Math.pow(10, u) : u; };
    sc.ticks = function (n) {
      var out = [];
      if (log) {
        for (var e = Math.floor(a); e <= Math.ceil(b); e++) {
          var v = Math.pow(10, e);
          if (v >= dom[0] * 0.999 && v <= dom[1] * 1.001) out.push(v);
        }
        if (out.length >= 2) return out;
      }
      var step = Math.pow(10, Math.floor(Math.log10((dom[1] - dom[0]) / n || 1)));
      var err = (dom[1] - dom[0]) / n / step;
      step *= err >= 5 ? 10 : err >= 2 ? 5 : err >= 1.4 ? 2 : 1;
      for (var x = Math.ceil(dom[0] / step) * step; x <= dom[1] + step * 1e-9; x += step)
        out.push(+x.toPrecision(12));
      return out;
    };
    return sc;
  }
  function card(title, parent) {
    var c = h('div', {'class': 'card'}, parent || app);
    if (title) h('h2', {}, c, title);
    return c;
  }
  function svgBox(parent, w, hgt, cls) {
    return s('svg', {width: w, height: hgt, viewBox: '0 0 ' + w + ' ' + hgt, 'class': cls || ''}, parent);
  }
  /* Left and bottom axes of a plot area; returns nothing, draws ticks and labels. */
  function axes(g, xs, ys, x0, x1, y0, y1, xlabel, ylabel) {
    var ax = s('g', {'class': 'axis'}, g);
    s('line', {x1: x0, x2: x1, y1: y1, y2: y1}, ax);
    s('line', {x1: x0, x2: x0, y1: y0, y2: y1}, ax);
    var lastX = -1e9;
    xs.ticks(6).forEach(function (v) {
      var x = xs(v);
      if (x - lastX < 34) return; /* labels would overlap */
      lastX = x;
      s('line', {x1: x, x2: x, y1: y1, y2: y1 + 4}, ax);
      s('text', {x: x, y: y1 + 15, 'text-anchor': 'middle'}, ax, fmt(v));
    });
    ys.ticks(5).forEach(function (v) {
      var y = ys(v);
      s('line', {x1: x0 - 4, x2: x0, y1: y, y2: y}, ax);
      s('text', {x: x0 - 6, y: y + 4, 'text-anchor': 'end'}, ax, fmt(v));
    });
    if (xlabel) s('text', {x: (x0 + x1) / 2, y: y1 + 30, 'text-anchor': 'middle'}, ax, xlabel);
    if (ylabel) s('text', {x: 12, y: (y0 + y1) / 2, transform: 'rotate(-90 12 ' + (y0 + y1) / 2 + ')',
                           'text-anchor': 'middle'}, ax, ylabel);
  }
  function kvTable(parent, rows) {
    var t = h('table', {'class': 'kv'}, parent);
    rows.forEach(function (r) {
      if (r[1] === null || r[1] === undefined || r[1] === '') return;
      var tr = h('tr', {}, t);
      h('td', {}, tr, r[0]);
      var td = h('td', {}, tr);
      if (r[2]) td.className = r[2];
      td.textContent = r[1];
    });
    return t;
  }
  function metricLabel(sw) { return sw.metric + ' (' + sw.goal + ')'; }

  /* ---- summary -------------------------------------------------------------------------- */
  function counts(sw) {
    var c = {};
    sw.trials.status.forEach(function (x) { c[x] = (c[x] || 0) + 1; });
    return c;
  }
  function summary(sw, parent) {
    var grid = h('div', {'class': 'grid2'}, parent);
    var c = card(sw.name || sw.path || 'sweep', grid);
    if (sw.description) h('div', {'class': 'sub'}, c, sw.description);
    var cnt = counts(sw), chips = h('div', {'class': 'chips'}, c);
    h('span', {}, chips, sw.trials.id.length + ' trials');
    Object.keys(cnt).sort().forEach(function (k) { h('span', {'class': 'st-' + k}, chips, cnt[k] + ' ' + k); });
    var a = sw.attrs || {};
    kvTable(c, [['results', sw.path, 'mono'], ['method', sw.method], ['scheduler', sw.scheduler],
                ['metric', metricLabel(sw)], ['model', sw.model],
                ['wall time', finite(sw.wall) ? fmt(sw.wall) + ' s' : null], ['device', sw.device],
                ['batchtune', sw.version], ['seed', sw.seed], ['run cap', sw.run_cap],
                ['created', sw.created], ['host', sw.host], ['note', a.note],
                ['tags', a.tags], ['git commit', a.git_commit ? a.git_commit +
                  (a.git_dirty && a.git_dirty !== '0' ? ' (dirty)' : '') : null],
                ['train data sha256', a.train_sha256, 'mono'], ['valid data sha256', a.valid_sha256, 'mono'],
                ['CPU', a.cpu_model], ['GPU', a.gpu_names], ['driver', a.driver_version],
                ['CUDA', a.cuda_version], ['command', sw.command_line, 'mono']]);
    var b = card('Best trial', grid);
    if (!sw.best) { h('div', {'class': 'note'}, b, 'No trial has a metric yet.'); return; }
    var res = sw.resource || 'resource';
    kvTable(b, [['trial', sw.best.trial], [sw.metric, fmt(sw.best.metric)]].concat(
      res in sw.best.params ? [] : [[res, sw.best.resource]]).concat(
      Object.keys(sw.best.params).map(function (k) { return [k, fmt(sw.best.params[k])]; })));
    if (sw.best.export) {
      h('div', {'class': 'note'}, b, 'Its model:');
      h('code', {'class': 'cmd'}, b, sw.best.export);
    }
  }

  /* ---- parallel coordinates ------------------------------------------------------------- */
  /* Axes shared by name across sweeps; the metric axis per metric name. */
  function pcAxes() {
    var axes = [], byName = {};
    S.forEach(function (sw, si) {
      sw.params.forEach(function (p, j) {
        var a = byName['p:' + p.name];
        if (!a) { a = byName['p:' + p.name] = {name: p.name, log: p.log, cat: null, src: []}; axes.push(a); }
        a.log = a.log && p.log;
        if (p.kind === 'string' || p.kind === 'bool') a.cat = a.cat || [];
        if (p.values && (p.kind === 'string' || p.kind === 'bool')) a.catOrder = (a.catOrder || []).concat(p.values);
        a.src[si] = function (t) { return sw.trials.p[j][t]; };
      });
    });
    S.forEach(function (sw, si) {
      var a = byName['m:' + sw.metric];
      if (!a) { a = byName['m:' + sw.metric] = {name: sw.metric, metric: true, src: []}; axes.push(a); }
      a.src[si] = function (t) { return sw.trials.metric[t]; };
    });
    axes.forEach(function (a) {
      var vals = [];
      S.forEach(function (sw, si) {
        if (!a.src[si]) return;
        for (var t = 0; t < sw.trials.id.length; t++) vals.push(a.src[si](t));
      });
      if (a.cat) {
        var seen = {}, order = [];
        (a.catOrder || []).concat(vals).forEach(function (v) {
          if (v === null || v === undefined) return;
          var k = String(v);
          if (!seen[k]) { seen[k] = 1; order.push(k); }
        });
        a.cat = order;
      } else {
        a.log = a.log && vals.every(function (v) { return !finite(v) || v > 0; });
        a.dom = extent(vals);
      }
    });
    return axes;
  }
  function parallel(parent) {
    var c = card('Parallel coordinates', parent);
    var axs = pcAxes(), W = Math.max(700, Math.min(1280, 130 * axs.length)), H = 380;
    var top = 30, bot = H - 46, left = 50, right = W - 60, miss = bot + 20;
    h('div', {'class': 'note'}, c, 'One line per trial' + (S.length > 1 ? ', colored by sweep' :
      ', colored by ' + S[0].metric + ' (brighter is better)') +
      '. Drag along an axis to keep the trials in a range; click an axis to clear it. ' +
      'Log axes say (log); values a trial lacks sit on the dashed line below.');
    var info = h('div', {'class': 'controls'}, c);
    var svg = svgBox(c, W, H, 'pc');
    var xs = axs.map(function (a, i) { return left + (axs.length > 1 ? i * (right - left) / (axs.length - 1) : 0); });
    axs.forEach(function (a) {
      if (a.cat) {
        var n = a.cat.length;
        a.y = function (v) {
          var k = v === null || v === undefined ? -1 : a.cat.indexOf(String(v));
          return k < 0 ? miss : n === 1 ? (top + bot) / 2 : bot - k * (bot - top) / (n - 1);
        };
      } else {
        var sc = scale(a.dom, bot, top, a.log);
        a.sc = sc;
        a.y = function (v) { return finite(v) ? sc(v) : miss; };
      }
    });
    var lines = [], g = s('g', {}, svg);
    S.forEach(function (sw, si) {
      var mdom = extent(sw.trials.metric), n = sw.trials.id.length;
      var order = [];
      for (var t = 0; t < n; t++) order.push(t);
      var tval = function (t) {
        var m = sw.trials.metric[t];
        if (!finite(m)) return -1;
        var u = (m - mdom[0]) / (mdom[1] - mdom[0]);
        return sw.goal === 'maximize' ? u : 1 - u;
      };
      order.sort(function (a, b) { return tval(a) - tval(b); }); /* best drawn last, on top */
      order.forEach(function (t) {
        var ys = axs.map(function (a) { return a.src[si] ? a.y(a.src[si](t)) : miss; });
        var pts = ys.map(function (y, i) { return xs[i].toFixed(1) + ',' + y.toFixed(1); }).join(' ');
        var col = S.length > 1 ? PALETTE[si % PALETTE.length] : tval(t) < 0 ? '#c8ccd4' : viridis(tval(t));
        var pl = s('polyline', {'class': 'pc-line', points: pts, stroke: col}, g);
        s('title', {}, pl, (S.length > 1 ? sw.path + ' ' : '') + 'trial ' + sw.trials.id[t] + ': ' +
          sw.metric + ' ' + fmt(sw.trials.metric[t]));
        lines.push({el: pl, ys: ys});
      });
    });
    var brushes = axs.map(function () { return null; });
    function update() {
      var shown = 0;
      lines.forEach(function (l) {
        var ok = brushes.every(function (b, i) { return !b || (l.ys[i] >= b[0] && l.ys[i] <= b[1]); });
        l.el.setAttribute('class', ok ? 'pc-line' : 'pc-line out');
        shown += ok;
      });
      info.textContent = shown + ' of ' + lines.length + ' trials shown';
    }
    axs.forEach(function (a, i) {
      var ax = s('g', {'class': 'axis'}, svg), x = xs[i];
      s('line', {x1: x, x2: x, y1: top, y2: bot}, ax);
      s('line', {x1: x - 6, x2: x + 6, y1: miss, y2: miss, 'stroke-dasharray': '2,2'}, ax);
      s('text', {x: x, y: top - 12, 'text-anchor': 'middle', 'font-weight': 'bold'}, ax,
        a.name + (a.log ? ' (log)' : ''));
      if (a.cat) a.cat.forEach(function (v) { s('text', {x: x + 5, y: a.y(v) + 4}, ax, v); });
      else a.sc.ticks(5).forEach(function (v) { s('text', {x: x + 5, y: a.sc(v) + 4}, ax, fmt(v)); });
      var rect = s('rect', {'class': 'brush', x: x - 8, width: 16, y: 0, height: 0, display: 'none'}, svg);
      var hit = s('rect', {x: x - 10, y: top - 4, width: 20, height: miss - top + 10, fill: 'transparent',
                           style: 'cursor: crosshair'}, svg);
      var y0 = null;
      function pos(ev) {
        var r = svg.getBoundingClientRect();
        return (ev.clientY - r.top) * H / r.height;
      }
      hit.addEventListener('mousedown', function (ev) { y0 = pos(ev); ev.preventDefault(); });
      window.addEventListener('mousemove', function (ev) {
        if (y0 === null) return;
        var y1 = pos(ev), lo = Math.min(y0, y1), hi = Math.max(y0, y1);
        if (hi - lo < 3) return;
        brushes[i] = [lo, hi];
        rect.setAttribute('y', lo); rect.setAttribute('height', hi - lo); rect.setAttribute('display', '');
        update();
      });
      window.addEventListener('mouseup', function (ev) {
        if (y0 === null) return;
        if (Math.abs(pos(ev) - y0) < 3) { brushes[i] = null; rect.setAttribute('display', 'none'); update(); }
        y0 = null;
      });
    });
    update();
  }

  /* ---- learning curves ------------------------------------------------------------------ */
  function rungResources(sw) {
    var seen = {}, out = [];
    sw.rungs.forEach(function (r) { if (!seen[r.resource]) { seen[r.resource] = 1; out.push(r.resource); } });
    return out;
  }
  function curves(sw, parent) {
    var c = card('Learning curves' + (S.length > 1 ? ': ' + sw.path : ''), parent);
    var cv = sw.curves;
    if (!cv.t.length) { h('div', {'class': 'note'}, c, 'No history recorded.'); return; }
    var ctl = h('div', {'class': 'controls'}, c);
    var lab = h('label', {}, ctl), box = h('input', {type: 'checkbox'}, lab);
    lab.appendChild(document.createTextNode(' log ' + (sw.resource || 'resource') + ' axis'));
    h('span', {}, ctl, 'Completed trials solid, pruned/stopped ones faded; dashed lines: rung resources.' +
      (cv.downsampled ? ' Curves downsampled to fit the page.' : ''));
    var holder = h('div', {}, c);
    function draw() {
      holder.textContent = '';
      var W = 1240, H = 360, x0 = 60, x1 = W - 20, y0 = 10, y1 = H - 40;
      var svg = svgBox(holder, W, H, 'curves');
      var rs = [], vs = [];
      cv.r.forEach(function (a) { rs = rs.concat(a); });
      cv.v.forEach(function (a) { vs = vs.concat(a); });
      var xd = extent(rs), xs = scale(xd, x0, x1, box.checked), ys = scale(extent(vs), y1, y0, false);
      axes(svg, xs, ys, x0, x1, y0, y1, sw.resource || 'resource', sw.metric);
      rungResources(sw).forEach(function (r) {
        if (r >= xd[0] && r <= xd[1])
          s('line', {x1: xs(r), x2: xs(r), y1: y0, y2: y1, stroke: '#9aa3b2', 'stroke-dasharray': '4,3'}, svg);
      });
      var mdom = extent(sw.trials.metric), g = s('g', {}, svg);
      cv.t.forEach(function (t, k) {
        var st = sw.trials.status[t], m = sw.trials.metric[t];
        var u = finite(m) ? (m - mdom[0]) / (mdom[1] - mdom[0]) : 0;
        var d = '';
        cv.r[k].forEach(function (r, i) {
          var v = cv.v[k][i];
          if (!finite(v) || (xs.log && r <= 0)) return;
          d += (d ? 'L' : 'M') + xs(r).toFixed(1) + ',' + ys(v).toFixed(1);
        });
        if (!d) d = 'M0,0';
        var p = s('path', {'class': 'curve' + (st === 'completed' ? '' : ' faded'), d: d,
                           stroke: viridis(sw.goal === 'maximize' ? u : 1 - u)}, g);
        s('title', {}, p, 'trial ' + sw.trials.id[t] + ' (' + st + '): ' + fmt(m));
      });
    }
    box.addEventListener('change', draw);
    draw();
  }

  /* ---- the scheduler's rungs ------------------------------------------------------------ */
  function rungs(sw, parent) {
    if (!sw.rungs.length) return;
    var c = card("Scheduler's rungs" + (S.length > 1 ? ': ' + sw.path : '') + ' (' + sw.scheduler + ')', parent);
    h('div', {'class': 'legend note'}, c).innerHTML =
      '<span><i style="background:#4c78a8"></i>entered the rung</span><span><i style="background:#54a24b"></i>promoted</span>';
    var br = {};
    sw.rungs.forEach(function (r) { (br[r.bracket] = br[r.bracket] || []).push(r); });
    var wrap = h('div', {'class': 'small-multiples'}, c);
    Object.keys(br).forEach(function (b) {
      var rows = br[b], W = 400, H = 34 + 26 * rows.length, x0 = 150, x1 = W - 50;
      var max = Math.max.apply(null, rows.map(function (r) { return r.entered; }));
      var svg = svgBox(wrap, W, H, 'rungs');
      s('text', {x: 4, y: 14, 'font-weight': 'bold'}, svg, 'bracket ' + b);
      rows.forEach(function (r, i) {
        var y = 24 + 26 * i, w = function (n) { return (x1 - x0) * n / (max || 1); };
        s('text', {x: 4, y: y + 14}, svg, 'rung ' + r.rung + ' @ ' + r.resource);
        s('rect', {'class': 'bar', x: x0, y: y, width: w(r.entered), height: 18}, svg);
        var pr = s('rect', {'class': 'bar prom', x: x0, y: y + 5, width: w(r.promoted), height: 8}, svg);
        s('title', {}, pr, 'promoted: ' + (r.ids.length ? r.ids.join(', ') : 'none') +
          (r.ids.length < r.promoted ? ', …' : ''));
        s('text', {x: x0 + w(r.entered) + 4, y: y + 14}, svg, r.promoted + '/' + r.entered);
      });
    });
  }

  /* ---- importance and metric against each parameter ------------------------------------- */
  function importance(sw, parent) {
    if (!sw.params.length) return;
    var c = card('Parameter importance' + (S.length > 1 ? ': ' + sw.path : ''), parent);
    h('div', {'class': 'note'}, c, 'Share of the variance of the ' + sw.metric + ' ranks of ' +
      sw.importance.basis + ' explained by each parameter alone (first-order variance ' +
      'decomposition: eta² adjusted for the number of groups, numeric values in up to 10 ' +
      'equal-count bins). Below: ' + sw.metric + ' against each parameter, completed trials blue.');
    var idx = sw.params.map(function (p, j) { return j; }).sort(function (a, b) {
      return (sw.importance.eta2[b] || 0) - (sw.importance.eta2[a] || 0);
    });
    var W = 640, H = 20 + 22 * idx.length, x0 = 170, x1 = W - 60;
    var svg = svgBox(c, W, H, 'importance');
    idx.forEach(function (j, i) {
      var v = sw.importance.eta2[j] || 0, y = 8 + 22 * i;
      s('text', {x: x0 - 6, y: y + 13, 'text-anchor': 'end'}, svg, sw.params[j].name);
      s('rect', {'class': 'bar', x: x0, y: y, width: Math.max(1, (x1 - x0) * v), height: 16}, svg);
      s('text', {x: x0 + (x1 - x0) * v + 4, y: y + 13}, svg, v.toFixed(3));
    });
    var wrap = h('div', {'class': 'small-multiples'}, c);
    idx.forEach(function (j) {
      var p = sw.params[j], vals = sw.trials.p[j], W2 = 300, H2 = 210, a0 = 56, a1 = W2 - 10, b0 = 20, b1 = H2 - 36;
      var svg2 = svgBox(wrap, W2, H2, 'scatter');
      var ys = scale(extent(sw.trials.metric), b1, b0, false), xs, cat = null;
      if (p.kind === 'string' || p.kind === 'bool') {
        cat = [];
        (p.values || []).concat(vals).forEach(function (v) { if (cat.indexOf(String(v)) < 0) cat.push(String(v)); });
        xs = function (v) { return a0 + (cat.indexOf(String(v)) + 0.5) * (a1 - a0) / cat.length; };
        var dummy = scale([0, 1], a0, a1, false);
        dummy.ticks = function () { return []; };
        axes(svg2, dummy, ys, a0, a1, b0, b1, null, sw.metric);
        cat.forEach(function (v) { s('text', {x: xs(v), y: b1 + 15, 'text-anchor': 'middle'}, svg2, v); });
      } else {
        var ok = vals.every(function (v) { return !finite(v) || v > 0; });
        xs = scale(extent(vals), a0, a1, p.log && ok);
        axes(svg2, xs, ys, a0, a1, b0, b1, null, sw.metric);
      }
      s('text', {x: (a0 + a1) / 2, y: 12, 'text-anchor': 'middle', 'font-weight': 'bold'}, svg2,
        p.name + (p.log ? ' (log)' : ''));
      var jitter = cat ? (a1 - a0) / cat.length * 0.3 : 0;
      vals.forEach(function (v, t) {
        var m = sw.trials.metric[t];
        if (!finite(m) || v === null) return;
        var x = xs(v) + (jitter ? (((t * 7919) % 101) / 101 - 0.5) * jitter : 0);
        if (!finite(x)) return;
        s('circle', {cx: x.toFixed(1), cy: ys(m).toFixed(1), r: 2.2, fill: sw.trials.status[t] === 'completed' ?
          '#4c78a8' : '#c8ccd4', 'fill-opacity': 0.7}, svg2);
      });
    });
  }

  /* ---- machine metrics ------------------------------------------------------------------ */
  function system(sw, parent) {
    var sy = sw.system;
    if (!sy) return;
    var c = card('Machine metrics' + (S.length > 1 ? ': ' + sw.path : ''), parent);
    var ti = sy.cols.indexOf('time'), wrap = h('div', {'class': 'small-multiples'}, c);
    var tx = ti >= 0 ? sy.data[ti] : sy.data[0].map(function (v, i) { return i; });
    sy.cols.forEach(function (name, k) {
      if (k === ti) return;
      var W = 300, H = 170, x0 = 56, x1 = W - 10, y0 = 20, y1 = H - 36;
      var svg = svgBox(wrap, W, H, 'system');
      var xs = scale(extent(tx), x0, x1, false), ys = scale(extent(sy.data[k]), y1, y0, false);
      axes(svg, xs, ys, x0, x1, y0, y1, ti >= 0 ? 'time (s)' : 'sample', null);
      s('text', {x: (x0 + x1) / 2, y: 12, 'text-anchor': 'middle', 'font-weight': 'bold'}, svg, name);
      var d = '';
      sy.data[k].forEach(function (v, i) {
        if (finite(v) && finite(tx[i])) d += (d ? 'L' : 'M') + xs(tx[i]).toFixed(1) + ',' + ys(v).toFixed(1);
      });
      s('path', {'class': 'sys-line', d: d || 'M0,0', fill: 'none', stroke: '#4c78a8'}, svg);
    });
  }

  /* ---- sweeps side by side: best so far ------------------------------------------------- */
  function bestSoFar(parent) {
    var groups = {};
    S.forEach(function (sw, si) { (groups[sw.metric] = groups[sw.metric] || []).push(si); });
    Object.keys(groups).forEach(function (m) {
      var ids = groups[m], c = card('Best ' + m + ' so far', parent);
      var leg = h('div', {'class': 'legend note'}, c);
      var ts = [], vs = [];
      ids.forEach(function (si) {
        S[si].best_so_far.forEach(function (p) { ts.push(p[0]); vs.push(p[1]); });
        ts.push(S[si].wall);
        var sp = h('span', {}, leg), i = h('i', {}, sp);
        i.style.background = PALETTE[si % PALETTE.length];
        sp.appendChild(document.createTextNode(S[si].path + ' (' + S[si].goal + ')'));
      });
      var W = 1240, H = 320, x0 = 60, x1 = W - 20, y0 = 10, y1 = H - 40;
      var svg = svgBox(c, W, H, 'bsf');
      var xs = scale(extent(ts.concat([0])), x0, x1, false), ys = scale(extent(vs), y1, y0, false);
      axes(svg, xs, ys, x0, x1, y0, y1, 'sweep time (s)', m);
      ids.forEach(function (si) {
        var d = '', last = null;
        S[si].best_so_far.forEach(function (p) {
          if (last !== null) d += 'L' + xs(p[0]).toFixed(1) + ',' + ys(last).toFixed(1);
          d += (d ? 'L' : 'M') + xs(p[0]).toFixed(1) + ',' + ys(p[1]).toFixed(1);
          last = p[1];
        });
        if (last !== null && finite(S[si].wall)) d += 'L' + xs(S[si].wall).toFixed(1) + ',' + ys(last).toFixed(1);
        s('path', {'class': 'bsf-line', d: d || 'M0,0', fill: 'none', 'stroke-width': 2,
                   stroke: PALETTE[si % PALETTE.length]}, svg);
      });
    });
  }

  /* ---- the page ------------------------------------------------------------------------- */
  var title = S.length === 1 ? (S[0].name || S[0].path || 'sweep') : S.length + ' sweeps side by side';
  h('h1', {}, app, 'batchtune report: ' + title);
  h('div', {'class': 'sub'}, app, 'Generated ' + D.generated +
    (D.refresh ? ' while the sweep runs; this page reloads every ' + D.refresh + ' s.' : '.'));
  S.forEach(function (sw) { summary(sw, app); });
  if (S.length > 1) bestSoFar(app);
  parallel(app);
  S.forEach(function (sw) { curves(sw, app); });
  S.forEach(function (sw) { rungs(sw, app); });
  S.forEach(function (sw) { importance(sw, app); });
  S.forEach(function (sw) { system(sw, app); });
  var n = 0;
  S.forEach(function (sw) { n += sw.trials.id.length; });
  app.setAttribute('data-trials', n);
  app.setAttribute('data-drawn', 'yes');
})();
