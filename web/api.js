// api.js: the pages' one way to the gateway — POST /v1/PACKAGE.SERVICE/METHOD
// with a JSON body (protobuf's canonical JSON) and the bearer token; errors
// come back as {code, message, details} and are turned into Chinese text,
// naming the bad fields. No framework, no build step.
'use strict';

const civic = (() => {
  const CODE_TEXT = {
    3: '输入有误', 4: '请求超时，请重试', 5: '未找到', 6: '已存在（该手机号可能已注册）',
    7: '没有权限', 8: '操作太频繁，请稍后再试', 9: '当前状态不允许此操作', 12: '服务不支持此操作',
    13: '服务器内部错误', 14: '服务暂时不可用，请稍后重试', 16: '请先注册或重新输入令牌',
  };
  const FIELD_TEXT = {
    'volunteer.name': '姓名', 'volunteer.phone': '手机号', 'volunteer.kind': '类别',
    'volunteer.area_id': '所在区', 'volunteer.community': '社区', 'volunteer.consent': '同意条款',
    activity_id: '活动', id: '编号', body: '请求内容',
  };

  class CivicError extends Error {
    constructor(code, message, violations, httpStatus) {
      const head = CODE_TEXT[code] || ('错误 ' + code);
      const fields = violations.map((v) => (FIELD_TEXT[v.field] || v.field) + '：' + v.description);
      super(head + (fields.length ? '（' + fields.join('；') + '）' : ''));
      this.code = code;
      this.detail = message;
      this.violations = violations;
      this.httpStatus = httpStatus;
    }
  }

  async function call(method, body, token) {
    const headers = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    let resp;
    try {
      resp = await fetch('/v1/' + method, {
        method: 'POST', headers, body: JSON.stringify(body || {}), cache: 'no-store',
      });
    } catch (e) {
      throw new CivicError(14, String(e), [], 0);
    }
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    if (!resp.ok) {
      const code = data && typeof data.code === 'number' ? data.code : 2;
      const violations = [];
      for (const d of (data && data.details) || [])
        for (const v of d.fieldViolations || []) violations.push(v);
      throw new CivicError(code, (data && data.message) || resp.statusText, violations, resp.status);
    }
    return data || {};
  }

  // el builds an element: el('p', {class: 'x', text: '…'}, child, …).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'onclick') e.addEventListener('click', v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  // The campaign's local time (China Standard Time).
  const fmt = new Intl.DateTimeFormat('zh-CN', {
    timeZone: 'Asia/Shanghai', month: 'numeric', day: 'numeric', weekday: 'short',
    hour: '2-digit', minute: '2-digit', hour12: false,
  });
  const fmtTime = new Intl.DateTimeFormat('zh-CN', {
    timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hour12: false,
  });
  function when(start, end) {
    if (!start) return '';
    const s = new Date(start);
    return fmt.format(s) + (end ? ' – ' + fmtTime.format(new Date(end)) : '');
  }

  // listAll follows next_page_token to the end (at most pages pages).
  async function listAll(method, body, key, token, pages = 20) {
    let out = [];
    let pageToken = '';
    for (let i = 0; i < pages; i++) {
      const r = await call(method, { ...body, pageSize: 1000, pageToken }, token);
      out = out.concat(r[key] || []);
      pageToken = r.nextPageToken || '';
      if (!pageToken) break;
    }
    return out;
  }

  return { call, el, when, listAll, CivicError };
})();
