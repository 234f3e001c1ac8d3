// Live updates without reloading: operation rows ([data-operation]) and a guest's state
// ([data-live-guest]). Two routes, both used:
// - the operations websocket (ws/operations/, apps/operations/consumers.py): the page follows
//   every operation it may see ("all"); an event about a row on the page, or about the guest
//   shown, makes the page look again at once. Events only reach this page when the worker and
//   the web process share a channel layer (Redis);
// - polling of small JSON endpoints every 2 s while something is in flight (every 10 s while the
//   websocket is up), which always works: in the embedded default (in-memory channel layer, the
//   worker in another process) it is the only route.
// window.portalLive counts both, for tests and for the curious.

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const POLL_MS = 2000;
const POLL_WITH_SOCKET_MS = 10000; // a safety net for events lost while reconnecting
const RECONNECT_MS = 5000;

const live = (window.portalLive = { socket: "closed", events: 0, polls: 0, panels: 0 });
const operationsUrl = document.querySelector("meta[name=portal-operations-live]")?.content;
let guestBox = document.querySelector("[data-live-guest]");
// The operations panel: its table is fetched again to show operations that began elsewhere.
const panel = document.querySelector("[data-live-panel]");
const PANEL_MS = 5000;
let panelTimer = null;
let guestBusy = guestBox?.dataset.busy === "true";
let settling = 0; // one more look after everything ended: a status written just after
let socket = null;
let timer = null;

class Gone extends Error {}

function pendingOperations() {
  const ids = new Set();
  for (const row of document.querySelectorAll("[data-operation]")) {
    if (!TERMINAL.has(row.dataset.state)) ids.add(row.dataset.operation);
  }
  return [...ids];
}

function applyOperation(event) {
  for (const row of document.querySelectorAll(`[data-operation="${CSS.escape(event.id)}"]`)) {
    if (row.dataset.state === event.state) continue;
    row.dataset.state = event.state;
    const badge = row.querySelector("[data-field=state]");
    if (badge) {
      const large = badge.classList.contains("fs-6") ? " fs-6" : "";
      badge.textContent = event.state_label || event.state;
      badge.className = `badge ${event.state_class || "text-bg-light"}${large}`;
    }
    const error = row.querySelector("[data-field=error]");
    if (error && event.error !== undefined) error.textContent = event.error || "";
    // Controls for unfinished operations only (Cancel).
    for (const control of row.querySelectorAll("[data-hide-when-done]")) {
      control.hidden = TERMINAL.has(event.state);
    }
    // A page about this one operation shows its task logs: reload them once it has ended.
    if (TERMINAL.has(event.state) && row.dataset.reloadWhenDone === "true") {
      window.location.reload();
    }
  }
}

function applyGuest(data) {
  const badge = guestBox.querySelector("[data-field=status]");
  if (badge && badge.dataset.status !== data.status) {
    badge.dataset.status = data.status;
    badge.textContent = data.status_label;
    badge.className = `badge fs-6 ${data.status_class}`;
  }
  const node = guestBox.querySelector("[data-field=node]");
  if (node && data.node) node.textContent = data.node;
  for (const [field, text] of Object.entries(data.sizes || {})) {
    const size = guestBox.querySelector(`[data-field=${field}]`);
    if (size) size.textContent = text;
  }
  for (const control of guestBox.querySelectorAll("[data-show-when]")) {
    control.hidden = !control.dataset.showWhen.split(" ").includes(data.status);
  }
  for (const event of data.operations) applyOperation(event);
  guestBusy = data.status === "creating" || data.operations.some((op) => !TERMINAL.has(op.state));
  guestBox.dataset.busy = String(guestBusy);
}

// A deleted guest leaves the user's view (its pool, hence its ACLs, go with it): say so, offer
// nothing more, and follow only the operations.
function guestGone() {
  const badge = guestBox.querySelector("[data-field=status]");
  if (badge) {
    badge.dataset.status = "destroyed";
    badge.textContent = guestBox.dataset.goneLabel || "destroyed";
    badge.className = `badge fs-6 ${guestBox.dataset.goneClass || "text-bg-dark"}`;
  }
  for (const control of guestBox.querySelectorAll("[data-show-when], [data-hide-when-gone]")) {
    control.hidden = true;
  }
  guestBox.removeAttribute("data-live-guest");
  guestBusy = false;
  guestBox = null;
}

async function getJson(url) {
  const response = await fetch(url, {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  if (response.status === 404) throw new Gone(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

async function poll() {
  clearTimeout(timer);
  live.polls += 1;
  try {
    if (guestBox) {
      try {
        applyGuest(await getJson(guestBox.dataset.liveUrl));
      } catch (error) {
        if (!(error instanceof Gone)) throw error;
        guestGone();
      }
    }
    const pending = pendingOperations();
    if (operationsUrl && pending.length) {
      const query = pending.map((id) => `id=${encodeURIComponent(id)}`).join("&");
      const data = await getJson(`${operationsUrl}?${query}`);
      for (const event of data.operations) applyOperation(event);
    }
  } catch (error) {
    console.warn("live update failed", error);
  }
  schedule();
}

function schedule() {
  clearTimeout(timer);
  if (guestBusy || pendingOperations().length) {
    settling = 1;
    timer = setTimeout(poll, live.socket === "open" ? POLL_WITH_SOCKET_MS : POLL_MS);
  } else if (guestBox && settling > 0) {
    settling -= 1;
    timer = setTimeout(poll, POLL_MS);
  }
}

async function refreshPanel() {
  clearTimeout(panelTimer);
  try {
    const response = await fetch(panel.dataset.livePanel, { credentials: "same-origin" });
    if (response.ok) {
      panel.innerHTML = await response.text();
      live.panels += 1;
    }
  } catch (error) {
    console.warn("live update failed", error);
  }
  // Without the websocket, new operations can only be found by looking.
  if (live.socket !== "open") panelTimer = setTimeout(refreshPanel, PANEL_MS);
  schedule();
}

function concernsThisPage(operation) {
  if (!operation) return false;
  if (panel) return true;
  if (guestBox && String(operation.guest) === guestBox.dataset.liveGuest) return true;
  return document.querySelector(`[data-operation="${CSS.escape(operation.id)}"]`) !== null;
}

function connect() {
  if (!("WebSocket" in window)) return;
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  try {
    socket = new WebSocket(`${scheme}://${window.location.host}/ws/operations/`);
  } catch {
    return;
  }
  socket.addEventListener("open", () => {
    live.socket = "open";
    socket.send(JSON.stringify({ subscribe: "all" }));
    schedule();
  });
  socket.addEventListener("message", (message) => {
    let data;
    try {
      data = JSON.parse(message.data);
    } catch {
      return;
    }
    if (data.type !== "operation.progress" || !concernsThisPage(data.operation)) return;
    live.events += 1;
    if (panel) {
      refreshPanel();
      return;
    }
    if (guestBox) guestBusy = true; // look until the guest's operations have ended
    poll();
  });
  socket.addEventListener("close", () => {
    const wasOpen = live.socket === "open";
    live.socket = "closed";
    schedule(); // back to polling every 2 s
    if (panel) panelTimer = setTimeout(refreshPanel, PANEL_MS);
    if (wasOpen) setTimeout(connect, RECONNECT_MS);
  });
}

// Only pages with something that can change open the websocket.
if (guestBox || panel || pendingOperations().length) connect();
schedule();
if (panel) panelTimer = setTimeout(refreshPanel, PANEL_MS);
