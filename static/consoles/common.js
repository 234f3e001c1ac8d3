// Shared by the console pages: the websocket address, fresh tickets, the status badge.
export const screen = document.getElementById("console-screen");
const status = document.getElementById("console-status");
const reconnectButton = document.getElementById("console-reconnect");

export function websocketUrl(token) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${window.location.host}/ws/console/${encodeURIComponent(token)}/`;
}

// The page came with one ticket; every reconnect asks for a new one (they are single-use).
let firstToken = screen.dataset.token;
export async function nextToken() {
  if (firstToken) {
    const token = firstToken;
    firstToken = null;
    return token;
  }
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const response = await fetch(screen.dataset.ticketUrl, {
    method: "POST",
    headers: { "X-CSRFToken": csrf },
    credentials: "same-origin",
  });
  if (!response.ok) throw new Error(`no console ticket (${response.status})`);
  return (await response.json()).token;
}

// The texts come translated from the page (data-connecting, ...); `detail` is the reason given.
export function setStatus(state, textName, detail = "") {
  const text = status.dataset[textName];
  status.dataset.state = state;
  status.textContent = detail ? `${text}: ${detail}` : text;
  status.className = `badge ${state === "connected" ? "text-bg-success" : state === "connecting" ? "text-bg-secondary" : "text-bg-danger"}`;
  reconnectButton.hidden = state === "connected" || state === "connecting";
}

export function onReconnect(handler) {
  reconnectButton.addEventListener("click", handler);
}

export function onPaste(handler) {
  document.getElementById("console-paste").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("console-paste-text");
    handler(input.value);
    input.value = "";
  });
}

document.getElementById("console-fullscreen").addEventListener("click", () => {
  if (document.fullscreenElement) document.exitFullscreen();
  else screen.requestFullscreen();
});
