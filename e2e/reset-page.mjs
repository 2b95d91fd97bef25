// The hosted reset page in a real browser (Debian's chromium, driven by
// playwright-core), against a running `rekeyctl serve`. Run by
// scripts/checks/browser-e2e, which starts the server:
//
//   node e2e/reset-page.mjs --base http://127.0.0.1:PORT --rekeyctl BIN \
//        --data-dir DIR --chromium /usr/bin/chromium --screenshots DIR \
//        --continue-url URL
//
// --continue-url is the server's REKEY_CONTINUE_URL: the link the page must
// offer after every successful reset.
//
// Prints one line per check and `browser-e2e: N passed, M failed` last;
// exits non-zero on any failure.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
for (const need of ["base", "rekeyctl", "data-dir", "screenshots", "continue-url"]) {
  if (!args[need]) {
    console.error(`reset-page.mjs: --${need} is required`);
    process.exit(2);
  }
}
const BASE = args.base;
const DATA = args["data-dir"];
const SHOTS = args.screenshots;
const EXE = args.chromium || "/usr/bin/chromium";
const CONTINUE = args["continue-url"];
const TIMEOUT = 15_000;

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok    ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL  ${name}\n      ${String(e && e.stack ? e.stack : e).split("\n").slice(0, 6).join("\n      ")}`);
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function rekeyctl(argv, input) {
  return execFileSync(args.rekeyctl, argv, {
    env: { ...process.env, REKEY_DATA_DIR: DATA },
    input,
    encoding: "utf8",
    timeout: 60_000,
  }).trim();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The newest link in the outbox matching `pattern`, waiting for new mail. */
async function waitForLink(pattern, seen) {
  const outbox = join(DATA, "outbox");
  const deadline = Date.now() + TIMEOUT;
  while (Date.now() < deadline) {
    let files = [];
    try {
      files = readdirSync(outbox)
        .filter((f) => f.endsWith(".eml") && !seen.has(f))
        .map((f) => ({ f, t: statSync(join(outbox, f)).mtimeMs }))
        .sort((a, b) => a.t - b.t);
    } catch {
      files = [];
    }
    for (const { f } of files) {
      seen.add(f);
      const m = readFileSync(join(outbox, f), "utf8").match(pattern);
      if (m) return m[0];
    }
    await sleep(100);
  }
  throw new Error(`no mail with ${pattern} in ${outbox} within ${TIMEOUT} ms`);
}

const state = (page) => page.locator("#status").getAttribute("data-state");
async function waitForState(page, want) {
  await page.waitForSelector(`#status[data-state="${want}"]`, { timeout: TIMEOUT });
}
/** After success: the continue link, exactly the configured URL. */
async function continueOffered(page, secret) {
  const link = page.locator("#continue");
  assert(await link.isVisible(), "the continue link is shown");
  const href = await link.getAttribute("href");
  assert(href === CONTINUE, `continue href ${href}, configured ${CONTINUE}`);
  assert(!href.includes(secret), "no secret in the continue link");
  assert((await link.getAttribute("rel")) === "noreferrer", "rel=noreferrer");
  assert((await link.textContent()) === "Continue", `link text ${await link.textContent()}`);
  assert(await page.locator("#after").isHidden(), "the link replaces \"you can close this page\"");
}
/**
 * Every request a page makes and every address its tab shows, from now on:
 * for `secretsStayOutOfUrls`.
 */
function recordTraffic(page) {
  const traffic = { requests: [], addresses: [] };
  page.on("request", (req) => traffic.requests.push({ url: req.url(), method: req.method(), body: req.postData() || "" }));
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame()) traffic.addresses.push(f.url());
  });
  return traffic;
}
/**
 * After the first load of `link`, no address the tab showed and no request
 * URL held `secret` (raw or percent-encoded); it went out only in the bodies
 * of POSTs to `redeem`, `posts` times. Each load of the link is its own
 * first request.
 */
function secretsStayOutOfUrls(traffic, link, secret, redeem, posts) {
  assert(secret && secret.length >= 8, `a secret to look for: ${secret}`);
  const forms = [secret, encodeURIComponent(secret)];
  const holds = (u) => forms.some((f) => u.includes(f));
  const loads = traffic.requests.filter((q) => q.url === link);
  assert(loads.length >= 1 && traffic.requests[0].url === link, `first request ${traffic.requests[0] && traffic.requests[0].url}`);
  for (const q of traffic.requests) {
    if (q.url === link && q.method === "GET") continue; // the mailed link itself, opened
    assert(!holds(q.url), `a URL the page built holds the secret: ${q.method} ${q.url}`);
  }
  const shown = traffic.addresses.filter((a) => a !== link);
  assert(traffic.addresses.length > shown.length, `the link was shown first: ${traffic.addresses[0]}`);
  for (const a of shown) assert(!holds(a), `the address bar held the secret: ${a}`);
  const carrying = traffic.requests.filter((q) => q.body.includes(secret));
  assert(carrying.length === posts && carrying.every((q) => q.method === "POST" && q.url === `${BASE}${redeem}`),
    `the secret only in ${posts} POST bodies to ${redeem}: ${carrying.map((q) => `${q.method} ${q.url}`)}`);
}
/** A strong password, typed and submitted, on a page in the ready state. */
async function submitStrong(page, password) {
  await page.fill("#password", "");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
}
async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

const email = `ada.${Date.now()}@example.com`;
const signedEmail = `grace.${Date.now()}@example.com`;
const recoveryEmail = `hedy.${Date.now()}@example.com`;
const oldPassword = "Old-Passw0rd-kept-long";
const newPassword = "Fresh-Horse-42-Battery";
const seen = new Set();

const profile = mkdtempSync(join(tmpdir(), "rekey-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: EXE,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 480, height: 640 },
  deviceScaleFactor: 1,
  locale: "en-GB",
});
context.setDefaultTimeout(TIMEOUT);

// Every page: CSP violations and script errors fail the check they occur in.
const problems = [];
function watch(page) {
  page.on("console", (m) => {
    // A 4xx answer is logged as "Failed to load resource": expected here.
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  return page;
}
function noProblems() {
  const found = problems.splice(0);
  assert(found.length === 0, `console errors: ${found.join(" | ")}`);
}

let link = "";
try {
  await check("the page and its assets carry the strict headers", async () => {
    for (const path of ["/reset?token=rkt_x", "/account/reset?validation_code=rkt_x", "/reset/app.js", "/reset/app.css"]) {
      const r = await fetch(BASE + path);
      assert(r.status === 200, `${path}: ${r.status}`);
      const csp = r.headers.get("content-security-policy") || "";
      assert(csp.includes("default-src 'none'") && csp.includes("script-src 'self'"), `${path}: CSP ${csp}`);
      assert(!csp.includes("unsafe-inline"), `${path}: unsafe-inline in ${csp}`);
      assert(r.headers.get("referrer-policy") === "no-referrer", `${path}: Referrer-Policy`);
      assert(r.headers.get("cache-control") === "no-store", `${path}: Cache-Control`);
      assert(r.headers.get("x-frame-options") === "DENY", `${path}: X-Frame-Options`);
      assert(r.headers.get("x-content-type-options") === "nosniff", `${path}: X-Content-Type-Options`);
    }
  });

  await check("a malformed link shows the invalid state", async () => {
    const page = watch(await context.newPage());
    await page.goto(`${BASE}/reset?token=not-a-token`);
    await waitForState(page, "invalid");
    assert(!page.url().includes("token"), `the token is still in the address bar: ${page.url()}`);
    assert((await page.locator("#form").isHidden()), "the form is hidden");
    await shot(page, "invalid");
    await page.close();
    noProblems();
  });

  await check("an unknown or expired token: the form, then the expired state on submit (401), the token in no URL", async () => {
    const page = watch(await context.newPage());
    const traffic = recordTraffic(page);
    const unknown = `${BASE}/reset?token=rkt_${"A".repeat(43)}`;
    await page.goto(unknown);
    await waitForState(page, "ready");
    await submitStrong(page, newPassword);
    await waitForState(page, "expired");
    const text = await page.locator("#status-text").textContent();
    assert(/expired or is no longer valid/.test(text), text);
    assert(await page.locator("#form").isHidden(), "the form is gone");
    assert(await page.locator("#continue").isHidden(), "no continue link after a refusal");
    secretsStayOutOfUrls(traffic, unknown, `rkt_${"A".repeat(43)}`, "/auth/reset/password", 1);
    await shot(page, "expired");
    await page.close();
    noProblems();
  });

  await check("a user and a reset requested through POST /api/User/authreset", async () => {
    rekeyctl(["user", "add", "--email", email, "--name", "Ada", "--password-stdin"], `${oldPassword}\n`);
    const key = rekeyctl(["key", "create", "--scope", "reset:request"]).split(/\s+/).find((w) => w.startsWith("rkk_"));
    assert(key, "a key");
    const r = await fetch(`${BASE}/api/User/authreset`, {
      method: "POST",
      headers: { requestToken: key, "content-type": "application/json" },
      body: JSON.stringify({ email }),
    });
    assert(r.status === 200, `authreset: ${r.status}`);
    link = await waitForLink(/http:\/\/[^\s]+\/reset\?token=rkt_[A-Za-z0-9_-]+/, seen);
    assert(link.startsWith(`${BASE}/reset?token=`), `the mail links to the page: ${link}`);
  });

  await check("320 px wide: the ready state fits, nothing scrolls sideways", async () => {
    const page = watch(await context.newPage());
    await page.setViewportSize({ width: 320, height: 640 });
    await page.goto(link);
    await waitForState(page, "ready");
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(width <= 320, `scrollWidth ${width}`);
    await shot(page, "ready-320");
    await page.close();
    noProblems();
  });

  const page = watch(await context.newPage());
  const traffic = recordTraffic(page);
  await check("the link opens the ready state, the token off the address bar and in no request yet", async () => {
    await page.goto(link);
    await waitForState(page, "ready");
    assert(!page.url().includes("token="), `address bar: ${page.url()}`);
    const token = new URL(link).searchParams.get("token");
    const sent = traffic.requests.slice(1).filter((q) => q.url.includes(token) || q.body.includes(token));
    assert(sent.length === 0, `the token went out before the reset: ${sent.map((q) => `${q.method} ${q.url}`)}`);
    const text = await page.locator("#status-text").textContent();
    assert(text === "Choose a new password.", `the ready text: ${text}`);
    assert(await page.evaluate(() => document.activeElement && document.activeElement.id === "password"), "focus on the password field");
    assert((await page.locator("label[for=password]").textContent()) === "New password", "labelled");
    assert((await page.locator("#status").getAttribute("aria-live")) !== null, "status is a live region");
    await shot(page, "ready");
    noProblems();
  });

  await check("a weak password: the rules live, then each failed rule on submit (keyboard only)", async () => {
    await page.keyboard.type("password");
    await page.waitForSelector('#rules[data-ok="false"] #rules-list li');
    const live = await page.locator("#rules-list li").allTextContents();
    // validate-password applies the default (NIST) profile: length, the list; no composition rule.
    assert(live.some((t) => /at least 15 characters/.test(t)) && live.some((t) => /common/.test(t)), `live rules: ${live}`);
    // Tab to the checkbox, Tab to the button, Enter.
    await page.keyboard.press("Tab");
    assert(await page.evaluate(() => document.activeElement.id === "show"), "Tab reaches the checkbox");
    await page.keyboard.press("Tab");
    assert(await page.evaluate(() => document.activeElement.id === "submit"), "Tab reaches the button");
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert(outline !== "none", `focus is visible (outline ${outline})`);
    await page.keyboard.press("Enter");
    await waitForState(page, "weak");
    const items = await page.locator("#status-list li").allTextContents();
    assert(items.length >= 2, `each failed rule: ${items}`);
    assert((await page.locator("#status").getAttribute("aria-live")) === "assertive", "the error is announced");
    assert((await page.locator("#password").getAttribute("aria-invalid")) === "true", "aria-invalid");
    assert(await page.evaluate(() => document.activeElement.id === "password"), "focus back on the field");
    await shot(page, "weak");
    noProblems();
  });

  await check("a strong password: the rules are met, the reset succeeds", async () => {
    await page.fill("#password", "");
    await page.keyboard.type(newPassword);
    await page.waitForSelector('#rules[data-ok="true"]');
    await page.keyboard.press("Enter");
    await waitForState(page, "done");
    assert(await page.locator("#form").isHidden(), "the form is gone");
    assert((await page.locator("#password").inputValue()) === "", "the password is cleared");
    await continueOffered(page, new URL(link).searchParams.get("token"));
    await shot(page, "done");
    // The weak and the strong submit: the token in those two bodies only.
    secretsStayOutOfUrls(traffic, link, new URL(link).searchParams.get("token"), "/auth/reset/password", 2);
    assert(traffic.requests.some((q) => q.url === `${BASE}/auth/reset/validate-password`), "the rules were checked live");
    noProblems();
  });

  await check("the audit trail has the successful reset", async () => {
    const deadline = Date.now() + TIMEOUT;
    let out = "";
    while (Date.now() < deadline) {
      out = rekeyctl(["audit", email]);
      if (/success/i.test(out)) break;
      await sleep(200);
    }
    assert(/success/i.test(out), `rekeyctl audit ${email}:\n${out}`);
  });

  await check("the same link again: the form, then the already-used state on submit (403), the token in no URL", async () => {
    const again = watch(await context.newPage());
    const traffic = recordTraffic(again);
    await again.goto(link);
    await waitForState(again, "ready");
    await submitStrong(again, "Another-Horse-43-Battery");
    await waitForState(again, "used");
    const text = await again.locator("#status-text").textContent();
    assert(/already been used/.test(text), text);
    assert(await again.locator("#form").isHidden(), "the form is gone");
    assert(await again.locator("#continue").isHidden(), "no continue link after a refusal");
    secretsStayOutOfUrls(traffic, link, new URL(link).searchParams.get("token"), "/auth/reset/password", 1);
    await shot(again, "used");
    await again.close();
    noProblems();
  });

  await check("a second reset with the same token is refused (403)", async () => {
    const token = new URL(link).searchParams.get("token");
    const r = await fetch(`${BASE}/auth/reset/password`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token, password: "Another-Horse-43-Battery" }),
    });
    assert(r.status === 403, `a second reset with the link: ${r.status}`);
  });
  await page.close();

  await check("rate limited (429): when to retry, from Retry-After", async () => {
    const p = watch(await context.newPage());
    await p.route("**/auth/reset/password", (route) =>
      route.fulfill({
        status: 429,
        headers: { "content-type": "application/json", "retry-after": "120" },
        body: JSON.stringify({ name: "TooManyRequestsError", message: "Too many requests.", details: [] }),
      }),
    );
    await p.goto(`${BASE}/reset?token=rkt_${"B".repeat(43)}`);
    await waitForState(p, "ready");
    await submitStrong(p, newPassword);
    await waitForState(p, "limited");
    const text = await p.locator("#status-text").textContent();
    assert(/try again in 2 minutes/i.test(text), text);
    await shot(p, "limited");
    await p.close();
    problems.splice(0); // the 429 itself is logged as a failed resource
  });

  await check("service unavailable (network error), then retry works", async () => {
    const p = watch(await context.newPage());
    let fail = true;
    await p.route("**/auth/reset/password", (route) => (fail ? route.abort() : route.continue()));
    await p.goto(`${BASE}/reset?token=rkt_${"C".repeat(43)}`);
    await waitForState(p, "ready");
    await submitStrong(p, newPassword);
    await waitForState(p, "unavailable");
    await shot(p, "unavailable");
    fail = false;
    await p.locator("#retry").click();
    await waitForState(p, "expired");
    await p.close();
    problems.splice(0);
  });

  await check("localised: German with ?lang=de", async () => {
    const p = watch(await context.newPage());
    await p.goto(`${BASE}/reset?lang=de&token=nope`);
    await waitForState(p, "invalid");
    assert((await p.locator("h1").textContent()) === "Passwort zurücksetzen", "German title");
    assert((await p.evaluate(() => document.documentElement.lang)) === "de", "html lang");
    assert(p.url().endsWith("/reset?lang=de"), `only the credential is removed: ${p.url()}`);
    await p.close();
    noProblems();
  });

  await check("a signed link (send-reset-password-link) resets through the same page", async () => {
    rekeyctl(["user", "add", "--email", signedEmail, "--name", "Grace", "--password-stdin"], `${oldPassword}\n`);
    const r = await fetch(`${BASE}/api/v1/iam/accounts/send-reset-password-link/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ login: signedEmail }),
    });
    assert(r.status === 200, `send-reset-password-link: ${r.status}`);
    const signed = await waitForLink(/http:\/\/[^\s]+\/reset\?user_id=[^\s]+/, seen);
    const p = watch(await context.newPage());
    const traffic = recordTraffic(p);
    await p.goto(signed);
    await waitForState(p, "ready");
    assert(!/signature|user_id|timestamp/.test(p.url()), `address bar: ${p.url()}`);
    await p.keyboard.type(newPassword);
    await p.keyboard.press("Enter");
    await waitForState(p, "done");
    await continueOffered(p, new URL(signed).searchParams.get("signature"));
    await p.goto(signed);
    await waitForState(p, "ready");
    await p.keyboard.type("Yet-Another-Horse-44");
    await p.keyboard.press("Enter");
    await waitForState(p, "invalid"); // the signature died with the change
    secretsStayOutOfUrls(traffic, signed, new URL(signed).searchParams.get("signature"), "/api/v1/iam/accounts/reset-password/", 2);
    await p.close();
    problems.splice(0);
  });

  await check("a recovery link (POST /api/v2/account/recover/) resets through the same page, the code never in a URL it builds", async () => {
    rekeyctl(["user", "add", "--email", recoveryEmail, "--name", "Hedy", "--password-stdin"], `${oldPassword}\n`);
    const r = await fetch(`${BASE}/api/v2/account/recover/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: recoveryEmail }),
    });
    assert(r.status === 200, `recover: ${r.status}`);
    const recovery = await waitForLink(/http:\/\/[^\s"<>]+\/account\/reset\?validation_code=rkt_[A-Za-z0-9_-]+/, seen);
    assert(recovery.startsWith(`${BASE}/account/reset?validation_code=`), `the default recovery link: ${recovery}`);
    const code = new URL(recovery).searchParams.get("validation_code");

    const p = watch(await context.newPage());
    const traffic = recordTraffic(p);
    await p.goto(recovery);
    await waitForState(p, "ready");
    assert(!p.url().includes(code) && !p.url().includes("validation_code"), `address bar: ${p.url()}`);
    assert(await p.locator("#continue").isHidden(), "no continue link before success");

    // The policy's errors, through the OAuth dialect, rule by rule.
    await p.keyboard.type("password");
    await p.waitForSelector('#rules[data-ok="false"] #rules-list li');
    await p.keyboard.press("Enter");
    await waitForState(p, "weak");
    const items = await p.locator("#status-list li").allTextContents();
    assert(items.some((t) => /at least 3 of/.test(t)) && items.some((t) => /common/.test(t)), `each failed rule: ${items}`);

    await p.fill("#password", "");
    await p.keyboard.type(newPassword);
    await p.waitForSelector('#rules[data-ok="true"]');
    await p.keyboard.press("Enter");
    await waitForState(p, "done");
    await continueOffered(p, code);
    // The tokens reset-account answers are neither shown nor kept.
    const kept = await p.evaluate(() => [document.documentElement.outerHTML, JSON.stringify(localStorage), JSON.stringify(sessionStorage), document.cookie].join("\n"));
    assert(!/rkr_|eyJ/.test(kept), "a token is on the page or in its storage");
    await shot(p, "recovery-done");

    // After the first load, no address the tab showed and no request URL
    // held the code; it went out only in the reset's POST bodies.
    secretsStayOutOfUrls(traffic, recovery, code, "/api/v2/account/reset/", 2);
    assert(traffic.requests.some((q) => q.url === `${BASE}/auth/reset/validate-password`), "the rules were checked live");

    // The code is spent: the same link again, a second submit is refused.
    await p.goto(recovery);
    await waitForState(p, "ready");
    await p.keyboard.type("Another-Horse-43-Battery");
    await p.keyboard.press("Enter");
    await waitForState(p, "expired");
    const text = await p.locator("#status-text").textContent();
    assert(/expired or is no longer valid/.test(text), text);
    assert(await p.locator("#continue").isHidden(), "no continue link after a refusal");
    assert(!p.url().includes(code), `address bar: ${p.url()}`);
    secretsStayOutOfUrls(traffic, recovery, code, "/api/v2/account/reset/", 3);
    await p.close();
    noProblems(); // the 400s are "Failed to load resource", which watch() expects
  });
} catch (e) {
  failed++;
  console.log(`FAIL  (aborted) ${e && e.stack ? e.stack : e}`);
} finally {
  await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}

console.log(`browser-e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
