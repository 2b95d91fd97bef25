// rekey's reset page. Served as its own response (GET /reset/app.js) so the
// page's Content-Security-Policy needs no 'unsafe-inline'. No framework, no
// HTML parsing sinks: text only, through textContent.
(function () {
  // Inside the function: the strings come first in the same script, so a
  // directive at the top of this file would not be the script's first.
  "use strict";

  // The API is the directory above this script (<base>/reset/app.js), so
  // the page works under any base path and at either of its paths
  // (/reset, /account/reset). Read before anything else runs.
  var thisScript = document.currentScript;
  var BASE = thisScript && thisScript.src ? new URL("../", thisScript.src).href : new URL(".", window.location.href).href;

  // 1. Take the credentials out of the URL and off the address bar before
  //    anything else: no later request, history entry or screenshot of the
  //    address bar holds them.
  var url = new URL(window.location.href);
  var query = url.searchParams;
  var credential = {
    token: query.get("token"),
    user_id: query.get("user_id"),
    timestamp: query.get("timestamp"),
    signature: query.get("signature"),
    validation_code: query.get("validation_code")
  };
  ["token", "user_id", "timestamp", "signature", "validation_code"].forEach(function (k) { query.delete(k); });
  var rest = query.toString();
  window.history.replaceState(null, "", url.pathname + (rest ? "?" + rest : "") + url.hash);

  // 2. Strings: REKEY_STRINGS, from reset-strings.js, served in front of
  //    this file as one script.
  var STRINGS = window.REKEY_STRINGS;

  function pickLanguage() {
    var wanted = [query.get("lang")].concat(Array.prototype.slice.call(navigator.languages || [navigator.language]));
    for (var i = 0; i < wanted.length; i++) {
      var primary = String(wanted[i] || "").toLowerCase().split(/[-_]/)[0];
      if (Object.prototype.hasOwnProperty.call(STRINGS, primary)) return primary;
    }
    return "en";
  }
  var lang = pickLanguage();
  var S = STRINGS[lang];

  function t(key, vars) {
    var s = S[key] !== undefined ? S[key] : STRINGS.en[key];
    Object.keys(vars || {}).forEach(function (k) { s = s.split("{" + k + "}").join(vars[k]); });
    return s;
  }

  var $ = function (id) { return document.getElementById(id); };
  var status = $("status"), statusText = $("status-text"), statusList = $("status-list");
  var retry = $("retry"), form = $("form"), account = $("account"), input = $("password");
  var show = $("show"), rules = $("rules"), rulesTitle = $("rules-title"), rulesList = $("rules-list");
  var submit = $("submit"), after = $("after"), next = $("continue");

  document.documentElement.lang = lang;
  document.title = t("title");
  Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (el) {
    el.textContent = t(el.getAttribute("data-i18n"));
  });

  // 3. Talking to the API (paths relative to BASE). `dropSuccess`: a 2xx
  //    body is never read (the recovery reset answers tokens the page has no
  //    use for and must not keep).
  function call(method, path, body, dropSuccess) {
    var init = { method: method, headers: { accept: "application/json" }, credentials: "same-origin", cache: "no-store", referrerPolicy: "no-referrer" };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return window.fetch(new URL(path, BASE).href, init).then(function (resp) {
      if (dropSuccess && resp.ok) {
        if (resp.body && resp.body.cancel) resp.body.cancel();
        return { status: resp.status, body: null, retryAfter: null };
      }
      return resp.text().then(function (text) {
        var json = null;
        try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
        return { status: resp.status, body: json, retryAfter: resp.headers.get("retry-after") };
      });
    }, function () {
      return { status: 0, body: null, retryAfter: null };
    });
  }

  // 4. Rendering.
  function fill(list, items) {
    while (list.firstChild) list.removeChild(list.firstChild);
    items.forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      list.appendChild(li);
    });
    list.hidden = items.length === 0;
  }

  var FINAL = { done: true, expired: true, used: true, invalid: true };
  var retryAction = null;

  function setState(state, text, items, opts) {
    opts = opts || {};
    status.setAttribute("data-state", state);
    document.body.setAttribute("data-state", state);
    // Problems are announced at once; progress politely.
    status.setAttribute("aria-live", /^(weak|expired|used|invalid|limited|unavailable)$/.test(state) ? "assertive" : "polite");
    statusText.textContent = text;
    fill(statusList, items || []);
    retryAction = opts.retry || null;
    retry.hidden = !retryAction;
    if (FINAL[state]) {
      form.hidden = true;
      input.value = "";
      // The server put the configured application's URL in its href, or
      // none: nothing of the link ever goes into it. With it, the way on
      // replaces "you can close this page".
      next.hidden = !(state === "done" && next.getAttribute("href"));
      after.hidden = state !== "done" || !next.hidden;
      after.textContent = state === "done" ? t("doneAfter") : "";
      status.setAttribute("tabindex", "-1");
      status.focus();
    }
  }

  function duration(seconds) {
    if (seconds < 60) return seconds === 1 ? t("second") : t("seconds", { n: seconds });
    var m = Math.ceil(seconds / 60);
    return m === 1 ? t("minute") : t("minutes", { n: m });
  }

  function retryAfterSeconds(value) {
    if (!value) return null;
    if (/^\d+$/.test(value.trim())) return parseInt(value, 10);
    var at = Date.parse(value);
    return isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
  }

  var RULE_PATTERNS = [
    ["min_length", /at least \d+ characters/],
    ["max_length", /at most \d+ characters/],
    ["character_classes", /at least \d+ of/],
    ["guessable", /too easy to guess/],
    ["compromised", /data breach/],
    ["context_words", /service's name|user's name/],
    ["common", /common/],
    ["contains_email", /email/],
    ["reused", /recent|reuse|previous/],
    ["control_characters", /control characters/]
  ];

  // One failed rule, in the page's language: by its name when the API
  // gives it (Unleash's details), else recognised from the English text
  // (django-rest-registration's field errors); the server's text otherwise.
  function ruleText(rule, message) {
    message = message || "";
    if (!rule) {
      for (var i = 0; i < RULE_PATTERNS.length; i++) {
        if (RULE_PATTERNS[i][1].test(message)) { rule = RULE_PATTERNS[i][0]; break; }
      }
    }
    var n = (message.match(/\d+/) || [""])[0];
    if (rule && S["rule_" + rule] && (n || !/\{n\}/.test(S["rule_" + rule]))) {
      return t("rule_" + rule, { n: n });
    }
    return message.replace(/^The password /, "").replace(/\.$/, "");
  }

  function failedRules(body) {
    if (body && Array.isArray(body.details)) {
      return body.details.map(function (d) { return ruleText(d.rule, d.message); });
    }
    if (body && Array.isArray(body.password)) {
      return body.password.map(function (m) { return ruleText(null, String(m)); });
    }
    return [];
  }

  // The recovery contract names each failed rule in its error_description:
  // "the password does not meet the policy: common (…); min_length (…)".
  function oauthRules(body) {
    var text = body && typeof body.error_description === "string" ? body.error_description : "";
    var at = text.indexOf("policy: ");
    if (body.error !== "invalid_request" || at < 0) return [];
    return text.slice(at + 8).split(/; (?=[a-z_]+ \()/).map(function (part) {
      var m = part.match(/^([a-z_]+) \(([\s\S]*)\)$/);
      return m ? ruleText(m[1], m[2]) : ruleText(null, part);
    });
  }

  var enableTimer = null;
  function limited(retryAfter, again) {
    var secs = retryAfterSeconds(retryAfter);
    setState("limited", secs === null ? t("limitedSoon") : t("limited", { time: duration(secs) }), [], { retry: again });
    if (secs !== null) {
      // Nothing to retry before the time is up.
      retry.disabled = true;
      submit.disabled = true;
      window.clearTimeout(enableTimer);
      enableTimer = window.setTimeout(function () { retry.disabled = false; submit.disabled = false; }, secs * 1000);
    }
  }

  function unavailable(again) {
    setState("unavailable", t("unavailable"), [], { retry: again });
  }

  function showForm(state, text) {
    setState(state, text);
    form.hidden = false;
  }

  retry.addEventListener("click", function () {
    if (retryAction) retryAction();
  });

  // 5. The link: a token, a recovery link's validation_code or a signed
  //    link. Each is checked only when the reset is posted, the secret in
  //    the POST body: the page never puts it in a URL (Unleash's token
  //    check, a GET with the token in its query, would carry it into access
  //    logs and proxies). Only its shape is checked here.
  var recovery = !credential.token && credential.validation_code !== null;
  var signed = !credential.token && !recovery && !!(credential.user_id || credential.timestamp || credential.signature);

  function checkLink() {
    setState("loading", t("checking"));
    var wellFormed = recovery
      ? /^rkt_[A-Za-z0-9_-]{8,500}$/.test(credential.validation_code)
      : signed
      ? !!credential.user_id && /^\d{1,12}$/.test(credential.timestamp || "") && !!credential.signature
      : /^rkt_[A-Za-z0-9_-]{8,500}$/.test(credential.token || "");
    if (!wellFormed) return setState("invalid", t("invalid"));
    account.hidden = true;
    showForm("ready", t("ready"));
    input.focus();
  }

  // 6. The rules, live, as the password is typed (debounced).
  var checkTimer = null, checkSeq = 0;
  function clearRules() {
    rules.removeAttribute("data-ok");
    rulesTitle.textContent = "";
    fill(rulesList, []);
  }
  function checkRules() {
    var password = input.value;
    var seq = ++checkSeq;
    if (!password) return clearRules();
    call("POST", "auth/reset/validate-password", { password: password }).then(function (r) {
      if (seq !== checkSeq) return; // a newer check is under way
      if (r.status === 200) {
        rules.setAttribute("data-ok", "true");
        rulesTitle.textContent = "✓ " + t("rulesOk");
        fill(rulesList, []);
      } else if (r.status === 400 && failedRules(r.body).length) {
        rules.setAttribute("data-ok", "false");
        rulesTitle.textContent = t("rulesFailed");
        fill(rulesList, failedRules(r.body));
      } else {
        clearRules(); // the reset itself checks again
      }
    });
  }
  input.addEventListener("input", function () {
    input.removeAttribute("aria-invalid");
    window.clearTimeout(checkTimer);
    checkSeq++;
    checkTimer = window.setTimeout(checkRules, 350);
  });
  show.addEventListener("change", function () {
    input.type = show.checked ? "text" : "password";
  });

  // 7. The reset.
  var busy = false;
  function weak(items) {
    setState("weak", t("weak"), items);
    form.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }

  function reset() {
    var password = input.value;
    if (!password) return weak([t("empty")]);
    busy = true;
    submit.disabled = true;
    submit.textContent = t("saving");
    var request = recovery
      ? call("POST", "api/v2/account/reset/", { validation_code: credential.validation_code, password: password }, true)
      : signed
      ? call("POST", "api/v1/iam/accounts/reset-password/", {
          user_id: credential.user_id,
          timestamp: parseInt(credential.timestamp, 10),
          signature: credential.signature,
          password: password
        })
      : call("POST", "auth/reset/password", { token: credential.token, password: password });
    request.then(function (r) {
      busy = false;
      submit.disabled = false;
      submit.textContent = t("submit");
      var body = r.body || {};
      if (r.status === 200) {
        setState("done", t("done"));
      } else if (r.status === 429) {
        limited(r.retryAfter, reset);
      } else if (r.status === 0 || r.status >= 500) {
        unavailable(reset);
      } else if (recovery) {
        // OAuth 2.0's dialect: one invalid_grant for an unknown, expired
        // or used code; the failed rules inside an invalid_request.
        if (body.error === "invalid_grant") setState("expired", t("expired"));
        else if (r.status === 400 && oauthRules(body).length) weak(oauthRules(body));
        else setState("invalid", t("invalid"));
      } else if (signed) {
        if (r.status === 400 && Array.isArray(body.password)) weak(failedRules(body));
        else if (body.detail === "Signature expired") setState("expired", t("expired"));
        else setState("invalid", t("invalid"));
      } else if (r.status === 400 && body.name === "PasswordPolicyError") {
        weak(failedRules(body));
      } else if (r.status === 401) {
        setState("expired", t("expired"));
      } else if (r.status === 403) {
        setState("used", t("used"));
      } else {
        setState("invalid", t("invalid"));
      }
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!busy && !submit.disabled) reset();
  });

  checkLink();
})();
