// dashboard.js: the campaign dashboard for a viewer token — per area the
// patrol coverage today, problems open / overdue / closed today, works
// progress, volunteer hours this week (GetDashboard, ListWorks), and a map
// of the points coloured by today's state (ListPoints, GetCoverage,
// ListProblems) drawn as SVG over the points' bounding box. Charts are SVG
// drawn here; nothing is loaded from elsewhere. Refreshes every 15 s.
'use strict';

(() => {
  const { call, el, listAll } = civic;
  const STORE = 'civic.viewer';
  const REFRESH_MS = 15000;
  const SVGNS = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  const COLORS = { patrolled: '#1e7b34', unpatrolled: '#d08a00', problem: '#b3261e', archived: '#9aa3ad' };
  let token = sessionStorage.getItem(STORE) || localStorage.getItem(STORE) || '';
  let timer = null;

  function svg(tag, attrs, ...children) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  function text(x, y, s, attrs) {
    return svg('text', { x, y, ...(attrs || {}) }, String(s));
  }
  function notice(msg, kind) {
    const n = $('notice');
    n.textContent = msg;
    n.className = 'notice ' + (kind || 'ok');
    n.hidden = !msg;
  }
  const pct = (x) => (Math.round((Number(x) || 0) * 1000) / 10).toFixed(1) + '%';

  // barChart: one row per item, each with bars (value, colour) scaled to max.
  function barChart(rows, series, max, label) {
    const rowH = 14 * series.length + 12;
    const W = 440, left = 110, right = 96;
    const H = rows.length * rowH + 8;
    const s = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img' });
    s.append(svg('title', {}, label));
    rows.forEach((r, i) => {
      const y0 = 4 + i * rowH;
      s.append(text(0, y0 + rowH / 2 + 2, r.name, { 'dominant-baseline': 'middle' }));
      series.forEach((se, j) => {
        const v = Number(r[se.key]) || 0;
        const w = max > 0 ? Math.max(0, Math.min(1, v / max)) * (W - left - right) : 0;
        const y = y0 + 6 + j * 14;
        s.append(svg('rect', { x: left, y, width: W - left - right, height: 11, fill: '#eef1f4' }));
        s.append(svg('rect', { x: left, y, width: w.toFixed(1), height: 11, fill: se.color },
          svg('title', {}, `${r.name} ${se.name}：${se.fmt ? se.fmt(v, r) : v}`)));
        s.append(text(W - right + 4, y + 9, se.fmt ? se.fmt(v, r) : v));
      });
    });
    return s;
  }

  function legend(series) {
    const p = el('p', { class: 'muted' });
    for (const x of series) {
      const sw = el('span', { text: '■ ', 'aria-hidden': 'true' });
      sw.style.color = x.color; // CSSOM, which the page's CSP allows
      p.append(sw, x.name, '　');
    }
    return p;
  }

  function drawMap(points, patrolled, overdue) {
    const located = points.filter((p) => p.location && (p.location.lat || p.location.lng));
    const box = $('map');
    box.replaceChildren();
    if (!located.length) {
      box.append(el('p', { class: 'muted', text: '没有带坐标的点位。' }));
      return;
    }
    let minLat = Infinity, maxLat = -Infinity, minLng = Infinity, maxLng = -Infinity;
    for (const p of located) {
      minLat = Math.min(minLat, p.location.lat); maxLat = Math.max(maxLat, p.location.lat);
      minLng = Math.min(minLng, p.location.lng); maxLng = Math.max(maxLng, p.location.lng);
    }
    const spanLat = Math.max(maxLat - minLat, 0.001), spanLng = Math.max(maxLng - minLng, 0.001);
    // Equirectangular at the box's middle latitude, so shapes keep their proportions.
    const k = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
    const W = 420, pad = 12;
    const H = Math.max(160, Math.min(600, Math.round((W - 2 * pad) * spanLat / (spanLng * k)) + 2 * pad));
    const sx = (W - 2 * pad) / spanLng, sy = (H - 2 * pad) / spanLat;
    const s = svg('svg', { class: 'chart', id: 'map-svg', viewBox: `0 0 ${W} ${H}`, role: 'img' },
      svg('title', {}, '点位分布图（按今日状态着色）'),
      svg('rect', { x: 0, y: 0, width: W, height: H, fill: '#f3f6f8', stroke: '#d9dee4' }));
    const counts = { patrolled: 0, unpatrolled: 0, problem: 0, archived: 0 };
    for (const p of located) {
      const state = p.state === 'POINT_STATE_ARCHIVED' ? 'archived'
        : overdue.has(p.id) ? 'problem' : patrolled.has(p.id) ? 'patrolled' : 'unpatrolled';
      counts[state]++;
      const cx = pad + (p.location.lng - minLng) * sx, cy = H - pad - (p.location.lat - minLat) * sy;
      s.append(svg('circle', { cx: cx.toFixed(1), cy: cy.toFixed(1), r: 4, fill: COLORS[state],
        stroke: '#fff', 'stroke-width': 1, 'data-point-id': p.id, 'data-state': state },
      svg('title', {}, `${p.name}（${{ patrolled: '今日已巡查', unpatrolled: '今日未巡查', problem: '有超期问题', archived: '已归档' }[state]}）`)));
    }
    box.append(s, el('p', { class: 'muted', id: 'map-counts',
      text: `共 ${located.length} 个点位：已巡查 ${counts.patrolled}，未巡查 ${counts.unpatrolled}，有超期问题 ${counts.problem}，已归档 ${counts.archived}` }));
  }

  async function refresh() {
    if (!token) return;
    try {
      const dash = await call('civic.gateway.v1.GatewayService/GetDashboard', {}, token);
      const areas = dash.areas || [];
      const [works, points, overdueProblems] = await Promise.all([
        listAll('civic.tasks.v1.TasksService/ListWorks', {}, 'works', token),
        listAll('civic.points.v1.PointsService/ListPoints', { includeArchived: true }, 'points', token),
        listAll('civic.tasks.v1.TasksService/ListProblems', { overdue: true }, 'problems', token),
      ]);
      const patrolled = new Set();
      await Promise.all(areas.map(async (a) => {
        const c = await listAll('civic.points.v1.PointsService/GetCoverage',
          { areaId: a.areaId, filter: 'COVERAGE_FILTER_PATROLLED', localDay: dash.localDay }, 'items', token);
        for (const i of c) patrolled.add(i.pointId);
      }));
      const overdue = new Set(overdueProblems.map((p) => p.pointId));
      render(dash, areas, works);
      drawMap(points, patrolled, overdue);
      $('board').hidden = false;
      $('updated').textContent = '更新于 ' + new Date().toLocaleTimeString('zh-CN', { hour12: false });
      notice('');
      document.body.dataset.loaded = String(Date.now());
    } catch (e) {
      notice('加载失败：' + e.message, 'error');
      if (e.code === 16) $('board').hidden = true;
    }
  }

  function render(dash, areas, works) {
    const rows = areas.map((a) => ({ ...a, name: a.name || ('区域 ' + a.areaId) }));
    const cov = [{ key: 'patrolledShare', name: '覆盖率', color: COLORS.patrolled,
      fmt: (v, r) => `${pct(v)} ${r.patrolledToday || 0}/${r.points || 0}` }];
    $('chart-coverage').replaceChildren(barChart(rows, cov, 1, '今日巡查覆盖率'));

    const probSeries = [
      { key: 'problemsOpen', name: '在办', color: '#1f5fbf' },
      { key: 'problemsOverdue', name: '超期', color: COLORS.problem },
      { key: 'problemsClosedToday', name: '今日销号', color: COLORS.patrolled },
    ];
    const pmax = Math.max(1, ...rows.flatMap((r) => probSeries.map((s) => Number(r[s.key]) || 0)));
    $('chart-problems').replaceChildren(legend(probSeries), barChart(rows, probSeries, pmax, '问题数量'));

    // Works: each area's overall progress, then each work's bar.
    const wbox = $('chart-works');
    wbox.replaceChildren(barChart(rows, [{ key: 'worksPercentDone', name: '总体进度', color: '#6b3fa0',
      fmt: (v) => v.toFixed(1) + '%' }], 100, '各区重点工作总体进度'));
    const names = Object.fromEntries(rows.map((r) => [r.areaId, r.name]));
    const wrows = works.map((w) => ({ name: (names[w.areaId] || '').slice(0, 3) + ' ' + (w.name || '').slice(0, 6),
      pct: Number(w.percentDone) || 0 }));
    if (wrows.length) {
      wbox.append(el('h3', { text: '各项工作' }), barChart(wrows, [{ key: 'pct', name: '进度', color: '#8e6cc0',
        fmt: (v) => v.toFixed(0) + '%' }], 100, '各项重点工作进度'));
    }

    const hseries = [{ key: 'volunteerHoursThisWeek', name: '时长', color: '#b3261e', fmt: (v) => v.toFixed(1) }];
    const hmax = Math.max(1, ...rows.map((r) => Number(r.volunteerHoursThisWeek) || 0));
    $('chart-hours').replaceChildren(barChart(rows, hseries, hmax, '本周志愿服务时长'));

    const tbody = $('figures').tBodies[0];
    tbody.replaceChildren();
    for (const r of rows) {
      const td = (k, v) => el('td', { 'data-k': k, text: String(v) });
      tbody.append(el('tr', { 'data-area-id': r.areaId },
        el('td', { text: r.name }), td('points', r.points || 0),
        td('patrolledToday', r.patrolledToday || 0), td('problemsOpen', r.problemsOpen || 0),
        td('problemsOverdue', r.problemsOverdue || 0), td('problemsClosedToday', r.problemsClosedToday || 0),
        // An area with no works has no progress to show, not 0%.
        td('worksPercentDone', Number(r.works) > 0 ? (Number(r.worksPercentDone) || 0).toFixed(1) + '%' : '—'),
        td('volunteerHoursThisWeek', (Number(r.volunteerHoursThisWeek) || 0).toFixed(1)),
        td('volunteersActive', r.volunteersActive || 0)));
    }
    const down = (dash.parts || []).filter((p) => !p.available);
    $('parts').textContent = down.length ? '部分数据暂不可用：' + down.map((p) => p.name + '（' + p.reason + '）').join('；') : '';
  }

  function start() {
    if (timer) clearInterval(timer);
    refresh();
    timer = setInterval(refresh, REFRESH_MS);
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('token').value = token;
    $('remember').checked = !!localStorage.getItem(STORE);
    $('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      token = $('token').value.trim();
      sessionStorage.setItem(STORE, token);
      if ($('remember').checked) localStorage.setItem(STORE, token);
      else localStorage.removeItem(STORE);
      start();
    });
    $('forget').addEventListener('click', () => {
      token = '';
      $('token').value = '';
      sessionStorage.removeItem(STORE);
      localStorage.removeItem(STORE);
      $('board').hidden = true;
      if (timer) clearInterval(timer);
    });
    if (token) start();
  });
})();
