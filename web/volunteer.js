// volunteer.js: the volunteers' page — self-registration (the token is kept
// in localStorage), upcoming activities by area and kind with seats left,
// sign-up (a seat or a place on the waitlist), cancelling, and one's hours.
// Refreshes itself every 15 s, so a promotion from the waitlist shows.
'use strict';

(() => {
  const { call, el, when, listAll } = civic;
  const STORE = 'civic.volunteer';
  const REFRESH_MS = 15000;
  const KIND = {
    ACTIVITY_KIND_THREE_CLEARS: '“三清”行动', ACTIVITY_KIND_DOOR_TO_DOOR: '入户宣传',
    ACTIVITY_KIND_DUTY: '点位值守', ACTIVITY_KIND_OTHER: '其他',
  };
  const ACTIVE = ['SIGNUP_STATE_WAITLISTED', 'SIGNUP_STATE_REGISTERED', 'SIGNUP_STATE_CHECKED_IN'];
  const $ = (id) => document.getElementById(id);
  let areaNames = {};
  let me = null;

  function load() {
    try {
      me = JSON.parse(localStorage.getItem(STORE) || 'null');
    } catch (e) {
      me = null;
    }
    if (me && me.expire && new Date(me.expire) < new Date()) me = null;
  }

  function notice(text, kind) {
    const n = $('notice');
    n.textContent = text;
    n.className = 'notice ' + (kind || 'ok');
    n.hidden = !text;
  }

  function signupText(s) {
    switch (s.state) {
      case 'SIGNUP_STATE_WAITLISTED': return '候补第 ' + (s.position || '?') + ' 位';
      case 'SIGNUP_STATE_REGISTERED': return '已报名（有名额）';
      case 'SIGNUP_STATE_CHECKED_IN': return '已签到';
      case 'SIGNUP_STATE_CHECKED_OUT': return '已签退';
      case 'SIGNUP_STATE_CANCELLED': return '已取消';
      case 'SIGNUP_STATE_NO_SHOW': return '未到场';
      default: return s.state || '';
    }
  }

  function renderMe() {
    $('signed-in').hidden = !me;
    $('register').hidden = !!me;
    $('mine').hidden = !me;
    $('hours-section').hidden = !me;
    if (me) {
      $('me-name').textContent = me.name;
      $('me-id').textContent = me.id;
      $('me-expire').textContent = me.expire ? new Date(me.expire).toLocaleDateString('zh-CN') : '—';
    }
  }

  async function loadAreas() {
    const areas = await listAll('civic.points.v1.PointsService/ListAreas', { level: 'AREA_LEVEL_AREA' }, 'areas');
    areaNames = {};
    const reg = $('reg-area');
    const filter = $('filter-area');
    reg.replaceChildren(el('option', { value: '', text: '请选择' }));
    filter.replaceChildren(el('option', { value: '', text: '全部区域' }));
    for (const a of areas) {
      areaNames[a.id] = a.name;
      reg.append(el('option', { value: a.id, text: a.name }));
      filter.append(el('option', { value: a.id, text: a.name }));
    }
  }

  async function signUp(activity) {
    try {
      const r = await call('civic.gateway.v1.GatewayService/SignUp', { activityId: activity.id }, me.token);
      if (r.waitlisted)
        notice('“' + activity.title + '”名额已满，您已进入候补，当前第 ' + r.position + ' 位。有人取消时将按顺序递补。', 'warn');
      else if (r.existing)
        notice('您已报名过“' + activity.title + '”。');
      else
        notice('报名成功：“' + activity.title + '”，您已获得名额。');
    } catch (e) {
      notice('报名失败：' + e.message, 'error');
    }
    await refresh();
  }

  async function cancel(signup, title) {
    if (!window.confirm('确定取消“' + title + '”的报名吗？')) return;
    try {
      const r = await call('civic.volunteers.v1.VolunteersService/CancelSignup',
        { id: signup.id, reason: '志愿者本人取消' }, me.token);
      notice('已取消“' + title + '”的报名。' + (r.promoted ? '候补第一位已递补。' : ''));
    } catch (e) {
      notice('取消失败：' + e.message, 'error');
    }
    await refresh();
  }

  function activityCard(a, mine) {
    const seats = a.seatsLeft || 0;
    const full = seats <= 0;
    const li = el('li', { class: 'card', 'data-activity-id': a.id },
      el('h3', { text: a.title }),
      el('p', { class: 'meta' },
        el('span', { class: 'tag', text: KIND[a.kind] || '活动' }), ' ',
        areaNames[a.areaId] || '', ' · ', when(a.startTime, a.endTime)),
      el('p', { class: 'seats' + (full ? ' full' : '') },
        '名额 ' + (a.capacity || 0) + ' · 已报 ' + (a.registered || 0) + ' · ',
        el('strong', { class: 'seats-left', text: full ? '已满' : '剩余 ' + seats }),
        (a.waitlisted ? ' · 候补 ' + a.waitlisted + ' 人' : '')));
    if (a.description) li.append(el('p', { class: 'muted', text: a.description }));
    if (!me) {
      li.append(el('p', { class: 'muted', text: '注册后即可报名。' }));
    } else if (mine) {
      li.append(el('p', { class: 'status', 'data-state': mine.state, text: '我的状态：' + signupText(mine) }));
      if (mine.state !== 'SIGNUP_STATE_CHECKED_IN')
        li.append(el('button', { type: 'button', class: 'secondary', 'data-action': 'cancel',
          text: '取消报名', onclick: () => cancel(mine, a.title) }));
    } else if (new Date(a.startTime) > new Date()) {
      li.append(el('button', { type: 'button', 'data-action': 'signup',
        text: full ? '报名候补' : '报名', onclick: () => signUp(a) }));
    }
    return li;
  }

  async function refreshMine(activities) {
    const signups = await listAll('civic.volunteers.v1.VolunteersService/ListSignups',
      { volunteerId: me.id }, 'signups', me.token);
    const byActivity = {};
    for (const s of signups) if (ACTIVE.includes(s.state)) byActivity[s.activityId] = s;
    const titles = {};
    for (const a of activities) titles[a.id] = a.title;
    const list = $('signups');
    list.replaceChildren();
    const shown = signups.filter((s) => s.state !== 'SIGNUP_STATE_CANCELLED')
      .sort((x, y) => String(y.activityStartTime).localeCompare(String(x.activityStartTime)));
    for (const s of shown)
      list.append(el('li', { class: 'card', 'data-signup-id': s.id, 'data-state': s.state },
        el('h3', { text: titles[s.activityId] || ('活动 ' + s.activityId) }),
        el('p', { class: 'meta', text: when(s.activityStartTime, s.activityEndTime) }),
        el('p', { class: 'status', text: signupText(s) })));
    if (!shown.length) list.append(el('li', { class: 'muted', text: '还没有报名。' }));

    const totals = await call('civic.volunteers.v1.VolunteersService/GetVolunteerTotals', { volunteerId: me.id }, me.token);
    $('hours-total').textContent = ((Number(totals.minutes) || 0) / 60).toFixed(1);
    $('hours-records').textContent = totals.records || 0;
    const hours = await listAll('civic.volunteers.v1.VolunteersService/ListHours', { volunteerId: me.id }, 'hours', me.token, 2);
    const hl = $('hours');
    hl.replaceChildren();
    for (const h of hours)
      hl.append(el('li', {}, (titles[h.activityId] || '活动 ' + h.activityId) + '：' +
        ((h.minutes || 0) / 60).toFixed(1) + ' 小时' + (h.state === 'HOURS_STATE_DECLINED' ? '（未认定）' : '')));
    return byActivity;
  }

  async function refresh() {
    try {
      const body = { endedAfter: new Date().toISOString() };
      if ($('filter-area').value) body.areaId = $('filter-area').value;
      if ($('filter-kind').value) body.kind = $('filter-kind').value;
      const activities = (await listAll('civic.volunteers.v1.VolunteersService/ListActivities', body, 'activities'))
        .sort((x, y) => String(x.startTime).localeCompare(String(y.startTime)));
      let mine = {};
      if (me) {
        try {
          mine = await refreshMine(activities);
        } catch (e) {
          if (e.code === 16) {
            localStorage.removeItem(STORE);
            me = null;
            renderMe();
            notice('登录凭据已失效，请重新注册或联系管理员。', 'error');
          } else {
            throw e;
          }
        }
      }
      const list = $('activities');
      list.replaceChildren();
      for (const a of activities) list.append(activityCard(a, mine[a.id]));
      if (!activities.length) list.append(el('li', { class: 'muted', text: '暂无近期活动。' }));
      document.body.dataset.loaded = String(Date.now());
    } catch (e) {
      notice('加载失败：' + e.message, 'error');
    }
  }

  async function register(ev) {
    ev.preventDefault();
    const f = ev.target;
    const err = $('register-error');
    err.textContent = '';
    for (const i of f.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
    const v = {
      name: f.name.value.trim(), phone: f.phone.value.trim(), kind: f.kind.value,
      areaId: f.areaId.value || '0', community: f.community.value.trim(), consent: f.consent.checked,
    };
    const missing = [];
    if (!v.name) missing.push(['name', '请填写姓名']);
    if (!v.phone) missing.push(['phone', '请填写手机号']);
    if (v.areaId === '0') missing.push(['areaId', '请选择所在区']);
    if (!v.consent) missing.push(['consent', '请勾选同意']);
    if (missing.length) {
      for (const [n] of missing) f[n].setAttribute('aria-invalid', 'true');
      err.textContent = missing.map((m) => m[1]).join('；');
      return;
    }
    try {
      const r = await call('civic.gateway.v1.GatewayService/SelfRegister', { volunteer: v });
      me = { token: r.token, id: r.volunteer.id, name: r.volunteer.name, expire: r.expireTime };
      localStorage.setItem(STORE, JSON.stringify(me));
      f.reset();
      renderMe();
      notice('注册成功！欢迎您，' + me.name + '。现在可以报名参加活动了。');
      await refresh();
    } catch (e) {
      const names = { 'volunteer.name': 'name', 'volunteer.phone': 'phone', 'volunteer.area_id': 'areaId',
        'volunteer.community': 'community', 'volunteer.consent': 'consent', 'volunteer.kind': 'kind' };
      for (const fv of e.violations || []) if (names[fv.field]) f[names[fv.field]].setAttribute('aria-invalid', 'true');
      err.textContent = '注册失败：' + e.message;
    }
  }

  document.addEventListener('DOMContentLoaded', async () => {
    load();
    renderMe();
    $('register').addEventListener('submit', register);
    $('sign-out').addEventListener('click', () => {
      localStorage.removeItem(STORE);
      me = null;
      renderMe();
      notice('已退出。');
      refresh();
    });
    $('refresh').addEventListener('click', refresh);
    $('filter-area').addEventListener('change', refresh);
    $('filter-kind').addEventListener('change', refresh);
    try {
      await loadAreas();
    } catch (e) {
      notice('加载区域失败：' + e.message, 'error');
    }
    await refresh();
    setInterval(refresh, REFRESH_MS);
  });
})();
