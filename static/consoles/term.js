// xterm.js through the portal's console proxy, speaking PVE termproxy's framing:
// "0:<utf-8 length>:<data>" input, "1:<cols>:<rows>:" resize, "2" keep-alive.
import { FitAddon } from "../vendor/xterm/addon-fit.mjs";
import { Terminal } from "../vendor/xterm/xterm.mjs";
import { nextToken, onPaste, onReconnect, screen, setStatus, websocketUrl } from "./common.js";

const KEEPALIVE_MS = 30000;
const encoder = new TextEncoder();
const terminal = new Terminal({ fontSize: 14, cursorBlink: true, convertEol: false });
const fit = new FitAddon();
terminal.loadAddon(fit);
terminal.open(screen);
fit.fit();

let socket = null;
let keepalive = null;

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(frame);
}

function sendInput(data) {
  send(`0:${encoder.encode(data).length}:${data}`);
}

function sendSize() {
  send(`1:${terminal.cols}:${terminal.rows}:`);
}

async function connect() {
  setStatus("connecting", "connecting");
  let token;
  try {
    token = await nextToken();
  } catch (error) {
    setStatus("disconnected", "disconnected", error.message);
    return;
  }
  socket = new WebSocket(websocketUrl(token), ["binary"]);
  socket.binaryType = "arraybuffer";
  socket.addEventListener("open", () => {
    setStatus("connected", "connected");
    sendSize();
    keepalive = setInterval(() => send("2"), KEEPALIVE_MS);
    terminal.focus();
  });
  socket.addEventListener("message", (event) => {
    terminal.write(typeof event.data === "string" ? event.data : new Uint8Array(event.data));
  });
  socket.addEventListener("close", (event) => {
    clearInterval(keepalive);
    setStatus("disconnected", "disconnected", event.reason);
    socket = null;
  });
}

terminal.onData(sendInput);
terminal.onResize(sendSize);
new ResizeObserver(() => fit.fit()).observe(screen);
for (const [id, step] of [["console-smaller", -1], ["console-larger", 1]]) {
  document.getElementById(id).addEventListener("click", () => {
    terminal.options.fontSize = Math.max(8, Math.min(32, terminal.options.fontSize + step));
    fit.fit();
  });
}
onPaste((text) => {
  sendInput(text);
  terminal.focus();
});
onReconnect(connect);
connect();
