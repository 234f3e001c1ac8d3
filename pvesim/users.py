"""Access state: user.cfg (pvecore format) plus the secrets PVE keeps under /etc/pve/priv.

user.cfg            users, groups, custom roles, ACLs, pools, tokens (pvecore.usercfg)
priv/shadow.json    password hashes (scrypt) of pve and simulated pam users
priv/token.json     API token secrets (PVE keeps them in priv/token.cfg)
priv/tfa.json       second factors per user (TOTP secrets, base32)
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import os
import time
from pathlib import Path
from typing import Any

from pvecore.acl import ROOT_USERID, AccessModel, Token
from pvecore.ids import split_tokenid
from pvecore.usercfg import UserConfig, parse_user_cfg, render_user_cfg
from pvesim.auth import totp_matches
from pvesim.store import atomic_write, read_json, write_json

ROOT = ROOT_USERID
# pveum.adoc: 8 failed TOTP attempts lock the user's TOTP factors until an admin unlocks them.
TOTP_FAILURE_LIMIT = 8


def _hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _password_matches(password: str, stored: str) -> bool:
    _, salt, _ = stored.split("$")
    return hmac.compare_digest(_hash_password(password, base64.b64decode(salt)), stored)


class AccessStore:
    def __init__(self, data_dir: Path) -> None:
        self._user_cfg_path = data_dir / "user.cfg"
        self._private = data_dir / "priv"
        self.config = (
            parse_user_cfg(self._user_cfg_path.read_text())
            if self._user_cfg_path.exists()
            else UserConfig()
        )
        self._shadow: dict[str, str] = read_json(self._private / "shadow.json", {})
        self._token_secrets: dict[str, str] = read_json(self._private / "token.json", {})
        tfa = read_json(self._private / "tfa.json", {})
        self.tfa: dict[str, list[dict[str, Any]]] = tfa.get("users", {})
        self._totp_failures: dict[str, int] = tfa.get("totp_failures", {})
        self._model: AccessModel | None = None
        self._answers: dict[tuple[str, str, tuple[str, ...], bool], bool] = {}

    # --- persistence ---------------------------------------------------------------------
    def save(self) -> None:
        atomic_write(self._user_cfg_path, render_user_cfg(self.config), mode=0o640)
        self._model = None
        self._answers = {}

    def save_secrets(self) -> None:
        write_json(self._private / "shadow.json", self._shadow, mode=0o600)
        write_json(self._private / "token.json", self._token_secrets, mode=0o600)
        tfa = {"users": self.tfa, "totp_failures": self._totp_failures}
        write_json(self._private / "tfa.json", tfa, mode=0o600)

    def model(self) -> AccessModel:
        """The ACL evaluator for the current config (rebuilt after every change)."""
        if self._model is None:
            self._model = self.config.access_model()
        return self._model

    def has_privileges(
        self, principal: str, path: str, privs: tuple[str, ...], *, any_: bool = False
    ) -> bool:
        """Memoised AccessModel.has_privileges: lists check thousands of paths per request."""
        key = (principal, path, privs, any_)
        answer = self._answers.get(key)
        if answer is None:
            answer = self._answers[key] = self.model().has_privileges(
                principal, path, privs, any_=any_
            )
        return answer

    # --- users ---------------------------------------------------------------------------
    def user_exists(self, userid: str) -> bool:
        return userid in self.config.users

    def user_enabled(self, userid: str, now: int | None = None) -> bool:
        user = self.config.users.get(userid)
        if user is None or not user.enable:
            return False
        moment = int(time.time()) if now is None else now
        return not user.expire or user.expire > moment

    def set_password(self, userid: str, password: str) -> None:
        self._shadow[userid] = _hash_password(password)
        self.save_secrets()

    def check_password(self, userid: str, password: str) -> bool:
        stored = self._shadow.get(userid)
        return stored is not None and _password_matches(password, stored)

    def forget_user(self, userid: str) -> None:
        """Drop a deleted user's secrets, tokens and second factors."""
        self._shadow.pop(userid, None)
        self.tfa.pop(userid, None)
        self._totp_failures.pop(userid, None)
        for tokenid in [t for t in self.config.tokens if t.startswith(userid + "!")]:
            del self.config.tokens[tokenid]
            self._token_secrets.pop(tokenid, None)
        self.save_secrets()

    # --- API tokens ----------------------------------------------------------------------
    def add_token(self, token: Token, secret: str) -> None:
        self.config.tokens[token.tokenid] = token
        self._token_secrets[token.tokenid] = secret
        self.save()
        self.save_secrets()

    def remove_token(self, tokenid: str) -> None:
        self.config.tokens.pop(tokenid, None)
        self._token_secrets.pop(tokenid, None)
        self.config.acl = [entry for entry in self.config.acl if entry.token != tokenid]
        self.save()
        self.save_secrets()

    def verify_token(self, tokenid: str, secret: str, now: int | None = None) -> str | None:
        """Return the owning userid if the token and secret are valid (FACTS §4)."""
        try:
            userid, _ = split_tokenid(tokenid)
        except ValueError:
            return None
        moment = int(time.time()) if now is None else now
        token = self.config.tokens.get(tokenid)
        stored = self._token_secrets.get(tokenid)
        if token is None or stored is None or not self.user_enabled(userid, moment):
            return None
        if token.expire and token.expire <= moment:
            return None
        return userid if hmac.compare_digest(stored, secret) else None

    # --- second factors ------------------------------------------------------------------
    def totp_secrets(self, userid: str) -> list[str]:
        return [
            entry["secret"]
            for entry in self.tfa.get(userid, [])
            if entry["type"] == "totp" and entry.get("enable", True)
        ]

    def totp_locked(self, userid: str) -> bool:
        return self._totp_failures.get(userid, 0) >= TOTP_FAILURE_LIMIT

    def check_totp(self, userid: str, code: str) -> bool:
        """Verify a TOTP code; failures count towards the lockout, success resets them."""
        if self.totp_locked(userid):
            return False
        if any(totp_matches(secret, code) for secret in self.totp_secrets(userid)):
            self._totp_failures.pop(userid, None)
            self.save_secrets()
            return True
        self._totp_failures[userid] = self._totp_failures.get(userid, 0) + 1
        self.save_secrets()
        return False

    def unlock_tfa(self, userid: str) -> bool:
        """Clear the TOTP lockout; True if the user was locked."""
        was_locked = self.totp_locked(userid)
        if self._totp_failures.pop(userid, None) is not None:
            self.save_secrets()
        return was_locked

        # --- pools ---------------------------------------------------------------------------

    def pool_of(self, vmid: int) -> str | None:
        for pool in self.config.pools.values():
            if vmid in pool.vms:
                return pool.name
        return None

    def set_pool_members(self, name: str, *, vms: frozenset[int], storages: frozenset[str]) -> None:
        pool = self.config.pools[name]
        self.config.pools[name] = dataclasses.replace(pool, vms=vms, storages=storages)
        self.save()

    def add_vm_to_pool(self, name: str, vmid: int) -> None:
        pool = self.config.pools[name]
        self.set_pool_members(name, vms=pool.vms | {vmid}, storages=pool.storages)

    def forget_vm(self, vmid: int) -> None:
        """A destroyed guest leaves its pool and its ACL entries (PVE always removes those)."""
        for name, pool in list(self.config.pools.items()):
            if vmid in pool.vms:
                self.config.pools[name] = dataclasses.replace(pool, vms=pool.vms - {vmid})
        self.config.acl = [e for e in self.config.acl if e.path != f"/vms/{vmid}"]
        self.save()
