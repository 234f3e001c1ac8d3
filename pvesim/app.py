"""The aiohttp application: PVE's request pipeline for ``/api2/json`` plus ``/pvesim/faults``.

Order of a request, as pveproxy/pvedaemon do it: fault injection (simulator only), routing (501),
authentication (401, CSRF), ``allowtoken`` (403), forwarding to the node (595 when offline),
the schema permission check (403), parameter verification (400), the handler, the envelope.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import urllib.parse
from typing import Any

from aiohttp import web

from pvecore.permcheck import NoSuchUser, PermissionDenied, check_permissions
from pvesim import routes
from pvesim.context import Reply, RequestContext, Simulator
from pvesim.errors import PveError
from pvesim.faults import apply_fault_settings, fault_settings, reset_faults
from pvesim.params import validate

log = logging.getLogger("pvesim")

SIMULATOR_KEY = web.AppKey("simulator", Simulator)
PVE_HEADERS = {
    "Server": "pve-api-daemon/3.0",
    "Cache-Control": "max-age=0",
    "Pragma": "no-cache",
}
API_PREFIX = "/api2/json"


def json_response(
    body: dict[str, Any] | None, status: int = 200, reason: str | None = None
) -> web.Response:
    text = "" if body is None else json.dumps(body, separators=(",", ":"))
    return web.Response(
        status=status,
        reason=reason,
        text=text,
        headers={**PVE_HEADERS, "Content-Type": "application/json;charset=UTF-8"},
    )


def error_response(error: PveError) -> web.Response:
    reason = error.message.split("\n", 1)[0][:200]
    if error.status == 401 and error.message != "authentication failure":
        return json_response(None, 401, reason)  # pve-http-server sends no body here
    body: dict[str, Any] = {"data": None, "message": error.message.rstrip("\n") + "\n"}
    if error.errors:
        body["errors"] = error.errors
    return json_response(body, error.status, reason)


def _scalar_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value)


async def _read_params(request: web.Request, uploads: dict[str, int]) -> dict[str, str]:
    """Query and body parameters as text; uploaded files become their file name, and their
    sizes go to ``uploads`` (the simulator keeps no file content)."""
    values: dict[str, str] = {key: request.query[key] for key in request.query}
    if request.method not in ("POST", "PUT") or not request.can_read_body:
        return values
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except json.JSONDecodeError as error:
            raise PveError(400, f"JSON decode error: {error}") from None
        if not isinstance(body, dict):
            raise PveError(400, "JSON body must be an object")
        for key, value in body.items():
            if (text := _scalar_text(value)) is not None:
                values[key] = text
    else:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                values[key] = value
            elif isinstance(value, web.FileField):
                values[key] = value.filename
                uploads[key] = value.file.seek(0, 2)
    return values


def _merge_uri_params(values: dict[str, str], uri_params: dict[str, str]) -> dict[str, str]:
    conflicts = {
        name: "duplicate parameter (already defined in URI) with conflicting values!"
        for name, value in uri_params.items()
        if name in values and values[name] != value
    }
    if conflicts:
        raise PveError(400, "Parameter verification failed.", conflicts)
    return {**values, **uri_params}


class Pipeline:
    """Turns an HTTP request into a handler call and the handler result into PVE's envelope."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.raw_path.split("?", 1)[0]
        relative = urllib.parse.unquote(raw_path[len(API_PREFIX) :]) or "/"
        if relative != "/" and relative.endswith("/"):
            relative = relative.rstrip("/")
        decision = self.sim.faults.decide(request.method, relative)
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000)
        if decision.drop:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        try:
            if decision.error:
                raise PveError(*decision.error)
            return await self._dispatch(request, relative)
        except PveError as error:
            if error.status == 401 and self.sim.settings.auth_failure_delay:
                await asyncio.sleep(self.sim.settings.auth_failure_delay)
            return error_response(error)
        except Exception as error:
            # A simulator bug: answer like a PVE handler that died, and keep the traceback.
            log.exception("unexpected error in %s %s", request.method, relative)
            return error_response(PveError(500, f"pvesim internal error: {error!r}"))

    async def _dispatch(self, request: web.Request, relative: str) -> web.StreamResponse:
        resolved = routes.resolve(request.method, relative)
        if resolved is None:
            raise PveError(501, f"Method '{request.method} {relative}' not implemented")
        endpoint, uri_params = resolved
        context = self._authenticate(request, endpoint)
        if endpoint.proxyto:
            node = self.sim.state.node(uri_params[endpoint.proxyto])
            if not node.online:
                raise PveError(595, "No route to host")
        raw = _merge_uri_params(await _read_params(request, context.uploads), uri_params)
        try:
            check_permissions(
                self.sim.access.model(),
                context.principal or None,
                endpoint.permissions,
                raw,
                user_exists=self.sim.access.user_exists,
            )
        except PermissionDenied as denied:
            raise PveError(403, str(denied)) from None
        except NoSuchUser as missing:
            raise PveError(500, str(missing)) from None
        values = validate(endpoint.params, raw)
        if endpoint.websocket:
            return await endpoint.handler(context, values)
        result = await endpoint.handler(context, values)
        body: dict[str, Any]
        if isinstance(result, Reply):
            body = {"data": result.data}
            if result.total is not None:
                body["total"] = result.total
        else:
            body = {"data": result}
        return json_response(body)

    def _authenticate(self, request: web.Request, endpoint: routes.Endpoint) -> RequestContext:
        if endpoint.public:
            return RequestContext(self.sim, request, None)
        header = request.headers.get("Authorization", "")
        ticket = request.cookies.get("PVEAuthCookie")
        if ticket is None and header.startswith("PVEAuthCookie="):
            ticket = header[len("PVEAuthCookie=") :]
        if ticket is not None:
            info = self.sim.signer.verify_ticket(urllib.parse.unquote(ticket))
            if info is None or not self.sim.access.user_enabled(info.userid):
                raise PveError(401, "Authentication failed!")
            # Uploads are multipart forms; PVE checks Datastore.AllocateTemplate instead.
            if request.method != "GET" and not endpoint.path.endswith("/upload"):
                csrf = request.headers.get("CSRFPreventionToken", "")
                if not self.sim.signer.verify_csrf_token(csrf, info.userid):
                    raise PveError(401, "Permission denied - invalid csrf token")
            return RequestContext(self.sim, request, info.userid)
        if header.startswith("PVEAPIToken"):
            value = urllib.parse.unquote(header[len("PVEAPIToken") :].lstrip("= "))
            tokenid, _, secret = value.rpartition("=")
            userid = self.sim.access.verify_token(tokenid, secret)
            if userid is None:
                raise PveError(401, "Authentication failed!")
            if not endpoint.allowtoken:
                raise PveError(
                    403,
                    f"Permission check failed (URI '{API_PREFIX}{endpoint.path}' not available"
                    " with API token, need proper ticket.)",
                )
            return RequestContext(self.sim, request, userid, tokenid)
        raise PveError(401, "No ticket")


def _fault_api_allowed(request: web.Request, sim: Simulator) -> bool:
    """The fault API answers only callers on the simulator's own host (or loopback)."""
    peer = request.remote or ""
    try:
        if ipaddress.ip_address(peer).is_loopback:
            return True
    except ValueError:
        return False
    return peer == sim.settings.host


async def faults_handler(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR_KEY]
    if not _fault_api_allowed(request, sim):
        return web.json_response(
            {"error": "the fault API is only served to local callers"}, status=403
        )
    if request.method == "PUT":
        try:
            apply_fault_settings(sim, await request.json())
        except (ValueError, TypeError, AttributeError, json.JSONDecodeError) as error:
            return web.json_response({"error": str(error)}, status=400)
    elif request.method == "DELETE":
        reset_faults(sim)
    return web.json_response(fault_settings(sim))


async def no_such_uri(request: web.Request) -> web.Response:
    return json_response(None, 501, "no such uri")


def create_app(sim: Simulator) -> web.Application:
    routes.load_all()
    app = web.Application(client_max_size=64 * 1024**2)
    app[SIMULATOR_KEY] = sim
    pipeline = Pipeline(sim)
    app.router.add_route("*", API_PREFIX + "{tail:(/.*)?}", pipeline)
    app.router.add_route("*", "/pvesim/faults", faults_handler)
    app.router.add_route("*", "/{tail:.*}", no_such_uri)

    async def stop_tasks(_: web.Application) -> None:
        await sim.consoles.close_all()
        await sim.tasks.shutdown()

    app.on_shutdown.append(stop_tasks)
    return app
