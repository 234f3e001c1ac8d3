// The task panel at the bottom of every signed-in page (templates/base.html), like PVE's: the
// latest operations the user may see, newest first, each row leading to its task log.
// - Open or closed is remembered per browser; without a choice it starts closed on phones.
// - While open, its rows (GET /operations/task-panel/, the same scoping as the operations page)
//   are fetched again whenever the operations websocket (ws/operations/, "all": the tenant's
//   operations, an operator's all) reports a change, so operations begun elsewhere appear.
// - Polling is the fallback: every 5 s while the websocket is down, every 10 s while it is up and
//   a row is unfinished (the embedded default's in-memory channel layer cannot bring the
//   worker's events). A closed panel neither fetches nor keeps a websocket.
// window.portalTaskPanel counts events and loads, for tests and for the curious.

const STORAGE_KEY = "portal.taskPanel";
const PHONE = "(max-width: 767.98px)"; // Bootstrap's md breakpoint, where the navigation folds
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const POLL_MS = 5000;
const POLL_WITH_SOCKET_MS = 10000;
const RECONNECT_MS = 5000;

const panel = document.querySelector("[data-task-panel]");
const toggle = panel.querySelector("[data-task-panel-toggle]");
const rows = document.getElementById(toggle.getAttribute("aria-controls"));
const status = (window.portalTaskPanel = { open: false, socket: "closed", events: 0, loads: 0 });
let socket = null;
let pollTimer = null;
let reconnectTimer = null;
let loading = false;
let loadAgain = false;

function rememberedOpen() {
  let remembered = null;
  try {
    remembered = window.localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage refused (privacy settings): fall back to the screen's size.
  }
  if (remembered === "open" || remembered === "closed") return remembered === "open";
  return !window.matchMedia(PHONE).matches;
}

function remember(open) {
  try {
    window.localStorage.setItem(STORAGE_KEY, open ? "open" : "closed");
  } catch {
    // Not remembered, still toggled.
  }
}

function unfinishedRows() {
  return [...rows.querySelectorAll("[data-task]")].some(
    (row) => !TERMINAL.has(row.dataset.taskState),
  );
}

function schedulePoll() {
  clearTimeout(pollTimer);
  if (!status.open) return;
  if (status.socket !== "open") pollTimer = setTimeout(load, POLL_MS);
  else if (unfinishedRows()) pollTimer = setTimeout(load, POLL_WITH_SOCKET_MS);
}

// Swapping the rows must not lose a keyboard user's place.
function replaceRows(html) {
  const focused = rows.contains(document.activeElement)
    ? document.activeElement.getAttribute("href")
    : null;
  rows.innerHTML = html;
  if (focused) rows.querySelector(`a[href="${CSS.escape(focused)}"]`)?.focus();
}

async function load() {
  clearTimeout(pollTimer);
  if (loading) {
    loadAgain = true; // a burst of events makes one more fetch, not one each
    return;
  }
  loading = true;
  try {
    const response = await fetch(panel.dataset.url, { credentials: "same-origin" });
    if (response.redirected) return; // signed out meanwhile: the login page is no row
    if (response.ok) {
      replaceRows(await response.text());
      status.loads += 1;
    }
  } catch (error) {
    console.warn("task panel update failed", error);
  } finally {
    loading = false;
  }
  if (loadAgain && status.open) {
    loadAgain = false;
    load();
    return;
  }
  schedulePoll();
}

function connect() {
  if (socket || !("WebSocket" in window)) return;
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  try {
    socket = new WebSocket(`${scheme}://${window.location.host}/ws/operations/`);
  } catch {
    socket = null;
    return;
  }
  const opened = socket;
  opened.addEventListener("open", () => {
    status.socket = "open";
    opened.send(JSON.stringify({ subscribe: "all" }));
    load(); // whatever changed before the subscription
  });
  opened.addEventListener("message", (message) => {
    if (socket !== opened) return;
    let data;
    try {
      data = JSON.parse(message.data);
    } catch {
      return;
    }
    if (data.type !== "operation.progress") return;
    status.events += 1;
    load();
  });
  opened.addEventListener("close", () => {
    if (socket !== null && socket !== opened) return; // a newer socket has taken over
    const wasOpen = status.socket === "open";
    socket = null;
    status.socket = "closed";
    schedulePoll(); // polling takes over
    if (wasOpen && status.open) reconnectTimer = setTimeout(connect, RECONNECT_MS);
  });
}

function disconnect() {
  clearTimeout(reconnectTimer);
  const closing = socket;
  socket = null;
  status.socket = "closed";
  closing?.close();
}

function setOpen(open) {
  status.open = open;
  toggle.setAttribute("aria-expanded", String(open));
  rows.hidden = !open;
  if (open) {
    load();
    connect();
  } else {
    clearTimeout(pollTimer);
    disconnect();
  }
}

toggle.addEventListener("click", () => {
  remember(!status.open);
  setOpen(!status.open);
});
// A click anywhere on a row opens its task log, as in PVE; the link itself serves the keyboard.
rows.addEventListener("click", (event) => {
  if (event.target.closest("a")) return;
  event.target.closest("[data-task]")?.querySelector("a")?.click();
});
setOpen(rememberedOpen());
