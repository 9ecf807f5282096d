// The Lindung citizen app: screens rendered from the hash route (#/home, #/scan, ...).
import { api, ApiError, NetworkError } from "./api.js";
import { h, field } from "./dom.js";
import { day, lang, setLang, t, tx, when } from "./i18n.js";
import { decodeFile, startCamera } from "./scanner.js";
import { forgetScans, keepScan, pendingScans } from "./store.js";

const view = document.getElementById("view");
const tabs = document.getElementById("tabs");
const overlay = document.getElementById("overlay");
const toast = document.getElementById("toast");
const net = document.getElementById("net");
const langButton = document.getElementById("lang");

const state = {
  signedIn: false,
  stopCamera: null,
  inbox: new Map(),    // notification id -> notification, live
  stream: null,        // EventSource of the inbox
  uploaded: JSON.parse(sessionStorage.getItem("lindung.uploaded") || "[]"),
  pendingPhone: "",
  flushing: false,
};

// -- helpers -----------------------------------------------------------------------------

// replaceChildren would insert "null" for an absent part: keep only the nodes.
function fill(el, ...nodes) {
  el.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
}

function show(...nodes) {
  fill(view, ...nodes);
  view.focus({ preventScroll: true });
}

function problemText(err) {
  if (err instanceof NetworkError) return t("offline");
  if (err instanceof ApiError) {
    const errors = err.problem.errors;
    if (Array.isArray(errors) && errors.length) {
      return errors.map((e) => (typeof e === "string" ? e : `${e.field || e.loc || ""} ${e.message || e.msg || ""}`)).join("; ");
    }
    return err.message;
  }
  return String(err);
}

function errorBox(err) {
  return h("p", { class: "error", role: "alert" }, `${t("error")}: ${problemText(err)}`);
}

function say(text) {
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { toast.hidden = true; }, 5000);
}

function uuid() {
  return crypto.randomUUID();
}

function stopCamera() {
  if (state.stopCamera) {
    state.stopCamera();
    state.stopCamera = null;
  }
}

function closeOverlay() {
  overlay.hidden = true;
  overlay.className = "overlay";
  overlay.replaceChildren();
}

// -- navigation ---------------------------------------------------------------------------

const SIGNED_OUT = { "/signin": signInScreen, "/register": registerScreen };
const SIGNED_IN = {
  "/home": homeScreen, "/scan": scanScreen, "/visits": visitsScreen, "/inbox": inboxScreen,
  "/health": healthScreen, "/certificates": certificatesScreen, "/more": moreScreen,
};

function renderTabs() {
  tabs.hidden = !state.signedIn;
  if (!state.signedIn) return;
  const here = location.hash.slice(1) || "/home";
  const unread = [...state.inbox.values()].filter((n) => !n.read_at).length;
  const tab = (path, label, extra) => h("a", {
    href: `#${path}`, class: here === path ? "tab active" : "tab",
    "aria-current": here === path ? "page" : undefined,
  }, label, extra);
  fill(tabs,
    tab("/home", t("home")),
    tab("/scan", t("scan")),
    tab("/visits", t("visits")),
    tab("/inbox", t("inbox"), unread ? h("span", { class: "badge" }, String(unread), h("span", { class: "visually-hidden" }, ` ${t("unread")}`)) : null),
    tab("/more", t("more")),
  );
}

async function route() {
  stopCamera();
  const path = location.hash.slice(1) || "/home";
  const table = state.signedIn ? SIGNED_IN : SIGNED_OUT;
  const screen = table[path];
  if (!screen) {
    location.replace(state.signedIn ? "#/home" : "#/signin");
    return;
  }
  renderTabs();
  try {
    await screen();
  } catch (err) {
    show(errorBox(err), h("button", { type: "button", onclick: route }, t("retry")));
  }
}

function go(path) {
  if (location.hash === `#${path}`) route();
  else location.hash = `#${path}`;
}

// -- sign-in and registration -------------------------------------------------------------

function signInScreen() {
  const out = h("div", { class: "messages" });
  let requestId = null;
  const phone = field(t("phone"), { name: "phone", type: "tel", autocomplete: "tel", required: true, value: state.pendingPhone });
  const code = field(t("code"), { name: "code", inputmode: "numeric", autocomplete: "one-time-code", pattern: "\\d{6}", maxlength: "6" });
  code.hidden = true;
  const submit = h("button", { type: "submit", class: "primary" }, t("send_code"));
  const form = h("form", { class: "card", onsubmit: async (event) => {
    event.preventDefault();
    out.replaceChildren();
    submit.disabled = true;
    try {
      if (!requestId) {
        const issued = await api.requestCode(form.phone.value.trim());
        requestId = issued.request_id;
        code.hidden = false;
        form.code.required = true;
        submit.textContent = t("signin");
        out.append(h("p", { class: "ok" }, t("code_sent")));
        form.code.focus();
      } else {
        await api.signIn(requestId, form.code.value.trim());
        await signedIn();
      }
    } catch (err) {
      out.append(errorBox(err));
    } finally {
      submit.disabled = false;
    }
  } }, phone, code, submit, out);
  show(
    h("h1", {}, t("signin_title")), form,
    h("p", {}, t("no_account"), " ", h("a", { href: "#/register" }, t("register"))),
  );
}

function registerScreen() {
  const out = h("div", { class: "messages" });
  const submit = h("button", { type: "submit", class: "primary" }, t("register"));
  const form = h("form", { class: "card", onsubmit: async (event) => {
    event.preventDefault();
    out.replaceChildren();
    submit.disabled = true;
    try {
      await api.register({
        nik: form.nik.value.trim(),
        name: form.name.value.trim(),
        birth_date: form.birth_date.value,
        phone: form.phone.value.trim(),
        language: lang(),
      });
      state.pendingPhone = form.phone.value.trim();
      say(t("registered"));
      go("/signin");
    } catch (err) {
      out.append(errorBox(err));
    } finally {
      submit.disabled = false;
    }
  } },
  field(t("nik"), { name: "nik", inputmode: "numeric", pattern: "\\d{16}", maxlength: "16", required: true }),
  field(t("full_name"), { name: "name", autocomplete: "name", required: true, maxlength: "200" }),
  field(t("birth_date"), { name: "birth_date", type: "date", autocomplete: "bday", required: true }),
  field(t("phone"), { name: "phone", type: "tel", autocomplete: "tel", required: true }),
  submit, out);
  show(h("h1", {}, t("register_title")), form,
    h("p", {}, t("have_account"), " ", h("a", { href: "#/signin" }, t("signin"))));
}

async function signedIn() {
  state.signedIn = true;
  openStream();
  flushOffline();
  go("/home");
}

// -- status ---------------------------------------------------------------------------------

function colourName(colour) {
  return t(`colour_${colour}`);
}

async function homeScreen() {
  const status = await api.status();
  const reasons = status.reasons.map((r) => t(`reason_${r}`)).join(", ");
  show(
    h("h1", {}, t("status_title")),
    h("section", { class: `status colour-${status.colour}`, "data-colour": status.colour },
      h("p", { class: "colour" }, colourName(status.colour)),
      h("p", { class: "reasons" }, reasons),
      h("p", { class: "until" }, status.valid_until ? `${t("until")} ${when(status.valid_until)}` : t("until_change")),
    ),
    h("a", { class: "button primary big", href: "#/scan" }, t("scan")),
  );
}

async function healthScreen() {
  const records = await api.records();
  const vaccinations = records.vaccinations.filter((v) => !v.retracted);
  const tests = records.tests;
  show(
    h("h1", {}, t("health")),
    h("h2", {}, t("vaccinations")),
    vaccinations.length
      ? h("ul", { class: "list" }, vaccinations.map((v) => h("li", {},
        h("strong", {}, `${t("dose")} ${v.dose_number ?? "?"}`), " ", day(v.administered_at),
        h("span", { class: "muted" }, ` ${v.vaccine_code || ""}`))))
      : h("p", {}, t("none")),
    h("h2", {}, t("tests")),
    tests.length
      ? h("ul", { class: "list" }, tests.map((r) => h("li", { class: r.retracted ? "retracted" : "" },
        h("strong", {}, (r.test_type || "").toUpperCase()), " ", day(r.sampled_at), ": ",
        h("span", { class: r.result === "positive" ? "bad" : "good" }, t(r.result || "none")),
        r.retracted ? ` (${t("retracted")})` : "")))
      : h("p", {}, t("none")),
  );
}

// -- scanning ------------------------------------------------------------------------------

async function scanScreen() {
  const out = h("div", { class: "messages", "aria-live": "polite" });
  const video = h("video", { class: "camera", muted: true, playsinline: true, "aria-label": t("scan_title") });
  const file = h("input", { type: "file", accept: "image/*", capture: "environment", id: "photo", class: "visually-hidden" });
  file.addEventListener("change", async () => {
    if (!file.files.length) return;
    out.replaceChildren();
    const text = await decodeFile(file.files[0]).catch(() => null);
    file.value = "";
    if (!text) out.append(h("p", { class: "error", role: "alert" }, t("no_qr")));
    else await scanned(text);
  });
  const startButton = h("button", { type: "button", class: "primary", onclick: () => begin() }, t("start_camera"));
  show(
    h("h1", {}, t("scan_title")),
    h("p", {}, t("scan_hint")),
    h("div", { class: "viewfinder" }, video),
    h("div", { class: "row" }, startButton,
      h("label", { for: "photo", class: "button" }, t("pick_photo")), file),
    out,
  );
  async function begin() {
    out.replaceChildren();
    stopCamera();
    if (!navigator.mediaDevices?.getUserMedia) {
      out.append(h("p", { class: "error" }, t("no_camera")));
      return;
    }
    try {
      state.stopCamera = await startCamera(video, (text) => { state.stopCamera = null; scanned(text); });
    } catch {
      out.append(h("p", { class: "error", role: "alert" }, t("no_camera")));
    }
  }
  await begin();
}

async function scanned(qr) {
  if (!qr.startsWith("LINDUNG")) {
    say(t("no_qr"));
    return;
  }
  const scan = { client_id: uuid(), qr, scanned_at: new Date().toISOString() };
  if (!navigator.onLine) {
    await queueOffline(scan);
    return;
  }
  try {
    const answer = await api.checkIn(qr, scan.client_id);
    showAnswer(answer);
  } catch (err) {
    if (err instanceof NetworkError) await queueOffline(scan);
    else say(`${t("error")}: ${problemText(err)}`);
  }
}

async function queueOffline(scan) {
  await keepScan(scan);
  overlay.className = "overlay colour-offline";
  fill(overlay,
    h("p", { class: "verdict" }, t("saved_offline")),
    h("p", {}, t("saved_offline_detail")),
    h("button", { type: "button", class: "light", onclick: () => { closeOverlay(); go("/visits"); } }, t("close")),
  );
  overlay.hidden = false;
}

function showAnswer(answer) {
  overlay.className = `overlay colour-${answer.colour} outcome-${answer.outcome}`;
  overlay.dataset.outcome = answer.outcome;
  const occupancy = answer.occupancy;
  const buttons = [];
  if (answer.outcome === "admitted" && answer.visit_id) {
    buttons.push(h("button", { type: "button", class: "light", onclick: async () => {
      try {
        await api.checkOut(answer.visit_id);
        say(t("checked_out_ok"));
        closeOverlay();
        go("/visits");
      } catch (err) {
        say(`${t("error")}: ${problemText(err)}`);
      }
    } }, t("checkout")));
  }
  buttons.push(h("button", { type: "button", class: "light", onclick: () => { closeOverlay(); go("/home"); } }, t("close")));
  fill(overlay,
    h("p", { class: "verdict" }, t(answer.outcome)),
    h("p", { class: "venue" }, answer.venue_name),
    h("p", { class: "colour" }, colourName(answer.colour)),
    answer.outcome === "refused" ? h("p", { class: "reason" }, tx(answer.reason)) : null,
    h("p", { class: "occupancy" }, `${t("occupancy")}: ${occupancy.present} / ${occupancy.capacity}`),
    answer.warnings.map((w) => h("p", { class: "warning" }, tx(w))),
    h("div", { class: "row" }, buttons),
  );
  overlay.hidden = false;
  buttons[0].focus();
}

// -- offline scans -------------------------------------------------------------------------

async function flushOffline() {
  if (state.flushing || !state.signedIn || !navigator.onLine) return;
  state.flushing = true;
  try {
    const scans = await pendingScans();
    if (!scans.length) return;
    // The check-in service's batch API takes each scan with its client id and scan time;
    // a retried batch changes nothing there.
    const answer = await api.batch(scans.map(({ client_id, qr, scanned_at }) => ({ client_id, qr, scanned_at })));
    await forgetScans(answer.items.map((i) => i.client_id));
    const byId = new Map(scans.map((s) => [s.client_id, s]));
    for (const item of answer.items) {
      state.uploaded.unshift({ ...item, scanned_at: byId.get(item.client_id)?.scanned_at });
    }
    state.uploaded = state.uploaded.slice(0, 50);
    sessionStorage.setItem("lindung.uploaded", JSON.stringify(state.uploaded));
    say(`${t("uploaded_scans")}: ${answer.items.length}`);
    if (location.hash === "#/visits") route();
  } catch (err) {
    if (!(err instanceof NetworkError)) say(`${t("error")}: ${problemText(err)}`);
  } finally {
    state.flushing = false;
  }
}

async function visitsScreen() {
  const pending = await pendingScans();
  const sections = [h("h1", {}, t("visits_title"))];
  if (pending.length) {
    sections.push(h("section", { class: "card pending", id: "pending" },
      h("h2", {}, `${t("pending_scans")} (${pending.length})`),
      h("ul", { class: "list" }, pending.map((s) => h("li", {}, when(s.scanned_at))))));
  }
  if (state.uploaded.length) {
    sections.push(h("section", { class: "card", id: "uploaded" },
      h("h2", {}, t("uploaded_scans")),
      h("ul", { class: "list" }, state.uploaded.map((i) => h("li", { dataset: { status: i.status } },
        when(i.scanned_at), ": ", h("strong", {}, t(`status_${i.status}`)),
        i.reason ? ` (${tx(i.reason)})` : "", i.error ? ` (${i.error})` : "")))));
  }
  let page;
  try {
    page = await api.visits();
  } catch (err) {
    sections.push(errorBox(err));
    show(...sections);
    return;
  }
  const since = Date.now() - 14 * 24 * 3600 * 1000;
  const visits = page.items.filter((v) => new Date(v.checked_in_at).getTime() >= since);
  sections.push(visits.length
    ? h("ul", { class: "list visits" }, visits.map((v) => h("li", { class: "visit", dataset: { visit: v.visit_id } },
      h("span", { class: `dot colour-${v.colour}`, "aria-label": colourName(v.colour), role: "img" }),
      h("div", {},
        h("strong", {}, v.venue_name || "?"),
        v.source === "offline" ? h("span", { class: "tag" }, t("source_offline")) : null,
        h("div", { class: "muted" }, when(v.checked_in_at), " → ",
          v.checked_out_at ? when(v.checked_out_at) : t("present"))),
      !v.checked_out_at && v.source !== "offline"
        ? h("button", { type: "button", onclick: async () => {
          try { await api.checkOut(v.visit_id); say(t("checked_out_ok")); route(); } catch (err) { say(problemText(err)); }
        } }, t("checkout"))
        : null)))
    : h("p", {}, t("no_visits")));
  show(...sections);
}

// -- inbox ---------------------------------------------------------------------------------

function openStream() {
  if (state.stream || !state.signedIn) return;
  // The gateway streams the notifier's server-sent events through; the browser's
  // EventSource reconnects by itself and resumes with Last-Event-ID.
  const stream = new EventSource("/api/v1/notifications/stream");
  stream.addEventListener("notification", (event) => {
    const n = JSON.parse(event.data);
    const fresh = !state.inbox.has(n.id);
    state.inbox.set(n.id, n);
    if (fresh) {
      say(`${t("new_message")}: ${n.title}`);
      renderTabs();
      if (location.hash === "#/inbox") renderInbox();
    }
  });
  state.stream = stream;
}

function closeStream() {
  if (state.stream) state.stream.close();
  state.stream = null;
}

async function inboxScreen() {
  const page = await api.notifications();
  for (const n of page.items) state.inbox.set(n.id, n);
  renderTabs();
  renderInbox();
}

function renderInbox() {
  const items = [...state.inbox.values()].sort((a, b) => b.seq - a.seq);
  show(
    h("h1", {}, t("inbox_title")),
    items.length
      ? h("ul", { class: "list inbox", id: "inbox" }, items.map((n) => h("li", {
        class: n.read_at ? "message" : "message unread", dataset: { kind: n.kind, id: n.id },
      },
      h("strong", {}, n.title), h("p", {}, n.body), h("div", { class: "muted" }, when(n.created_at)),
      n.read_at ? null : h("button", { type: "button", onclick: async () => {
        try {
          const read = await api.markRead(n.id);
          state.inbox.set(n.id, read);
          renderTabs();
          renderInbox();
        } catch (err) { say(problemText(err)); }
      } }, t("mark_read")))))
      : h("p", {}, t("no_messages")),
  );
}

// -- certificates --------------------------------------------------------------------------

async function certificatesScreen() {
  const mine = await api.certificates();
  const certs = mine.certificates;
  show(
    h("h1", {}, t("certs_title")),
    certs.length
      ? h("ul", { class: "list" }, certs.map((c) => h("li", { class: "cert", dataset: { certificate: c.id } },
        h("strong", {}, t(`cert_${c.certificate_type}`)),
        h("div", { class: "muted" }, `${t("expires")} ${day(c.expires_at)}`),
        h("button", { type: "button", class: "primary", onclick: () => showCertificate(c) }, t("show_qr")))))
      : h("p", {}, t("no_certs")),
  );
}

async function showCertificate(cert) {
  overlay.className = "overlay qr-full";
  const img = h("img", {
    src: `/api/v1/people/me/certificates/${cert.id}/qr.svg`, alt: `EU DCC ${t(`cert_${cert.certificate_type}`)}`,
    class: "dcc", "data-hc1": cert.hc1,
  });
  fill(overlay,
    img,
    h("p", {}, t(`cert_${cert.certificate_type}`), " · ", `${t("expires")} ${day(cert.expires_at)}`),
    h("p", { class: "muted" }, t("qr_hint")),
    h("button", { type: "button", onclick: () => { release(); closeOverlay(); } }, t("close")),
  );
  overlay.hidden = false;
  // Keep the screen on while a verifier scans (screen brightness itself is not a web API:
  // the white full-screen page is as bright as the browser allows).
  let lock = null;
  try { lock = await navigator.wakeLock?.request("screen"); } catch { lock = null; }
  function release() { lock?.release?.().catch(() => {}); }
}

// -- more: language, push, sign-out ---------------------------------------------------------

async function moreScreen() {
  const pushOut = h("p", { class: "muted", id: "push-state" });
  const pushButton = h("button", { type: "button", onclick: () => enablePush(pushOut) }, t("push_enable"));
  show(
    h("h1", {}, t("more")),
    h("ul", { class: "list links" },
      h("li", {}, h("a", { href: "#/health" }, t("health"))),
      h("li", {}, h("a", { href: "#/certificates" }, t("certificates")))),
    h("h2", {}, t("language")),
    h("div", { class: "row" },
      h("button", { type: "button", "aria-pressed": String(lang() === "id"), onclick: () => chooseLanguage("id") }, "Bahasa Indonesia"),
      h("button", { type: "button", "aria-pressed": String(lang() === "en"), onclick: () => chooseLanguage("en") }, "English")),
    h("h2", {}, t("push_title")), pushButton, pushOut,
    h("h2", {}, t("signout")),
    h("button", { type: "button", onclick: signOut }, t("signout")),
  );
}

async function enablePush(out) {
  const config = await api.config().catch(() => ({}));
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !config.vapid_public_key) {
    out.textContent = t("push_unavailable");
    return;
  }
  try {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      out.textContent = t("push_denied");
      return;
    }
    const registration = await navigator.serviceWorker.ready;
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: base64UrlToBytes(config.vapid_public_key),
    });
    await api.registerDevice(JSON.stringify(subscription));
    out.textContent = t("push_on");
  } catch (err) {
    out.textContent = `${t("push_unavailable")} (${problemText(err)})`;
  }
}

function base64UrlToBytes(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function chooseLanguage(value) {
  setLang(value);
  langButton.textContent = value === "en" ? "ID" : "EN";
  if (state.signedIn) {
    try { await api.setLanguage(value); } catch (err) { say(problemText(err)); }
  }
  route();
}

async function signOut() {
  try { await api.signOut(); } catch { /* the cookie is gone either way once it expires */ }
  state.signedIn = false;
  state.inbox.clear();
  closeStream();
  go("/signin");
}

// -- start -------------------------------------------------------------------------------------

function showNetwork() {
  net.textContent = navigator.onLine ? "" : t("offline");
  net.hidden = navigator.onLine;
  document.body.classList.toggle("is-offline", !navigator.onLine);
}

async function start() {
  setLang(lang());
  langButton.textContent = lang() === "en" ? "ID" : "EN";
  langButton.addEventListener("click", () => chooseLanguage(lang() === "en" ? "id" : "en"));
  window.addEventListener("hashchange", route);
  window.addEventListener("online", () => { showNetwork(); flushOffline(); });
  window.addEventListener("offline", showNetwork);
  window.addEventListener("lindung:signed-out", () => {
    if (!state.signedIn) return;
    state.signedIn = false;
    closeStream();
    say(t("need_signin"));
    go("/signin");
  });
  overlay.addEventListener("keydown", (e) => { if (e.key === "Escape") closeOverlay(); });
  showNetwork();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(() => {});
  }
  try {
    const session = await api.session();
    state.signedIn = session.signed_in;
  } catch {
    // Offline at start: the shell came from the service worker's cache; assume the cookie
    // is still there (the first call that answers 401 signs the app out).
    state.signedIn = true;
  }
  if (state.signedIn) {
    openStream();
    flushOffline();
  }
  document.body.dataset.ready = "true";
  await route();
}

start();
