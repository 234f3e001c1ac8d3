"""Evaluate a schema `permissions` object the way `PVE::RPCEnvironment` does.

Covers `check_api2_permissions` and `exec_api2_perm_check`: `perm` (templated path, `any`,
`require_param`), `and`, `or`, `userid-param` (`self`, `Realm.AllocateUser`), `userid-group`
(with `groups_param` create/update), `perm-modify`, and `user: all|world`. Messages are PVE's.
"""

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from pvecore.acl import ROOT_USERID, AccessModel
from pvecore.ids import split_userid
from pvecore.paths import normalize_acl_path
from pvecore.text import split_list

_TEMPLATE_RE = re.compile(r"\{([^}]+)\}")


class PermissionDenied(Exception):
    """HTTP 403 in PVE; `str(exc)` is PVE's message."""

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail
        message = "Permission check failed"
        super().__init__(f"{message} ({detail})" if detail else message)


class NoSuchUser(LookupError):
    """PVE's `check_user_exist` failure (HTTP 500, not a permission error)."""

    def __init__(self, userid: str) -> None:
        super().__init__(f"no such user ('{userid}')")


def check_permissions(
    model: AccessModel,
    principal: str | None,
    permissions: Mapping[str, object] | None,
    params: Mapping[str, object],
    *,
    group_of_user: Callable[[str], Iterable[str]] | None = None,
    user_exists: Callable[[str], bool] | None = None,
) -> None:
    """Raise PermissionDenied unless `principal` may call a method with these `permissions`.

    `principal` is None for an unauthenticated request. `group_of_user` overrides the model's
    group membership for `userid-group` checks; `user_exists` enables PVE's existence check of
    the `userid` parameter (NoSuchUser), which is skipped when not given.
    """
    user = permissions.get("user") if permissions is not None else None
    if user == "world":
        return  # PVE skips authentication for these methods altogether
    if principal is None:
        raise PermissionDenied("user != null")
    if principal == ROOT_USERID:
        return
    if permissions is None:
        raise PermissionDenied("user != root@pam")
    if user == "all":
        return
    if user is not None:
        raise ValueError(f"unknown permissions user value '{user}'")
    check = permissions.get("check")
    if check is None:
        raise PermissionDenied()
    evaluator = _Evaluator(
        model=model,
        principal=principal,
        params=params,
        group_of_user=group_of_user or model.groups_of,
        user_exists=user_exists,
    )
    evaluator.run(_as_check(check), noerr=False)


def _as_check(value: object) -> Sequence[object]:
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(f"malformed permission check {value!r}")
    return value


def _param_text(value: object) -> str | None:
    """A parameter as Perl sees it in string context; None when undefined."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def template_replace(template: str, params: Mapping[str, object]) -> str:
    """`PVE::Tools::template_replace`: missing or false ('' / '0') values become '-'."""

    def substitute(match: re.Match[str]) -> str:
        value = _param_text(params.get(match.group(1)))
        return value if value not in (None, "", "0") else "-"

    return _TEMPLATE_RE.sub(substitute, template)


class _Evaluator:
    def __init__(
        self,
        *,
        model: AccessModel,
        principal: str,
        params: Mapping[str, object],
        group_of_user: Callable[[str], Iterable[str]],
        user_exists: Callable[[str], bool] | None,
    ) -> None:
        self.model = model
        self.principal = principal
        self.params = params
        self.group_of_user = group_of_user
        self.user_exists = user_exists

    def run(self, check: Sequence[object], *, noerr: bool) -> bool:
        test = check[0]
        if test == "and":
            # PVE runs the sub-checks of 'and' without noerr, even inside an 'or'.
            for sub_check in check[1:]:
                self.run(_as_check(sub_check), noerr=False)
            return True
        if test == "or":
            for sub_check in check[1:]:
                if self.run(_as_check(sub_check), noerr=True):
                    return True
            return self._fail(noerr)
        if test == "perm":
            return self._perm(check, noerr=noerr)
        if test == "userid-param":
            return self._userid_param(check, noerr=noerr)
        if test == "userid-group":
            return self._userid_group(check, noerr=noerr)
        if test == "perm-modify":
            return self._perm_modify(check, noerr=noerr)
        raise ValueError(f"unknown permission test {test!r}")

    def _fail(self, noerr: bool, detail: str | None = None) -> bool:
        if noerr:
            return False
        raise PermissionDenied(detail)

    def _check_privileges(
        self, path: str, privs: Sequence[str], *, any_: bool, noerr: bool
    ) -> bool:
        if self.model.has_privileges(self.principal, path, privs, any_=any_):
            return True
        if any_:
            return self._fail(noerr, f"{path}, {'|'.join(privs)}")
        held = self.model.privileges_at(self.principal, path)
        missing = next(privilege for privilege in privs if privilege not in held)
        return self._fail(noerr, f"{path}, {missing}")

    def _perm(self, check: Sequence[object], *, noerr: bool) -> bool:
        if len(check) < 3 or not isinstance(check[1], str) or not isinstance(check[2], list):
            raise ValueError(f"malformed perm check {check!r}")
        options = _options(check[3:])
        unknown = set(options) - {"any", "require_param"}
        if unknown:
            raise ValueError(f"unknown perm check options {sorted(unknown)}")
        require_param = options.get("require_param")
        if require_param is not None and self.params.get(str(require_param)) is None:
            return self._fail(noerr)
        path = self._templated_path(check[1])
        if path is None:
            return self._fail(noerr)
        return self._check_privileges(
            path, [str(p) for p in check[2]], any_=bool(options.get("any")), noerr=noerr
        )

    def _templated_path(self, template: str) -> str | None:
        """The normalised ACL path, or None if the parameters make it invalid."""
        try:
            return normalize_acl_path(template_replace(template, self.params))
        except ValueError:
            return None

    def _target_userid(self) -> str:
        userid = _param_text(self.params.get("userid")) or ""
        split_userid(userid)
        return userid

    def _target_exists(self, userid: str, *, noerr: bool) -> bool:
        if self.user_exists is None or self.user_exists(userid):
            return True
        if noerr:
            return False
        raise NoSuchUser(userid)

    def _userid_param(self, check: Sequence[object], *, noerr: bool) -> bool:
        if len(check) < 2:
            raise ValueError("userid-param check without a sub-test")
        userid = self._target_userid()
        if check[1] == "self":
            if not self._target_exists(userid, noerr=noerr):
                return False
            return userid == self.principal or self._fail(noerr)
        if check[1] == "Realm.AllocateUser":
            _, realm = split_userid(userid)
            return self._check_privileges(
                f"/access/realm/{realm}", ["Realm.AllocateUser"], any_=False, noerr=noerr
            )
        raise ValueError(f"unknown userid-param test {check[1]!r}")

    def _userid_group(self, check: Sequence[object], *, noerr: bool) -> bool:
        if len(check) < 2 or not isinstance(check[1], list):
            raise ValueError(f"malformed userid-group check {check!r}")
        privs = [str(p) for p in check[1]]
        options = _options(check[2:])
        groups_param = options.get("groups_param")
        if groups_param not in (None, "create", "update"):
            raise ValueError(f"unknown userid-group groups_param {groups_param!r}")
        check_existing_user = groups_param != "create"
        userid = _param_text(self.params.get("userid")) or ""
        if check_existing_user and not self._target_exists(userid, noerr=noerr):
            return False
        if self.model.has_privileges(self.principal, "/access/groups", privs, any_=True):
            return True
        allowed_groups = {
            group
            for group in self.model.groups
            if self.model.has_privileges(
                self.principal, f"/access/groups/{group}", privs, any_=True
            )
        }
        joined = "|".join(privs)
        if groups_param is not None:
            # Raised even inside an 'or', as PVE does.
            requested = split_list(_param_text(self.params.get("groups")) or "")
            if not requested:
                raise PermissionDenied(f"/access/groups, {joined}")
            for group in requested:
                if group not in allowed_groups:
                    raise PermissionDenied(f"/access/groups/{group}, {joined}")
        if check_existing_user and allowed_groups.isdisjoint(self.group_of_user(userid)):
            return self._fail(noerr)
        return True

    def _perm_modify(self, check: Sequence[object], *, noerr: bool) -> bool:
        if len(check) < 2 or not isinstance(check[1], str):
            raise ValueError(f"malformed perm-modify check {check!r}")
        path = self._templated_path(check[1])
        if path is None:
            return self._fail(noerr)
        privs = ["Permissions.Modify"]
        # Allocating an object also allows granting on it.
        if re.fullmatch(r"/storage/.+", path):
            privs.append("Datastore.Allocate")
        elif re.fullmatch(r"/vms/.+", path):
            privs.append("VM.Allocate")
        elif re.fullmatch(r"/pool/.+", path):
            privs.append("Pool.Allocate")
        return self._check_privileges(path, privs, any_=True, noerr=noerr)


def _options(items: Sequence[object]) -> dict[str, object]:
    """The trailing `key, value, ...` pairs of a check (Perl `%options`)."""
    if len(items) % 2:
        raise ValueError(f"odd number of check options {list(items)!r}")
    return {str(items[i]): items[i + 1] for i in range(0, len(items), 2)}
