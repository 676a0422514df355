// The person in the browser, played headlessly against Gatehouse's authorization server: a cookie jar, manual
// redirects, the login form (admin token or a local user's one-time token) and the consent form.

import assert from 'node:assert/strict';

/** A minimal browser: a cookie jar and manual redirects (Node's fetch keeps no cookies). */
export class Browser {
  constructor() {
    this.cookies = new Map();
  }

  async fetch(url, init = {}) {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set('Cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return response;
  }

  async postForm(url, fields) {
    return this.fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

const decode = (s) =>
  s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x2B;/g, '+').replace(/&#x2F;/g, '/').replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');

/** The hidden fields of the (only) form on a page. */
export function hiddenFields(html) {
  const fields = [];
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields.push([decode(m[1]), decode(m[2])]);
  }
  return fields;
}

/**
 * Follows an authorization URL through Gatehouse's login and consent pages as a person who signs in with
 * `signInToken` and approves; `checkConsent(html)` may assert what the consent page shows. Resolves with the URL the
 * authorization server sent the browser back to (the client's redirect URI with code, state and iss), unvisited.
 */
export async function approveInBrowser(authorizationUrl, signInToken, { checkConsent } = {}) {
  const browser = new Browser();
  let response = await browser.fetch(authorizationUrl);
  assert.equal(response.status, 302, 'the authorization endpoint sends an unknown browser to the login page');
  const loginUrl = new URL(response.headers.get('location'), authorizationUrl);
  assert.equal(loginUrl.pathname, '/oauth2/login');

  const loginPage = await (await browser.fetch(loginUrl)).text();
  response = await browser.postForm(new URL('/oauth2/login', loginUrl), [...hiddenFields(loginPage), ['token', signInToken]]);
  assert.equal(response.status, 302, 'the sign-in token is accepted');
  const back = new URL(response.headers.get('location'), loginUrl);

  response = await browser.fetch(back);
  assert.equal(response.status, 200, 'a first sign-in of this client shows the consent page');
  assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  const consentPage = await response.text();
  checkConsent?.(consentPage);

  response = await browser.postForm(new URL('/oauth2/authorize', back), [...hiddenFields(consentPage), ['consent', 'accept']]);
  assert.equal(response.status, 302, 'approving redirects to the client');
  return new URL(response.headers.get('location'));
}
