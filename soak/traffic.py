"""Mixed tenant traffic through the portal's HTTP API, as customers and a billing system send
it: each actor takes one step at a time, chosen at random with fixed weights, and tallies what
it was answered. Nothing here checks: the invariants do, once the traffic has drained."""

import asyncio
import itertools
import json
import random
import re
import struct
import threading
import time
import uuid
from collections import Counter

import aiohttp
import requests

from apps.billing.signing import SIGNATURE_HEADER, sign

NAME_PREFIX = "soak-"
MAX_LIVE_GUESTS = 12
MAX_BILLING_SERVICES = 6
# A billing system calls far less often than customers click.
BILLING_IDLE_SHARE = 0.8
TIMEOUT = 30


class Tally:
    """(action, outcome) counts, shared by the actors' threads."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def add(self, action: str, outcome: str) -> None:
        with self.lock:
            self.counts[action, outcome] += 1


def outcome_of(response: requests.Response) -> str:
    return str(response.status_code)


class Customer:
    """A tenant's admin: the API with a token, consoles with a browser session."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        cookie: str,
        ostemplate: str,
        tally: Tally,
        seed: int,
        names: itertools.count,
    ) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.cookie = cookie
        self.ostemplate = ostemplate
        self.tally = tally
        self.rng = random.Random(seed)  # noqa: S311 (a reproducible mix, not a secret)
        self.names = names

    def step(self) -> None:
        guests = self.guests()
        settled = [g for g in guests if g["status"] not in ("creating", "destroyed")]
        actions = {
            self.create: 3 if len(guests) < MAX_LIVE_GUESTS else 0,
            self.power: 4 if settled else 0,
            self.snapshot: 2 if settled else 0,
            self.backup: 1 if settled else 0,
            self.console: 2 if any(g["status"] == "running" for g in settled) else 0,
            self.delete: 1.5 if len(settled) > 4 else 0,
        }
        if any(actions.values()):  # else every guest is being created: nothing to do yet
            action = self.rng.choices(list(actions), weights=list(actions.values()))[0]
            action(settled)

    def request(self, action: str, method: str, path: str, body: dict | None = None):
        """One call; a call lost in transport is sent again with the same Idempotency-Key,
        as a client should."""
        headers = {"Idempotency-Key": uuid.uuid4().hex} if method != "get" else {}
        for attempt in range(3):
            try:
                response = self.session.request(
                    method, self.base_url + path, json=body, headers=headers, timeout=TIMEOUT
                )
            except requests.RequestException as error:
                self.tally.add(action, f"transport error ({type(error).__name__})")
                time.sleep(1 + attempt)
                continue
            self.tally.add(action, outcome_of(response))
            return response
        return None

    def guests(self) -> list[dict]:
        response = self.request("list guests", "get", "/api/v1/guests/?limit=200")
        if response is None or response.status_code != 200:
            return []
        return [g for g in response.json()["results"] if g["vanished_at"] is None]

    def create(self, _guests: list[dict]) -> None:
        name = f"{NAME_PREFIX}{next(self.names)}"
        body: dict = {"name": name, "plan": "small"}
        if self.rng.random() < 0.7:
            self.request("create VM", "post", "/api/v1/guests/", {**body, "template": 9000})
        else:
            body |= {"ostemplate": self.ostemplate, "password": "Soak-secret-1"}
            self.request("create CT", "post", "/api/v1/guests/", body)

    def power(self, guests: list[dict]) -> None:
        guest = self.rng.choice(guests)
        if guest["status"] == "running":
            action = self.rng.choice(("stop", "shutdown", "reboot"))
        else:
            action = "start"
        self.request(f"power {action}", "post", f"/api/v1/guests/{guest['vmid']}/status/{action}/")

    def snapshot(self, guests: list[dict]) -> None:
        vmid = self.rng.choice(guests)["vmid"]
        listed = self.request("list snapshots", "get", f"/api/v1/guests/{vmid}/snapshots/")
        if listed is None or listed.status_code != 200:
            return
        names = list(snapshot_names(listed.json()["snapshots"]))
        if names and self.rng.random() < 0.5:
            path = f"/api/v1/guests/{vmid}/snapshots/{self.rng.choice(names)}/"
            self.request("delete snapshot", "delete", path)
        else:
            body = {"name": f"s{next(self.names)}", "description": "soak"}
            self.request("take snapshot", "post", f"/api/v1/guests/{vmid}/snapshots/", body)

    def backup(self, guests: list[dict]) -> None:
        """Back a guest up, or, as customers keep their storage from filling, delete a backup
        (those of deleted guests too)."""
        if self.rng.random() < 0.4:
            listed = self.request("list backups", "get", "/api/v1/backups/")
            if listed is not None and listed.status_code == 200:
                deletable = [b["id"] for b in listed.json() if not b["protected"]]
                if deletable:
                    backup_id = self.rng.choice(deletable)
                    self.request("delete backup", "delete", f"/api/v1/backups/{backup_id}/")
                    return
        vmid = self.rng.choice(guests)["vmid"]
        self.request("back up", "post", f"/api/v1/guests/{vmid}/backups/", {"notes": "soak"})

    def delete(self, guests: list[dict]) -> None:
        vmid = self.rng.choice(guests)["vmid"]
        self.request("delete guest", "delete", f"/api/v1/guests/{vmid}/")

    def console(self, guests: list[dict]) -> None:
        """Open a VM's console page, relay RFB's handshake through the websocket, close."""
        vms = [g for g in guests if g["status"] == "running" and g["type"] == "qemu"]
        if not vms:
            return
        vmid = self.rng.choice(vms)["vmid"]
        try:
            page = requests.get(
                f"{self.base_url}/guests/{vmid}/console/",
                headers={"Cookie": self.cookie},
                timeout=TIMEOUT,
            )
        except requests.RequestException as error:
            self.tally.add("console", f"transport error ({type(error).__name__})")
            return
        found = re.search(r'data-token="([^"]+)"', page.text)
        if page.status_code != 200 or not found:
            self.tally.add("console", f"page {page.status_code}")
            return
        self.tally.add("console", asyncio.run(self.relay(found.group(1))))

    async def relay(self, token: str) -> str:
        url = f"{self.base_url.replace('http', 'ws', 1)}/ws/console/{token}/"
        headers = {"Origin": self.base_url, "Cookie": self.cookie}
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(url, protocols=("binary",), headers=headers) as socket_,
            ):
                return await rfb_handshake(socket_)
        except aiohttp.WSServerHandshakeError as error:
            return f"upgrade refused {error.status}"
        except (aiohttp.ClientError, TimeoutError) as error:
            return f"error ({type(error).__name__})"


def snapshot_names(nodes: list[dict]):
    for node in nodes:
        yield node["name"]
        yield from snapshot_names(node["children"])


async def rfb_handshake(socket_: aiohttp.ClientWebSocketResponse) -> str:
    """RFB 3.8 as noVNC speaks it to the portal (security None) up to ServerInit."""
    buffer = bytearray()

    async def read(count: int) -> bytes:
        while len(buffer) < count:
            message = await socket_.receive(timeout=TIMEOUT)
            if message.type != aiohttp.WSMsgType.BINARY:
                raise ConsoleClosed(socket_.close_code)
            buffer.extend(message.data)
        data = bytes(buffer[:count])
        del buffer[:count]
        return data

    try:
        await read(12)
        await socket_.send_bytes(b"RFB 003.008\n")
        await read((await read(1))[0])
        await socket_.send_bytes(bytes([1]))  # security type None
        await read(4)
        await socket_.send_bytes(bytes([1]))  # ClientInit, shared
        (name_length,) = struct.unpack(">I", (await read(24))[20:])
        await read(name_length)
    except ConsoleClosed as closed:
        return f"closed {closed.code} during the handshake"
    return "relayed the handshake"


class ConsoleClosed(Exception):
    def __init__(self, code: int | None) -> None:
        super().__init__(code)
        self.code = code


class BillingSystem:
    """A WHMCS-like sender of signed webhooks: creates services, suspends and unsuspends them,
    and now and then delivers an event twice (a retry), which must get the first answer."""

    def __init__(self, *, base_url: str, key: str, tally: Tally, seed: int) -> None:
        self.url = f"{base_url}/billing/webhooks/"
        self.key = key
        self.tally = tally
        self.rng = random.Random(seed)  # noqa: S311
        self.services: dict[str, str] = {}  # service id: its last state as sent
        self.answers: dict[str, int] = {}
        self.replay_problems: list[str] = []
        self.replays = 0
        self.numbers = itertools.count(1)

    def step(self) -> None:
        if self.rng.random() < BILLING_IDLE_SHARE:
            return
        if len(self.services) < MAX_BILLING_SERVICES and self.rng.random() < 0.4:
            service = f"svc-{next(self.numbers)}"
            self.services[service] = "active"
            self.send(
                "service.create",
                service=service,
                customer={"id": self.rng.choice(("c1", "c2")), "name": "Soak customer"},
                plan="small",
                template=9000,
                hostname=f"{NAME_PREFIX}billing-{service}",
            )
        elif self.services:
            service = self.rng.choice(sorted(self.services))
            suspend = self.services[service] == "active"
            self.services[service] = "suspended" if suspend else "active"
            self.send("service.suspend" if suspend else "service.unsuspend", service=service)

    def send(self, type_: str, **data: object) -> None:
        event_id = f"evt-{uuid.uuid4().hex[:12]}"
        body = json.dumps(
            {"id": event_id, "type": type_, "created": int(time.time()), "data": data}
        ).encode()
        first = self.post(type_, body)
        if first is None:
            return
        self.answers[event_id] = first.status_code
        if self.rng.random() < 0.2:  # the billing system retries a delivery it already made
            again = self.post(f"{type_} (again)", body)
            self.replays += 1
            if again is not None and (again.status_code, again.json()) != (
                first.status_code,
                first.json(),
            ):
                self.replay_problems.append(f"{event_id}: replay answered differently")

    def post(self, action: str, body: bytes) -> requests.Response | None:
        """Sent until answered (the same event id: a lost answer must not act twice)."""
        for attempt in range(5):
            header = sign(key=self.key, content=body)
            try:
                response = requests.post(
                    self.url,
                    data=body,
                    headers={"Content-Type": "application/json", SIGNATURE_HEADER: header},
                    timeout=TIMEOUT,
                )
            except requests.RequestException as error:
                self.tally.add(f"webhook {action}", f"transport error ({type(error).__name__})")
                time.sleep(1 + attempt)
                continue
            self.tally.add(f"webhook {action}", outcome_of(response))
            return response
        return None


def run_actors(actors: list, *, until: float, pause: float, errors: Tally) -> None:
    """Each actor in a thread of its own, stepping until the deadline."""

    def loop(actor) -> None:
        while time.monotonic() < until:
            try:
                actor.step()
            except Exception as error:  # tallied: the invariants decide what it broke
                errors.add(type(actor).__name__, f"{type(error).__name__}: {error}"[:80])
            time.sleep(pause)

    threads = [threading.Thread(target=loop, args=(actor,), daemon=True) for actor in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
