"""Who may change things: sign-in (`st.login`, OIDC through Authlib) when `.streamlit/secrets.toml` has an `[auth]`
section, and which signed-in people may act rather than only look. One function decides (`refusal`); every button
that writes asks it through `button` (disabled, with the reason as its help) or `require` (the reason as an error).

No `[auth]`: the embedded default. Nobody signs in and whoever reaches the app is an operator, as before; it listens
on loopback unless told otherwise, and the sidebar of every page (Health's too) warns when it does not (`exposed`).

With `[auth]` (Streamlit's own keys: redirect_uri ending in /oauth2callback, cookie_secret, and client_id,
client_secret, server_metadata_url there or per provider in `[auth.NAME]`), every page needs a signed-in user, and
`[arena.access]` says who is what:

    [arena.access]
    operators = ["ada@example.org", "@ops.example.org"]  # emails, or "@domain" for everyone at a domain
    role_claim = "roles"                                 # a claim of the id_token: a list, or a space-separated string;
                                                         # dotted for a nested one (Keycloak: "realm_access.roles")
    operator_role = "arena-operator"                     # holding it in role_claim makes an operator too
    viewers = ["@example.org"]                           # who may look; unset (and no viewer_role): anyone signed in
    viewer_role = "arena-viewer"
    contact = "the platform team (#arena)"              # whom a refused user is told to ask

An operator may launch, cancel, judge again, apply, abandon and open or update pull requests; a viewer sees every page
and is told, on each of those buttons, what it would need and whom to ask. An email counts only when the provider
does not call it unverified (`email_verified: false`): anyone can type any address into some providers' sign-up forms.
With no `[arena.access]` at all, a signed-in user is a viewer: turning login on never hands out the buttons by itself.

Mistakes fail closed, each with what to fix: `[arena.access]` without `[auth]` (it would silently let everyone act),
a secrets.toml that does not parse, an `[auth]` missing a key, an unknown key in `[arena.access]`, no Authlib.
"""

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import streamlit as st
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from arena.errors import UserError

OPERATOR, VIEWER = "operator", "viewer"
ACTIONS = {
    "launch": "launching an arena",
    "cancel": "cancelling an arena or a contestant",
    "judge": "judging again",
    "apply": "applying a patch",
    "abandon": "abandoning a result",
    "pull_request": "opening or updating a pull request",
}
"""Everything the app does that changes something, by the name `button` and `require` take."""
SECRETS = ".streamlit/secrets.toml"
AUTHLIB = "Authlib>=1.3.2"
"""What `st.login` needs (pip install 'streamlit[auth]' brings it)."""
AUTH_KEYS = ("redirect_uri", "cookie_secret")
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


class Access(BaseModel):
    """`[arena.access]`: who is an operator (may act) and who a viewer (may look) once people sign in."""

    model_config = ConfigDict(extra="forbid")

    operators: list[str] = []
    """Emails (ada@example.org) or whole domains (@example.org) that may act."""
    operator_role: str | None = None
    """A value of `role_claim` that makes its holder an operator."""
    viewers: list[str] | None = None
    """Emails or domains that may look; unset, with no viewer_role either: anyone the provider signs in."""
    viewer_role: str | None = None
    """A value of `role_claim` that lets its holder look."""
    role_claim: str = "roles"
    """The id_token claim that holds roles or groups; dotted for a nested claim."""
    contact: str = "whoever runs this Agent Arena"
    """Whom a refused user is told to ask."""

    @field_validator("operators", "viewers")
    @classmethod
    def _addresses(cls, entries: list[str] | None) -> list[str] | None:
        for entry in entries or []:
            if not re.fullmatch(r"[^@\s]*@[^@\s]+\.[^@\s]+", entry):
                raise ValueError(f"{entry!r} is neither an email (ada@example.org) nor a domain (@example.org)")
        return None if entries is None else [e.lower() for e in entries]


# -- the policy, on plain data ---------------------------------------------------------------------------------------


def verified_email(claims: Mapping[str, Any]) -> str | None:
    """The claims' email, lower-cased, unless the provider says it is not verified."""
    email = claims.get("email")
    if not isinstance(email, str) or claims.get("email_verified") in (False, "false"):
        return None
    return email.strip().lower() or None


def claim_values(claims: Mapping[str, Any], path: str) -> set[str]:
    """The values of a (dotted) claim: a list, or a string of space-separated values (as OAuth writes scopes)."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return set(value.split())
    if isinstance(value, list | tuple):
        return {str(v) for v in value}
    return set()


def listed(email: str | None, entries: list[str]) -> bool:
    """Whether an email is one of the entries, or at one of the entries' @domains."""
    return email is not None and any(email == e or (e.startswith("@") and email.endswith(e)) for e in entries)


def role(claims: Mapping[str, Any], access: Access) -> str | None:
    """OPERATOR, VIEWER, or None: this signed-in user may not even look."""
    email, roles = verified_email(claims), claim_values(claims, access.role_claim)
    if listed(email, access.operators) or (access.operator_role is not None and access.operator_role in roles):
        return OPERATOR
    if access.viewers is None and access.viewer_role is None:
        return VIEWER
    if listed(email, access.viewers or []) or (access.viewer_role is not None and access.viewer_role in roles):
        return VIEWER
    return None


def how_to_become(access: Access, email: str | None) -> str:
    """What makes an operator here, said to the person who is not one."""
    who = f"add {email} to" if email else "add your (verified) email to"
    ways = f"ask {access.contact} to {who} `operators` under `[arena.access]` in {SECRETS}"
    if access.operator_role:
        claim = f"the `{access.role_claim}` claim"
        ways += f", or to give you the `{access.operator_role}` role ({claim}) at the sign-in provider"
    return ways


def exposed(address: str | None, login: bool) -> str | None:
    """Why listening on `address` with no login is a risk, or None (loopback, or people sign in)."""
    if login or (address and (address == "localhost" or _loopback(address))):
        return None
    where = f"`{address}`" if address else "every network interface"
    return (
        f"This app listens on {where} and nobody signs in: whoever reaches it can launch arenas (commands run in "
        f"sandboxes on this host), apply patches and push to GitHub. Unless something in front of it keeps others "
        f"out (a login proxy, a port published on the host's loopback only), add an `[auth]` section to {SECRETS} "
        "(README: Sign-in), or restart with `--server.address 127.0.0.1`."
    )


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:  # a host name other than localhost: it may resolve to anything
        return False


# -- this session ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """Who is looking, as this rerun sees it."""

    login: bool
    """Whether people sign in here (an `[auth]` section); False: the login-free embedded default."""
    signed_in: bool
    who: str
    """The email (or name) shown as "signed in as"."""
    email: str | None
    role: str | None
    access: Access
    problem: str | None = None
    """A configuration mistake: until it is fixed nobody may do anything."""
    providers: tuple[str, ...] = ()


def current() -> Session:
    """This session's user and role, from secrets.toml and `st.user` (read every rerun: both are cheap)."""
    secrets, problem = _secrets()
    auth, access_raw = secrets.get("auth"), (secrets.get("arena") or {}).get("access")
    access = Access()
    if problem is None and access_raw is not None:
        try:
            access = Access(**dict(access_raw))
        except (ValidationError, TypeError) as e:
            problem = f"`[arena.access]` in {SECRETS} is not valid: {_first_error(e)}"
    if auth is None:
        if problem is None and access_raw is not None:
            problem = (
                f"{SECRETS} has `[arena.access]` but no `[auth]` section: without sign-in nobody can be told apart, "
                "so nobody may act; add `[auth]` (README: Sign-in) or remove `[arena.access]`"
            )
        if problem is None:
            return Session(login=False, signed_in=True, who="", email=None, role=OPERATOR, access=access)
        return Session(login=False, signed_in=False, who="", email=None, role=None, access=access, problem=problem)
    providers, missing = _providers(auth)
    problem = problem or missing or _authlib_missing()
    user = st.user.to_dict() if problem is None else {}
    signed_in = bool(user.get("is_logged_in"))
    email = verified_email(user) if signed_in else None
    who = str(email or user.get("email") or user.get("name") or user.get("sub") or "") if signed_in else ""
    return Session(
        login=True,
        signed_in=signed_in,
        who=who,
        email=email,
        role=role(user, access) if signed_in else None,
        access=access,
        problem=problem,
        providers=providers,
    )


def refusal(action: str) -> str | None:
    """Why this session may not do `action` (a key of ACTIONS), or None when it may. The one place that decides."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    session, what = current(), ACTIONS[action]
    if session.problem is not None:
        return f"{what.capitalize()} is off until the sign-in settings are fixed: {session.problem}"
    if session.role == OPERATOR:
        return None
    if not session.signed_in:
        return f"Sign in first: {what} needs an operator"
    return (
        f"Signed in as {session.who} ({session.role or 'no access'}): {what} needs the `{OPERATOR}` role — "
        f"{how_to_become(session.access, session.email)}."
    )


def require(action: str) -> None:
    """Raise UserError with the reason when this session may not do `action` (for effects behind a button that
    `button` does not draw)."""
    if why := refusal(action):
        raise UserError(why)


def button(label: str, action: str, *, where: Any = None, disabled: bool = False, help: str | None = None, **kwargs):
    """`st.button` (or `where.button`) for an action that changes something: disabled, with the reason as its help,
    when this session may not do it. Returns True only when pressed and allowed, whatever the browser sent."""
    why = refusal(action)
    pressed = (where or st).button(label, disabled=disabled or why is not None, help=why or help, **kwargs)
    return bool(pressed) and why is None


def explain(action: str) -> None:
    """The reason this session may not do `action`, shown on the page (a disabled button's help is easy to miss)."""
    if why := refusal(action):
        st.info(why, icon=":material/lock:")


# -- the screens nav.py shows around the pages -----------------------------------------------------------------------


def sign_in_page() -> None:
    """What someone who has not signed in sees, at every address of the app."""
    session = current()
    st.title("Agent Arena")
    if session.problem is not None:
        st.error(f"Sign-in is configured but cannot work yet: {session.problem}", icon=":material/gpp_bad:")
        return
    st.markdown("Sign in to see the arenas.")
    for provider in session.providers:
        label = "Sign in" if provider == "default" else f"Sign in with {provider}"
        st.button(label, icon=":material/login:", on_click=st.login, args=(provider,), key=f"sign-in-{provider}")


def no_access_page() -> None:
    """What a signed-in user who may not even look sees."""
    session = current()
    st.title("Agent Arena")
    st.error(
        f"Signed in as {session.who}, who may not see this Agent Arena: ask {session.access.contact} to add "
        f"{session.email or 'your (verified) email'} to `viewers` (or `operators`) under `[arena.access]` in {SECRETS}"
        + (f", or to give you the `{session.access.viewer_role}` role" if session.access.viewer_role else "")
        + ".",
        icon=":material/lock:",
    )
    st.button("Sign out", icon=":material/logout:", on_click=st.logout)


def problem_page() -> None:
    """A configuration mistake, said plainly instead of a page that silently lets everyone act."""
    st.title("Agent Arena")
    st.error(current().problem, icon=":material/gpp_bad:")


def sidebar(session: Session) -> None:
    """Who is signed in and as what (with Sign out), and the exposure warning."""
    if session.login and session.signed_in:
        st.sidebar.caption(f"signed in as **{session.who}** ({session.role})")
        if session.role != OPERATOR:
            st.sidebar.caption(
                "You may look at everything; launching, cancelling, judging, applying and pull requests need the "
                f"`{OPERATOR}` role: {how_to_become(session.access, session.email)}."
            )
        st.sidebar.button("Sign out", icon=":material/logout:", on_click=st.logout)
    if warning := exposed(st.get_option("server.address"), session.login):
        st.sidebar.warning(warning, icon=":material/public:")


# -- reading the settings --------------------------------------------------------------------------------------------


def _secrets() -> tuple[Mapping[str, Any], str | None]:
    """secrets.toml's contents and, when one exists but cannot be read, why: that must not fall back to login-free."""
    try:
        return st.secrets.to_dict(), None
    except FileNotFoundError as e:  # StreamlitSecretNotFoundError: no file, or one that does not parse
        found = [path for path in st.get_option("secrets.files") if Path(path).exists()]
        if not found:
            return {}, None
        return {}, f"{', '.join(found)} cannot be read ({e}); fix it and restart the app"


def _providers(auth: Mapping[str, Any]) -> tuple[tuple[str, ...], str | None]:
    """The providers `st.login` can take (`default` for keys right under `[auth]`), or what `[auth]` lacks."""
    missing = [f"`{key}`" for key in AUTH_KEYS if not auth.get(key)]
    providers = {name: section for name, section in auth.items() if isinstance(section, Mapping)}
    if any(key in auth for key in PROVIDER_KEYS) or not providers:
        providers = {"default": auth, **providers}
    for name, section in providers.items():
        where = "[auth]" if name == "default" else f"[auth.{name}]"
        missing += [f"`{key}` in {where}" for key in PROVIDER_KEYS if not section.get(key)]
    if missing:
        return (), f"the `[auth]` section of {SECRETS} lacks {', '.join(missing)} (README: Sign-in)"
    return tuple(providers), None


def _authlib_missing() -> str | None:
    try:
        version = tuple(int(p) for p in re.findall(r"\d+", metadata.version("Authlib"))[:3])
    except metadata.PackageNotFoundError:
        version = ()
    if version >= (1, 3, 2):
        return None
    return f"sign-in needs {AUTHLIB}: run `pip install '{AUTHLIB}'` (or 'streamlit[auth]') and restart the app"


def _first_error(e: Exception) -> str:
    if isinstance(e, ValidationError):
        err = e.errors()[0]
        return f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
    return str(e)
