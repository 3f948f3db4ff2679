// The Airlock console: a client of the same API as everyone else. Reads that span
// the fleet go through GraphQL (one request a screen); writes go through REST,
// whose 422 `details` name the fields to show errors at. The access token lives in
// this module's memory only: reloading the page signs out.

import { h, svg, replace, pretty, ago, duration, ms, badge } from "./dom.js";
import { SchemaForm } from "./form.js";

const view = document.getElementById("view");
const CATEGORIES = ["osint", "financial", "social", "dark-web", "telemetry", "custom"];
const STATUSES = ["error", "degraded", "active", "registered", "disabled"];
const STANDARDS = ["stix-2.1", "cap-1.2", "ais", "niem", "stanag-4607", "json"];
const LIMITS = [
  ["cpu_ms", "CPU time per call (ms)"],
  ["wall_ms", "Wall time per call (ms)"],
  ["memory_mb", "Memory (MiB, lower only)"],
  ["max_http_requests", "Outbound requests per call"],
  ["max_output_mb", "Output per call (MiB)"],
];

/** The signed-in session: `{token, exp, tenant, client, scopes}`, or null. */
let session = null;
/** What the current screen must stop when it is left (timers, streams). */
let cleanups = [];
/** Bumped by every navigation and sign-out: a screen still loading when it changes
 * has been left, and must not draw (see `alive`). */
let generation = 0;

/** A function telling whether the screen started now is still the one shown. */
function aliveFrom() {
  const mine = generation;
  return () => mine === generation && session !== null;
}
let expiryTimer = null;

// ---------------------------------------------------------------------------
// The API

class ApiFailure extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `the server answered ${status}`);
    this.status = status;
    this.code = e.code || "";
    this.details = e.details || [];
    this.body = body;
  }
}

async function rest(method, path, body) {
  if (!session) throw new ApiFailure(401, null);
  const headers = { Authorization: `Bearer ${session.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, credentials: "omit", body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401) {
    signOut("Your session ended: sign in again.");
    throw new ApiFailure(401, null);
  }
  const text = await r.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!r.ok) throw new ApiFailure(r.status, parsed);
  return { status: r.status, body: parsed };
}

async function gql(query, variables = {}) {
  if (!session) throw new ApiFailure(401, null);
  const r = await fetch("/graphql", {
    method: "POST",
    credentials: "omit",
    headers: { Authorization: `Bearer ${session.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  if (r.status === 401) {
    signOut("Your session ended: sign in again.");
    throw new ApiFailure(401, null);
  }
  const body = await r.json();
  if (body.errors && body.errors.length) {
    const e = body.errors[0];
    const failure = new ApiFailure(r.status, { error: { message: e.message, code: e.extensions && e.extensions.code } });
    throw failure;
  }
  return body.data;
}

// ---------------------------------------------------------------------------
// Signing in and out

function claimsOf(token) {
  const part = token.split(".")[1] || "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
  return JSON.parse(json);
}

function signOut(message) {
  session = null;
  generation += 1;
  clearTimeout(expiryTimer);
  document.getElementById("nav").hidden = true;
  document.getElementById("signout").hidden = true;
  document.getElementById("who").textContent = "";
  signInScreen(message);
}

function signInScreen(message) {
  stopScreen();
  const id = h("input", { id: "client-id", name: "client_id", autocomplete: "username", required: true, spellcheck: "false" });
  const secret = h("input", { id: "client-secret", name: "client_secret", type: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "form-error", role: "alert", hidden: !message }, message || "");
  const form = h("form", { class: "signin", novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    error.hidden = true;
    // `omit`: no cookies, and no browser prompt on the token endpoint's 401 (RFC
    // 6749 §5.2 challenges with `Basic`, which would otherwise open a dialog).
    let r;
    try {
      r = await fetch("/oauth/token", {
        method: "POST",
        credentials: "omit",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "client_credentials", client_id: id.value.trim(), client_secret: secret.value }),
      });
    } catch (err) {
      error.textContent = `The server could not be reached: ${err.message}`;
      error.hidden = false;
      return;
    }
    const body = await r.json().catch(() => ({}));
    if (!r.ok || !body.access_token) {
      error.textContent = body.error_description || `Sign-in failed (${r.status}).`;
      error.hidden = false;
      secret.focus();
      return;
    }
    const claims = claimsOf(body.access_token);
    session = { token: body.access_token, exp: claims.exp, tenant: claims.tenant_id, client: claims.client_id, scopes: (claims.scope || "").split(" ") };
    secret.value = "";
    expiryTimer = setTimeout(() => signOut("Your session expired: sign in again."), Math.max(0, claims.exp * 1000 - Date.now()));
    document.getElementById("nav").hidden = false;
    document.getElementById("signout").hidden = false;
    document.getElementById("who").textContent = `${session.client} · tenant ${session.tenant}`;
    if (!location.hash || location.hash === "#/signin") location.hash = "#/fleet";
    else route();
  } },
  h("h1", {}, "Sign in"),
  h("p", {}, "With an OAuth client of your tenant (client credentials). The token stays in this page's memory: reloading signs out."),
  error,
  h("div", { class: "field" }, h("label", { for: "client-id" }, "Client id"), id),
  h("div", { class: "field" }, h("label", { for: "client-secret" }, "Client secret"), secret),
  h("button", { type: "submit" }, "Sign in"));
  replace(view, form);
  id.focus();
}

// ---------------------------------------------------------------------------
// Routing

function stopScreen() {
  for (const stop of cleanups) stop();
  cleanups = [];
}

const ROUTES = [
  [/^#\/fleet$/, (m, alive) => fleetScreen(alive)],
  [/^#\/catalogue(?:\?(.*))?$/, (m, alive) => catalogueScreen(new URLSearchParams(m[1] || ""), alive)],
  [/^#\/connectors\/([^/?]+)$/, (m, alive) => connectorScreen(decodeURIComponent(m[1]), alive)],
  [/^#\/connectors\/([^/?]+)\/deploy(?:\?(.*))?$/, (m, alive) => deployScreen(decodeURIComponent(m[1]), new URLSearchParams(m[2] || ""), alive)],
  [/^#\/connectors\/([^/?]+)\/actions\/([^/?]+)$/, (m, alive) => actionScreen(decodeURIComponent(m[1]), decodeURIComponent(m[2]), alive)],
  [/^#\/events$/, () => eventsScreen()],
];

async function route() {
  if (!session) return signInScreen();
  if (flash && flash[0] !== location.hash) flash = null;
  stopScreen();
  generation += 1;
  const alive = aliveFrom();
  const hash = location.hash || "#/fleet";
  for (const link of document.querySelectorAll("#nav a")) {
    const here = hash.startsWith(link.getAttribute("href"));
    if (here) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  for (const [pattern, screen] of ROUTES) {
    const m = pattern.exec(hash);
    if (m) {
      replace(view, h("p", { class: "loading", role: "status" }, "Loading…"));
      try {
        await screen(m, alive);
      } catch (e) {
        if (alive() && e.status !== 401) replace(view, h("h1", {}, "Something went wrong"), h("p", { class: "form-error", role: "alert" }, e.message));
      }
      if (!alive()) return;
      const heading = view.querySelector("h1");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus({ preventScroll: true });
      }
      return;
    }
  }
  replace(view, h("h1", {}, "Not found"), h("p", {}, "No such screen. ", h("a", { href: "#/fleet" }, "Go to the fleet.")));
}

// ---------------------------------------------------------------------------
// Fleet

// The fleet in two steps under the API's complexity limit: every connector's
// status and deployments in one query, then the heartbeats of ten connectors a
// query (aliased `connector` fields).
const FLEET = `query Fleet {
  registrySummary { total registered active degraded error disabled
    byCategory { category total registered active degraded error disabled } }
  connectors(first: 200) { totalCount nodes { id name category status statusReason
    deployments { target schedule nextPollAt pausedReason staleAfter lastDataAt
      lastPoll { finishedAt outcome published } } } } }`;
const HEARTBEATS = "heartbeats(last: 30) { stats { count failed p50Ms p95Ms p99Ms } items { at ok latencyMs } }";

async function heartbeatsOf(ids) {
  const out = {};
  for (let i = 0; i < ids.length; i += 10) {
    const chunk = ids.slice(i, i + 10);
    const vars = chunk.map((_, j) => `$c${j}: ID!`).join(", ");
    const fields = chunk.map((_, j) => `c${j}: connector(id: $c${j}) { id ${HEARTBEATS} }`).join("\n");
    const data = await gql(`query Heartbeats(${vars}) { ${fields} }`, Object.fromEntries(chunk.map((id, j) => [`c${j}`, id])));
    for (const c of Object.values(data)) out[c.id] = c.heartbeats;
  }
  return out;
}

function heartbeatChart(items) {
  const bars = [...items].reverse();
  const width = 4 * 40;
  const max = Math.max(1, ...bars.map((b) => b.latencyMs || 0));
  const failed = bars.filter((b) => !b.ok).length;
  return svg("svg", { class: "chart", width, height: 24, viewBox: `0 0 ${width} 24`, role: "img",
    "aria-label": `${bars.length} recent heartbeats, ${failed} failed` },
  bars.map((b, i) => {
    // Height: latency (square root, so fast calls still show); a failure is a full red bar.
    const height = b.ok ? 4 + Math.round(20 * Math.sqrt((b.latencyMs || 0) / max)) : 24;
    return svg("rect", { x: i * 4, y: 24 - height, width: 3, height, class: b.ok ? "hb-ok" : "hb-failed" },
      svg("title", {}, `${b.at}: ${b.ok ? "ok" : "failed"}, ${ms(b.latencyMs)}`));
  }));
}

function freshness(deployments) {
  const now = Date.now();
  const parts = [];
  for (const d of deployments) {
    const limit = duration(d.staleAfter);
    const stale = d.lastDataAt && limit && now - Date.parse(d.lastDataAt) > limit;
    parts.push(h("div", {}, `${d.target}: `,
      d.lastPoll ? `polled ${ago(d.lastPoll.finishedAt, now)} (${d.lastPoll.outcome})` : d.schedule ? "not polled yet" : "not scheduled",
      d.lastDataAt ? `, data ${ago(d.lastDataAt, now)}` : "",
      stale ? h("span", { class: "badge status-degraded" }, "stale") : "",
      d.pausedReason ? h("span", { class: "badge status-error", title: d.pausedReason }, "paused") : ""));
  }
  return parts.length ? parts : "–";
}

async function fleetScreen(alive) {
  const updated = h("p", { class: "updated" });
  const body = h("div");
  replace(view, h("h1", {}, "Fleet"), updated, body);
  const load = async () => {
    const data = await gql(FLEET);
    if (!alive()) return;
    const s = data.registrySummary;
    const order = (c) => STATUSES.indexOf(c.status);
    const nodes = [...data.connectors.nodes].sort((a, b) => order(a) - order(b) || a.name.localeCompare(b.name));
    const beats = await heartbeatsOf(nodes.map((c) => c.id));
    if (!alive()) return;
    for (const c of nodes) c.heartbeats = beats[c.id];
    replace(body,
      h("section", { "aria-label": "Counts per status", class: "tiles" },
        h("div", { class: "tile", "data-status": "total" }, h("span", { class: "count" }, s.total), " total"),
        STATUSES.map((st) => h("div", { class: `tile status-${st}`, "data-status": st }, h("span", { class: "count" }, s[st]), ` ${st}`))),
      h("h2", {}, "Per category"),
      h("div", { class: "scroll" }, h("table", { class: "categories" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Category"), h("th", { scope: "col" }, "Total"), STATUSES.map((st) => h("th", { scope: "col" }, st)))),
        h("tbody", {}, s.byCategory.map((c) => h("tr", { "data-category": c.category },
          h("th", { scope: "row" }, c.category), h("td", {}, c.total), STATUSES.map((st) => h("td", {}, c[st]))))))),
      h("h2", {}, "Connectors"),
      data.connectors.totalCount > nodes.length ? h("p", {}, `The first ${nodes.length} of ${data.connectors.totalCount}: the catalogue shows them all.`) : null,
      h("div", { class: "scroll" }, h("table", { class: "fleet" },
        h("thead", {}, h("tr", {}, ["Connector", "Category", "Status", "p50", "p95", "p99", "Heartbeats", "Polls and freshness"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, nodes.map((c) => h("tr", { "data-connector": c.name, "data-status": c.status },
          h("th", { scope: "row" }, h("a", { href: `#/connectors/${c.id}` }, c.name)),
          h("td", {}, c.category),
          h("td", {}, badge(c.status), h("div", { class: "reason" }, c.statusReason)),
          h("td", {}, ms(c.heartbeats.stats.p50Ms)),
          h("td", {}, ms(c.heartbeats.stats.p95Ms)),
          h("td", {}, ms(c.heartbeats.stats.p99Ms)),
          h("td", {}, heartbeatChart(c.heartbeats.items), h("div", { class: "reason" }, `${c.heartbeats.stats.count} recent, ${c.heartbeats.stats.failed} failed`)),
          h("td", {}, freshness(c.deployments))))))));
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes every 10 s.`;
  };
  // The timer's cleanup is registered before the first load: leaving during it
  // must not leave a timer running under the next screen.
  let timer = null;
  let busy = false;
  cleanups.push(() => clearInterval(timer));
  await load();
  if (!alive()) return;
  timer = setInterval(async () => {
    if (busy) return; // a slow refresh is not overlapped by the next
    busy = true;
    try {
      await load();
    } catch (e) {
      updated.textContent = `Refresh failed: ${e.message}`;
    } finally {
      busy = false;
    }
  }, 10000);
}

// ---------------------------------------------------------------------------
// Catalogue

const CATALOGUE = `query Catalogue($filter: ConnectorFilter) {
  connectors(filter: $filter, first: 200) { totalCount nodes { id name category description status statusReason
    latestVersion capabilities outputStandards versions { version manifest } } } }`;

function select(id, label, options, value) {
  return h("div", { class: "field" }, h("label", { for: id }, label),
    h("select", { id, name: id }, h("option", { value: "" }, "any"), options.map((o) => h("option", { value: o, selected: o === value }, o))));
}

async function catalogueScreen(params, alive) {
  const filter = {};
  for (const [key, field] of [["category", "category"], ["status", "status"], ["capability", "capability"], ["standard", "outputStandard"], ["q", "search"]]) {
    if (params.get(key)) filter[field] = params.get(key);
  }
  const data = await gql(CATALOGUE, { filter });
  if (!alive()) return;
  const form = h("form", { class: "filters", role: "search", onsubmit: (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const key of ["category", "status", "capability", "standard", "q"]) {
      const v = form.elements[key].value.trim();
      if (v) next.set(key, v);
    }
    location.hash = `#/catalogue${next.toString() ? `?${next}` : ""}`;
  } },
  select("category", "Category", CATEGORIES, params.get("category")),
  select("status", "Status", STATUSES, params.get("status")),
  select("standard", "Output standard", STANDARDS, params.get("standard")),
  h("div", { class: "field" }, h("label", { for: "capability" }, "Capability"), h("input", { id: "capability", name: "capability", value: params.get("capability") || "", spellcheck: "false" })),
  h("div", { class: "field" }, h("label", { for: "q" }, "Name"), h("input", { id: "q", name: "q", type: "search", value: params.get("q") || "", spellcheck: "false" })),
  h("button", { type: "submit" }, "Filter"));
  const nodes = data.connectors.nodes;
  replace(view, h("h1", {}, "Catalogue"), form,
    h("p", { role: "status", class: "result-count" }, `${data.connectors.totalCount} connector${data.connectors.totalCount === 1 ? "" : "s"}`),
    h("ul", { class: "cards" }, nodes.map((c) => {
      const latest = c.versions.find((v) => v.version === c.latestVersion);
      const m = (latest && latest.manifest) || {};
      return h("li", { class: "card", "data-connector": c.name },
        h("h2", {}, h("a", { href: `#/connectors/${c.id}` }, c.name), " ", badge(c.status)),
        h("p", {}, c.description || m.description || ""),
        h("dl", {},
          h("dt", {}, "Category"), h("dd", {}, c.category),
          h("dt", {}, "Version"), h("dd", {}, c.latestVersion || "none uploaded"),
          h("dt", {}, "Output standards"), h("dd", {}, c.outputStandards.join(", ") || "–"),
          h("dt", {}, "Capabilities"), h("dd", {}, c.capabilities.join(", ") || "–"),
          h("dt", {}, "Declared hosts"), h("dd", {}, (m.outbound_hosts || []).map((o) => o.pattern).join(", ") || "none"),
          h("dt", {}, "Actions"), h("dd", {}, (m.actions || []).map((a) => a.name).join(", ") || "none")));
    })));
}

// ---------------------------------------------------------------------------
// A connector

const CONNECTOR = `query Connector($id: ID!) { connector(id: $id) {
  id name category description status statusReason disabledReason authMethod latestVersion
  capabilities outputStandards createdAt
  versions { version digest createdAt manifest }
  deployments { target version config hasSecrets allowedHosts allowedNetworks schedule nextPollAt
    staleAfter lastDataAt consecutiveFailures pausedReason limits
    heldUpgrade { version requestedBy requestedAt }
    lastPoll { finishedAt outcome published quarantined error } }
  heartbeats(last: 50) { stats { count failed errorRate p50Ms p95Ms p99Ms }
    items { at ok latencyMs errorKind detail source } }
  quarantine(first: 20) { totalCount nodes { id callId standard at report body } } } }`;

function table(headers, rows, attrs = {}) {
  return h("div", { class: "scroll" }, h("table", attrs,
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows)));
}

function reportTable(errors) {
  return table(["Rule", "Path", "Message"], (errors || []).map((e) => h("tr", {},
    h("td", {}, h("code", {}, e.rule || "")), h("td", {}, h("code", {}, e.path || "")), h("td", {}, e.message || ""))), { class: "report" });
}

/** The newest `n` audit entries about `target`, newest first. */
async function auditOf(target, n) {
  return (await rest("GET", `/api/audit?target=${encodeURIComponent(target)}&order=desc&limit=${n}`)).body.items;
}

async function connectorScreen(id, alive) {
  const data = await gql(CONNECTOR, { id });
  if (!alive()) return;
  const c = data.connector;
  let audit = null;
  try {
    audit = await auditOf(id, 50);
  } catch (e) {
    if (e.status === 401) throw e;
    audit = e.message;
  }
  if (!alive()) return;
  const latest = c.versions.find((v) => v.version === c.latestVersion);
  const m = (latest && latest.manifest) || {};
  const notice = h("div", { class: "notice", role: "status" });

  const reason = h("textarea", { id: "disable-reason", name: "reason", rows: 2, "aria-describedby": "disable-reason-error" });
  const reasonError = h("p", { class: "field-error", id: "disable-reason-error", role: "alert", hidden: true });
  const statusControl = c.status === "disabled"
    ? h("div", {}, h("button", { type: "button", id: "enable", onclick: async () => {
      try {
        await rest("POST", `/api/connectors/${id}/enable`);
        route();
      } catch (err) {
        reasonError.textContent = err.message;
        reasonError.hidden = false;
      }
    } }, "Enable"), reasonError)
    : h("form", { class: "inline", id: "disable-form", novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      reasonError.hidden = true;
      if (!reason.value.trim()) {
        reasonError.textContent = "A reason is required: it goes into the audit trail.";
        reasonError.hidden = false;
        reason.setAttribute("aria-invalid", "true");
        reason.focus();
        return;
      }
      try {
        await rest("POST", `/api/connectors/${id}/disable`, { reason: reason.value.trim() });
        route();
      } catch (err) {
        reasonError.textContent = err.message;
        reasonError.hidden = false;
      }
    } },
    h("div", { class: "field" }, h("label", { for: "disable-reason" }, "Reason to disable"), reason, reasonError),
    h("button", { type: "submit", class: "danger" }, "Disable"));

  const rotateArea = h("div", { id: "rotation" });
  const rotateControl = c.authMethod ? h("button", { type: "button", class: "secondary", id: "rotate", onclick: () => {
    const publicKey = h("textarea", { id: "rotate-public-key", rows: 3 });
    const needsKey = c.authMethod !== "api-key" && c.authMethod !== "hmac-sha256" && c.authMethod !== "oauth2";
    replace(rotateArea, h("p", {}, "Rotating issues a new credential; the current one keeps working for a grace period."),
      needsKey ? h("div", { class: "field" }, h("label", { for: "rotate-public-key" }, "New public key (PEM or base64)"), publicKey) : null,
      h("button", { type: "button", id: "rotate-confirm", onclick: async () => {
        try {
          const r = await rest("POST", `/api/connectors/${id}/credentials/rotate`, needsKey ? { public_key: publicKey.value.trim() } : undefined);
          const cred = r.body.credential || {};
          replace(rotateArea, h("p", { role: "status" }, `New credential, shown this once: store it now. The previous one works until ${r.body.previous_valid_until}.`),
            h("dl", { class: "credential" }, Object.entries(cred).filter(([k]) => k !== "type").map(([k, v]) => [
              h("dt", {}, k), h("dd", {}, h("code", { id: `credential-${k}` }, String(v)), " ",
                h("button", { type: "button", class: "secondary", onclick: async (ev) => {
                  try {
                    await navigator.clipboard.writeText(String(v));
                    ev.target.textContent = "Copied";
                  } catch {
                    const range = document.createRange();
                    range.selectNodeContents(document.getElementById(`credential-${k}`));
                    getSelection().removeAllRanges();
                    getSelection().addRange(range);
                    ev.target.textContent = "Selected: press Ctrl+C";
                  }
                } }, `Copy ${k}`))])));
        } catch (err) {
          replace(rotateArea, h("p", { class: "form-error", role: "alert" }, err.message));
        }
      } }, "Rotate now"),
      h("button", { type: "button", class: "secondary", onclick: () => replace(rotateArea) }, "Cancel"));
  } }, "Rotate push credential") : null;

  const hb = c.heartbeats;
  replace(view,
    h("h1", {}, c.name, " ", badge(c.status)),
    h("p", { class: "reason", id: "status-reason" }, c.statusReason),
    c.disabledReason && !c.statusReason.includes(c.disabledReason) ? h("p", {}, "Disabled: ", c.disabledReason) : null,
    notice,
    h("div", { class: "toolbar" },
      h("a", { class: "button", href: `#/connectors/${id}/deploy` }, "Deploy / configure"),
      (m.actions || []).map((a) => h("a", { class: "button secondary", href: `#/connectors/${id}/actions/${encodeURIComponent(a.name)}` }, `Try ${a.name}`)),
      rotateControl),
    rotateArea,
    statusControl,
    h("section", { "aria-labelledby": "manifest-h" }, h("h2", { id: "manifest-h" }, "Manifest ", c.latestVersion ? `(${c.latestVersion})` : ""),
      h("dl", {},
        h("dt", {}, "Category"), h("dd", {}, c.category),
        h("dt", {}, "Description"), h("dd", {}, c.description || m.description || "–"),
        h("dt", {}, "Vendor"), h("dd", {}, m.vendor || "–"),
        h("dt", {}, "Output standards"), h("dd", {}, c.outputStandards.join(", ") || "–"),
        h("dt", {}, "Capabilities"), h("dd", {}, c.capabilities.join(", ") || "–"),
        h("dt", {}, "Declared hosts"), h("dd", {}, (m.outbound_hosts || []).map((o) => `${o.pattern}${o.credential ? " (credential)" : ""}`).join(", ") || "none"),
        h("dt", {}, "Actions"), h("dd", {}, (m.actions || []).map((a) => `${a.name}: ${a.description || ""}`).join("; ") || "none"),
        c.authMethod ? [h("dt", {}, "Push method"), h("dd", {}, c.authMethod)] : null)),
    h("section", { "aria-labelledby": "versions-h" }, h("h2", { id: "versions-h" }, "Versions"),
      table(["Version", "Digest", "Uploaded"], [...c.versions].reverse().map((v) => h("tr", {},
        h("td", {}, v.version), h("td", {}, h("code", {}, v.digest.slice(0, 19), "…")), h("td", {}, ago(v.createdAt)))))),
    h("section", { "aria-labelledby": "deployments-h" }, h("h2", { id: "deployments-h" }, "Deployments"),
      c.deployments.length ? table(["Target", "Version", "Config", "Hosts", "Schedule", "Last poll", ""], c.deployments.map((d) => h("tr", { "data-target": d.target },
        h("td", {}, d.target), h("td", {}, d.version, d.heldUpgrade ? h("div", { class: "reason" }, `upgrade to ${d.heldUpgrade.version} held for approval`) : ""),
        h("td", {}, h("pre", { class: "small" }, pretty(d.config))), h("td", {}, d.allowedHosts.join(", ") || "none"),
        h("td", {}, d.schedule || "–", d.pausedReason ? h("div", { class: "reason" }, `paused: ${d.pausedReason}`) : ""),
        h("td", {}, d.lastPoll ? `${ago(d.lastPoll.finishedAt)}: ${d.lastPoll.outcome}, ${d.lastPoll.published} published` : "–"),
        h("td", {}, h("a", { href: `#/connectors/${id}/deploy?target=${encodeURIComponent(d.target)}` }, "Configure"))))) : h("p", {}, "Not deployed.")),
    h("section", { "aria-labelledby": "heartbeats-h" }, h("h2", { id: "heartbeats-h" }, "Heartbeats"),
      h("p", {}, `${hb.stats.count} recent, ${hb.stats.failed} failed; latency p50 ${ms(hb.stats.p50Ms)}, p95 ${ms(hb.stats.p95Ms)}, p99 ${ms(hb.stats.p99Ms)}.`),
      heartbeatChart(hb.items.slice(0, 40)),
      table(["At", "Outcome", "Latency", "Source", "Detail"], hb.items.slice(0, 10).map((b) => h("tr", {},
        h("td", {}, b.at), h("td", {}, b.ok ? "ok" : `failed${b.errorKind ? ` (${b.errorKind})` : ""}`), h("td", {}, ms(b.latencyMs)), h("td", {}, b.source), h("td", {}, b.detail || ""))))),
    h("section", { "aria-labelledby": "quarantine-h" }, h("h2", { id: "quarantine-h" }, `Quarantine (${c.quarantine.totalCount})`),
      c.quarantine.nodes.length ? h("ul", { class: "quarantine" }, c.quarantine.nodes.map((q) => h("li", {},
        h("p", {}, `${q.at} · ${q.standard} · call ${q.callId}`),
        reportTable(q.report && q.report.errors),
        h("details", {}, h("summary", {}, "The output"), h("pre", {}, pretty(q.body)))))) : h("p", {}, "Nothing quarantined.")),
    h("section", { "aria-labelledby": "audit-h" }, h("h2", { id: "audit-h" }, "Audit"),
      typeof audit === "string" ? h("p", {}, `The audit trail could not be read: ${audit}`)
        : table(["At", "Action", "Actor", "Reason"], audit.map((a) => h("tr", { "data-action": a.action },
          h("td", {}, a.at), h("td", {}, a.action), h("td", {}, a.actor), h("td", {}, a.reason || ""))), { class: "audit" })));
}

// ---------------------------------------------------------------------------
// Deploy / configure

function listOf(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

/** A message for the next render of a screen (the deploy screen reloads itself
 * after a deploy, with fresh data, and says what happened). */
let flash = null; // [hash, kind, text]

async function deployScreen(id, params, alive) {
  const data = await gql(CONNECTOR, { id });
  if (!alive()) return;
  const c = data.connector;
  if (!c.versions.length) {
    replace(view, h("h1", {}, `Deploy ${c.name}`), h("p", {}, "No version uploaded yet: upload one first (`airlock upload`)."));
    return;
  }
  const versions = [...c.versions].reverse();
  const NEW = ""; // the "new target" choice (a target's name is never empty)
  const wanted = params.get("target");
  const startTarget = wanted && c.deployments.some((d) => d.target === wanted) ? wanted
    : wanted ? NEW : (c.deployments[0] && c.deployments[0].target) || NEW;
  // An existing target is chosen from a list (choosing one loads its settings);
  // a new one is typed (typing keeps what was entered).
  const targetSelect = h("select", { id: "deploy-target-choice", "aria-describedby": "deploy-target-error" },
    c.deployments.map((d) => h("option", { value: d.target, selected: d.target === startTarget }, d.target)),
    h("option", { value: NEW, selected: startTarget === NEW }, "A new target…"));
  const newTarget = h("input", { id: "deploy-target", name: "target", value: startTarget === NEW ? wanted || "default" : "", spellcheck: "false", "aria-describedby": "deploy-target-error" });
  const newTargetField = h("div", { class: "field", hidden: startTarget !== NEW }, h("label", { for: "deploy-target" }, "New target's name"), newTarget);
  const current = () => c.deployments.find((d) => d.target === targetSelect.value);
  const targetName = () => (targetSelect.value === NEW ? newTarget.value.trim() : targetSelect.value);
  const startVersion = (current() && current().version) || c.latestVersion;
  const version = h("select", { id: "deploy-version", name: "version", "aria-describedby": "deploy-version-error" },
    versions.map((v) => h("option", { value: v.version, selected: v.version === startVersion }, v.version)));
  const schemaArea = h("div");
  const topError = h("p", { class: "form-error", role: "alert", hidden: true });
  const result = h("div", { role: "status", id: "deploy-result", tabindex: "-1" });
  // Field errors by the server's path (`/schedule`, `/limits/cpu_ms`…): the
  // static fields', then the ones each build makes.
  const staticErrors = {
    version: { error: h("p", { class: "field-error", id: "deploy-version-error", role: "alert", hidden: true }), input: version },
    target: { error: h("p", { class: "field-error", id: "deploy-target-error", role: "alert", hidden: true }), input: newTarget },
  };
  let fieldErrors = {};
  const plainField = (key, label, input, help) => {
    const errorId = `deploy-${key.replace("/", "-")}-error`;
    const error = h("p", { class: "field-error", id: errorId, role: "alert", hidden: true });
    input.setAttribute("aria-describedby", errorId);
    fieldErrors[key] = { error, input };
    return h("div", { class: "field", "data-path": `/${key}` }, h("label", { for: input.id }, label), input,
      help ? h("p", { class: "help" }, help) : null, error);
  };
  let config;
  let secrets;
  let hostBoxes = [];
  let otherHosts;
  let networks;
  let schedule;
  let staleAfter;
  let limitInputs = {};

  const build = () => {
    const chosen = c.versions.find((v) => v.version === version.value);
    const manifest = chosen.manifest || {};
    const d = current();
    fieldErrors = { ...staticErrors };
    config = new SchemaForm(manifest.config_schema || { type: "object" }, { name: "config", legend: "Config", value: d ? d.config : undefined });
    secrets = new SchemaForm(manifest.secrets_schema || { type: "object" }, { name: "secrets", legend: "Secrets", secret: true });
    const declared = (manifest.outbound_hosts || []).map((o) => o.pattern);
    const granted = d ? d.allowedHosts : [];
    hostBoxes = declared.map((p, i) => h("input", { type: "checkbox", id: `host-${i}`, value: p, checked: granted.includes(p) }));
    otherHosts = h("input", { id: "deploy-other-hosts", value: granted.filter((g) => !declared.includes(g)).join(", "), spellcheck: "false" });
    networks = h("input", { id: "deploy-networks", value: d ? d.allowedNetworks.join(", ") : "", spellcheck: "false", placeholder: "10.20.0.0/16" });
    schedule = h("input", { id: "deploy-schedule", value: d && d.schedule ? d.schedule : "", placeholder: "every 5m", spellcheck: "false" });
    staleAfter = h("input", { id: "deploy-stale-after", value: d && d.staleAfter ? d.staleAfter : "", placeholder: "1h", spellcheck: "false" });
    limitInputs = Object.fromEntries(LIMITS.map(([key]) => [key, h("input", { id: `limit-${key}`, type: "number", min: 1, step: 1, value: d && d.limits && d.limits[key] !== undefined ? String(d.limits[key]) : "" })]));
    const isPoll = (manifest.capabilities || []).includes("poll");
    const hostsError = h("p", { class: "field-error", id: "deploy-hosts-error", role: "alert", hidden: true });
    fieldErrors.allowed_hosts = { error: hostsError, input: otherHosts };
    otherHosts.setAttribute("aria-describedby", "deploy-hosts-error");
    const limitsError = h("p", { class: "field-error", role: "alert", hidden: true });
    fieldErrors.limits = { error: limitsError, input: null };
    replace(schemaArea,
      config.element,
      h("div", {}, secrets.element,
        d && d.hasSecrets ? h("p", { class: "help" }, "This target has secrets stored (never shown). Leave these fields empty to keep them, or fill every one to replace them.") : null),
      h("fieldset", { "data-path": "/allowed_hosts" }, h("legend", {}, "Outbound hosts granted"),
        declared.length ? declared.map((p, i) => h("div", { class: "field field-boolean" }, hostBoxes[i], h("label", { for: `host-${i}` }, p)))
          : h("p", { class: "help" }, "The manifest declares no outbound host."),
        h("label", { for: "deploy-other-hosts" }, "Concrete origins a declared pattern covers (comma separated)"), otherHosts,
        hostsError),
      plainField("allowed_networks", "Private networks granted (CIDR, comma separated)", networks, "Loopback, private and link-local addresses are refused unless a network containing them is granted."),
      h("fieldset", { "data-path": "/limits" }, h("legend", {}, "Limits (empty: the server's defaults)"),
        LIMITS.map(([key, label]) => plainField(`limits/${key}`, label, limitInputs[key])),
        limitsError),
      isPoll ? plainField("schedule", "Schedule", schedule, "`every N{s|m|h}`: the server polls on that schedule. Empty: polled only on demand.") : null,
      isPoll ? plainField("stale_after", "Stale after", staleAfter, "`N{s|m|h}`: how long the upstream may publish nothing new before the connector is reported stale.") : null);
  };

  const clearErrors = () => {
    topError.hidden = true;
    config.clearErrors();
    secrets.clearErrors();
    for (const f of Object.values(fieldErrors)) {
      f.error.hidden = true;
      f.error.textContent = "";
      if (f.input) f.input.removeAttribute("aria-invalid");
    }
  };
  /** Shows `message` at the field of `key` (`limits/cpu_ms`, else `limits`). */
  const showAt = (key, message) => {
    const f = fieldErrors[key] || fieldErrors[key.split("/")[0]];
    if (!f) return false;
    f.error.textContent = [f.error.textContent, message].filter(Boolean).join(" ");
    f.error.hidden = false;
    if (f.input) f.input.setAttribute("aria-invalid", "true");
    return true;
  };

  const form = h("form", { novalidate: true, class: "deploy", onsubmit: async (e) => {
    e.preventDefault();
    clearErrors();
    replace(result);
    const cfg = config.read();
    const sec = secrets.read();
    const problems = [];
    const limits = {};
    for (const [key] of LIMITS) {
      const text = limitInputs[key].value.trim();
      if (text === "") continue;
      const n = Number(text);
      if (!Number.isInteger(n) || n < 1) problems.push([`limits/${key}`, "must be a whole number, 1 or more"]);
      else limits[key] = n;
    }
    if (!targetName()) problems.push(["target", "name the new target"]);
    else if (targetSelect.value === NEW && c.deployments.some((d) => d.target === targetName())) {
      problems.push(["target", `\`${targetName()}\` exists: choose it from the list to reconfigure it`]);
    }
    if (cfg.problems.length || sec.problems.length || problems.length) {
      config.showErrors(cfg.problems);
      secrets.showErrors(sec.problems);
      for (const [key, message] of problems) showAt(key, message);
      const first = view.querySelector("[aria-invalid=true]");
      if (first) first.focus();
      return;
    }
    const body = {
      version: version.value,
      target: targetName(),
      config: cfg.value || {},
      allowed_hosts: [...hostBoxes.filter((b) => b.checked).map((b) => b.value), ...listOf(otherHosts.value)],
      allowed_networks: listOf(networks.value),
    };
    // Secrets nobody filled in are not sent: the target keeps the ones it has.
    if (sec.filled) body.secrets = sec.value;
    if (Object.keys(limits).length) body.limits = limits;
    if (schedule.value.trim()) body.schedule = schedule.value.trim();
    if (staleAfter.value.trim()) body.stale_after = staleAfter.value.trim();
    let r;
    try {
      r = await rest("POST", `/api/connectors/${id}/deployments`, body);
    } catch (err) {
      if (err.status === 401 || !alive()) return;
      if (err.code === "invalid_config") config.showErrors(err.details);
      else if (err.code === "invalid_secrets") secrets.showErrors(err.details);
      else for (const d of err.details) showAt((d.path || "").replace(/^\//, "").replace(/\/\d+$/, ""), d.message);
      topError.textContent = err.message;
      topError.hidden = false;
      const first = view.querySelector("[aria-invalid=true]");
      if (first) first.focus();
      return;
    }
    if (!alive()) return;
    // Again with fresh data (the new target, its stored secrets…).
    const next = `#/connectors/${encodeURIComponent(id)}/deploy?target=${encodeURIComponent(body.target)}`;
    flash = r.status === 202
      ? [next, "notice", `Held for approval: version ${body.version} asks for more than ${c.name} is approved for. The target keeps running its version until a client with connectors:approve approves it.`]
      : [next, "success", `Deployed ${c.name} ${r.body.version} to ${r.body.target}.`];
    if (location.hash === next) route();
    else location.hash = next;
  } },
  topError,
  h("div", { class: "field", "data-path": "/version" }, h("label", { for: "deploy-version" }, "Version"), version, staticErrors.version.error),
  h("div", { class: "field", "data-path": "/target" }, h("label", { for: "deploy-target-choice" }, "Target"), targetSelect,
    h("p", { class: "help" }, "A named deployment of this connector (staging, production…). An existing target is reconfigured or upgraded."),
    staticErrors.target.error),
  newTargetField,
  schemaArea,
  h("button", { type: "submit" }, "Deploy"));
  let builtFor = null;
  const rebuild = () => {
    newTargetField.hidden = targetSelect.value !== NEW;
    const key = JSON.stringify([version.value, current() ? current().target : null]);
    if (key !== builtFor) {
      builtFor = key;
      build();
    }
  };
  version.addEventListener("change", rebuild);
  targetSelect.addEventListener("change", rebuild);
  rebuild();
  if (flash && flash[0] === location.hash) {
    const [, kind, text] = flash;
    flash = null;
    replace(result, h("p", { class: kind }, text, " ", h("a", { href: `#/connectors/${id}` }, "Back to the connector")));
  }
  replace(view, h("h1", {}, `Deploy ${c.name}`), h("p", {}, h("a", { href: `#/connectors/${id}` }, `Back to ${c.name}`)), result, form);
}

// ---------------------------------------------------------------------------
// Try an action

async function actionScreen(id, actionName, alive) {
  const data = await gql(CONNECTOR, { id });
  if (!alive()) return;
  const c = data.connector;
  // The input schema of the version the chosen target runs (the newest version
  // when nothing is deployed: what an invoke then runs).
  const manifestOf = (target) => {
    const d = c.deployments.find((x) => x.target === target);
    const v = c.versions.find((x) => x.version === (d ? d.version : c.latestVersion));
    return (v && v.manifest) || {};
  };
  const targets = c.deployments.map((d) => d.target);
  const declares = (t) => ((manifestOf(t).actions || []).some((a) => a.name === actionName));
  // A target whose version declares the action is chosen first.
  const first = targets.find(declares);
  const target = targets.length > 1 ? h("select", { id: "action-target" }, targets.map((t) => h("option", { value: t, selected: t === first }, t))) : null;
  const actionOf = () => (manifestOf(target ? target.value : targets[0]).actions || []).find((a) => a.name === actionName);
  if (!actionOf()) {
    replace(view, h("h1", {}, "No such action"), h("p", {}, `${c.name} declares no action ${actionName}.`));
    return;
  }
  const topError = h("p", { class: "form-error", role: "alert", hidden: true });
  const result = h("section", { id: "action-result", "aria-live": "polite", tabindex: "-1" });
  const inputArea = h("div");
  const about = h("p");
  let input;
  const build = () => {
    const action = actionOf();
    if (!action) {
      replace(inputArea, h("p", { class: "form-error" }, `The version this target runs declares no action ${actionName}.`));
      input = null;
      return;
    }
    input = new SchemaForm(action.input_schema || { type: "object" }, { name: "input", legend: "Input" });
    replace(inputArea, input.element);
    replace(about, action.description || "", " ",
      `Outputs are validated as ${action.output_standard || c.outputStandards.join(", ")} and published on the bus.`);
  };
  if (target) target.addEventListener("change", build);
  build();
  const form = h("form", { novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    if (!input) return;
    input.clearErrors();
    topError.hidden = true;
    replace(result);
    const got = input.read();
    if (got.problems.length) {
      input.showErrors(got.problems);
      return;
    }
    const query = target ? `?target=${encodeURIComponent(target.value)}` : "";
    try {
      const r = await rest("POST", `/api/connectors/${id}/invoke/${encodeURIComponent(actionName)}${query}`, got.value === undefined ? {} : got.value);
      if (!alive()) return;
      const out = r.body;
      replace(result,
        h("h2", {}, "Result"),
        h("p", {}, `Call ${out.call_id} on ${out.target} (version ${out.version}), ${ms(out.latency_ms)}: ${out.outputs.length} output${out.outputs.length === 1 ? "" : "s"} published, ${out.quarantined.length} quarantined.`),
        out.outputs.map((o, i) => h("div", { class: "output" }, h("h3", {}, `Output ${i + 1}: ${o.standard}, valid`), h("pre", { class: "output-body" }, pretty(o.body)))),
        out.quarantined.map((q) => h("div", { class: "output quarantined" }, h("h3", {}, `Output ${q.index + 1}: ${q.standard}, quarantined`), reportTable(q.errors))),
        out.logs && out.logs.length ? [h("h3", {}, "Logs"), h("pre", {}, out.logs.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n"))] : null);
      result.focus();
    } catch (err) {
      if (err.status === 401 || !alive()) return;
      if (err.code === "invalid_input") input.showErrors(err.details);
      topError.textContent = err.message + (err.body && err.body.error && err.body.error.call_id ? ` (call ${err.body.error.call_id})` : "");
      topError.hidden = false;
    }
  } },
  topError,
  target ? h("div", { class: "field" }, h("label", { for: "action-target" }, "Target"), target) : null,
  inputArea,
  h("button", { type: "submit" }, `Run ${actionName}`));
  replace(view, h("h1", {}, `${c.name}: ${actionName}`), about,
    h("p", {}, h("a", { href: `#/connectors/${id}` }, `Back to ${c.name}`)),
    form, result);
}

// ---------------------------------------------------------------------------
// Events: a live view of the bus (server-sent events, read with fetch so the
// token goes in a header)

async function eventsScreen() {
  const topic = h("input", { id: "events-topic", name: "topic", spellcheck: "false", placeholder: `airlock.${session.tenant}.*` });
  const state = h("p", { role: "status", id: "events-state" }, "Not connected.");
  const list = h("ol", { class: "messages", id: "messages", reversed: true });
  let controller = null;
  let failed = false;
  const stop = () => {
    if (controller) controller.abort();
    controller = null;
  };
  cleanups.push(stop);
  const start = async () => {
    stop();
    list.replaceChildren();
    controller = new AbortController();
    const signal = controller.signal;
    const q = topic.value.trim() ? `?topic=${encodeURIComponent(topic.value.trim())}` : "";
    let r;
    try {
      r = await fetch(`/api/events/stream${q}`, { headers: { Authorization: `Bearer ${session.token}`, Accept: "text/event-stream" }, credentials: "omit", signal });
    } catch (e) {
      if (!signal.aborted) state.textContent = `Could not connect: ${e.message}`;
      return;
    }
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      state.textContent = (body.error && body.error.message) || `The server answered ${r.status}.`;
      return;
    }
    state.textContent = `Live: messages of ${topic.value.trim() || "every topic of your tenant"} appear here as they are published.`;
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let event = { data: [], name: "message" };
    failed = false;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, "");
          buffer = buffer.slice(nl + 1);
          if (line === "") {
            if (event.data.length) show(event);
            event = { data: [], name: "message" };
          } else if (line.startsWith("data:")) event.data.push(line.slice(5).replace(/^ /, ""));
          else if (line.startsWith("event:")) event.name = line.slice(6).trim();
        }
      }
      if (!failed) state.textContent = "The stream ended.";
    } catch (e) {
      if (!signal.aborted) state.textContent = `The stream broke: ${e.message}`;
    }
  };
  const show = (event) => {
    let m;
    try {
      m = JSON.parse(event.data.join("\n"));
    } catch {
      return;
    }
    if (event.name === "error") {
      failed = true;
      state.textContent = m.message || "The stream failed.";
      return;
    }
    list.prepend(h("li", { class: "message", "data-seq": m.seq },
      h("p", { class: "meta" }, `#${m.seq} · ${m.topic} · ${m.standard} · connector ${m.connector_id} · ${m.published_at}`),
      h("pre", { class: "output-body" }, pretty(m.body))));
    while (list.children.length > 200) list.lastElementChild.remove();
  };
  const form = h("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    start();
  } },
  h("div", { class: "field" }, h("label", { for: "events-topic" }, "Topic (empty: all of your tenant's)"), topic),
  h("button", { type: "submit", id: "events-start" }, "Watch"),
  h("button", { type: "button", class: "secondary", onclick: () => {
    stop();
    state.textContent = "Stopped.";
  } }, "Stop"));
  replace(view, h("h1", {}, "Events"), form, state, list);
  start();
}

// ---------------------------------------------------------------------------

document.getElementById("signout").addEventListener("click", () => signOut("Signed out."));
window.addEventListener("hashchange", route);
route();
