"""Sign-in (issue 12): who may act and who may only look, from the policy on plain claims up to Chromium signing in
through a real OIDC code flow (tests/fakes/oidc_server.py: discovery, authorize, token, JWKS, an RS256 id_token)
against a real `streamlit run` whose secrets.toml points at it."""

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest
import yaml
from streamlit import config
from streamlit.testing.v1 import AppTest

from app.auth import OPERATOR, VIEWER, Access, exposed, role
from arena.config import Settings
from arena.storage import Store
from tests.app.conftest import ARGS, ARTIFACTS, CHROMIUM, ROOT, SUBMIT
from tests.conftest import CALC_FILES, make_repo, write_steps
from tests.fakes.oidc_server import FakeOIDC

CLIENT_ID = "agent-arena"
ACCESS = {"operators": ["ada@example.org"], "operator_role": "arena-operator", "contact": "the arena admins"}
ADA = {"email": "ada@example.org", "name": "Ada", "sub": "ada"}
BOB = {"email": "bob@example.org", "name": "Bob", "sub": "bob", "roles": ["reader"]}
CAROL = {"email": "carol@elsewhere.org", "sub": "carol", "roles": ["arena-operator"]}


# -- the policy, on plain claims -------------------------------------------------------------------------------------


def test_operators_by_email_domain_or_role_and_everyone_else_views():
    access = Access(**ACCESS)
    assert role(ADA, access) == OPERATOR
    assert role({"email": "ADA@Example.org"}, access) == OPERATOR  # emails compare without case
    assert role(CAROL, access) == OPERATOR  # by the role claim
    assert role(BOB, access) == VIEWER
    assert role({"email": "x@ops.example.org"}, Access(operators=["@ops.example.org"])) == OPERATOR
    assert role({"email": "x@notops.example.org"}, Access(operators=["@ops.example.org"])) == VIEWER
    assert role({"roles": "arena-operator other"}, access) == OPERATOR  # a space-separated string claim
    assert role({"realm_access": {"roles": ["ops"]}}, Access(role_claim="realm_access.roles", operator_role="ops")) == (
        OPERATOR
    )
    assert role(ADA, Access()) == VIEWER  # no [arena.access]: signing in alone hands out no buttons


def test_an_unverified_email_counts_for_nothing():
    access = Access(operators=["ada@example.org"], viewers=["@example.org"])
    assert role(ADA | {"email_verified": False}, access) is None
    assert role(ADA | {"email_verified": True}, access) == OPERATOR


def test_viewers_when_listed_are_the_only_ones_who_may_look():
    access = Access(operators=["ada@example.org"], viewers=["@example.org"], viewer_role="arena-viewer")
    assert role(BOB, access) == VIEWER
    assert role({"email": "eve@elsewhere.org", "roles": ["arena-viewer"]}, access) == VIEWER
    assert role({"email": "eve@elsewhere.org"}, access) is None
    assert role({"email": "eve@elsewhere.org"}, Access(viewers=[])) is None


def test_a_mistyped_access_entry_is_refused_with_what_is_wrong():
    with pytest.raises(ValueError, match="'ada.example.org' is neither an email"):
        Access(operators=["ada.example.org"])
    with pytest.raises(ValueError, match="operater"):
        Access(operater=["ada@example.org"])


def test_listening_beyond_loopback_without_login_is_a_warning():
    for address in ("127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"):
        assert exposed(address, login=False) is None, address
    for address in ("0.0.0.0", "", None, "192.168.1.5", "arena.internal"):
        assert "nobody signs in" in exposed(address, login=False), address
        assert exposed(address, login=True) is None
    assert "every network interface" in exposed(None, login=False)


# -- the pages under AppTest (st.secrets and st.user as the test sets them) ------------------------------------------

AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-test-cookie-secret-long-enough",
    "client_id": CLIENT_ID,
    "client_secret": "not-used-here",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def run(page: str | None, secrets_toml: dict | None = None, user: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=60)
    at.secrets.update(secrets_toml or {})
    if user is not None:
        at.user = user
    at.run()
    if page:
        at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def buttons(at: AppTest) -> dict[str, bool]:
    """Each button's label and whether it is disabled."""
    return {b.label: b.disabled for b in at.button}


def test_without_auth_nobody_signs_in_and_everyone_may_launch(data):
    at = run("launch")
    assert buttons(at) == {"Launch": False}  # no Sign in, no Sign out; Launch as before


def test_with_auth_an_anonymous_visitor_sees_only_the_sign_in_screen(data):
    at = run(None, {"auth": AUTH, "arena": {"access": ACCESS}}, {"is_logged_in": False})
    assert buttons(at) == {"Sign in": False}
    assert [t.value for t in at.title] == ["Agent Arena"]


def test_a_viewer_sees_launch_disabled_with_what_it_needs(data):
    at = run("launch", {"auth": AUTH, "arena": {"access": ACCESS}}, {"is_logged_in": True, **BOB})
    launch = next(b for b in at.button if b.label == "Launch")
    assert launch.disabled
    assert "Signed in as bob@example.org (viewer): launching an arena needs the `operator` role" in launch.help
    assert "ask the arena admins to add bob@example.org to `operators`" in launch.help
    assert any("Signed in as bob@example.org (viewer)" in i.value for i in at.info)
    assert "signed in as **bob@example.org** (viewer)" in [c.value for c in at.sidebar.caption]


def test_an_operator_may_launch(data):
    at = run("launch", {"auth": AUTH, "arena": {"access": ACCESS}}, {"is_logged_in": True, **ADA})
    assert buttons(at) == {"Launch": False, "Sign out": False}
    assert not at.info


def test_a_press_the_browser_sends_for_a_disabled_button_does_nothing(data):
    """A disabled button stops a browser user, not a hand-made websocket message: `auth.button` itself refuses."""

    def script():
        import streamlit as st

        from app import auth

        class Forged:  # a client that reports a press of the button it was shown disabled
            def button(self, label, **kwargs):
                st.session_state["drawn disabled"] = kwargs["disabled"]
                return True

        st.session_state["pressed"] = auth.button("Launch", "launch", where=Forged())

    at = AppTest.from_function(script, default_timeout=30)
    at.secrets.update({"auth": AUTH, "arena": {"access": ACCESS}})
    at.user = {"is_logged_in": True, **BOB}
    at.run()
    assert at.session_state["drawn disabled"] is True and at.session_state["pressed"] is False
    at.user = {"is_logged_in": True, **ADA}
    at.run()
    assert at.session_state["drawn disabled"] is False and at.session_state["pressed"] is True


def test_an_unknown_action_name_is_a_programming_error_that_lists_the_names(data):
    from app.auth import refusal

    with pytest.raises(ValueError, match="unknown action 'lanch': one of launch, cancel, judge"):
        refusal("lanch")


def test_someone_outside_viewers_sees_no_page(data):
    access = ACCESS | {"viewers": ["@example.org"]}
    at = run(None, {"auth": AUTH, "arena": {"access": access}}, {"is_logged_in": True, **CAROL, "roles": []})
    assert buttons(at) == {"Sign out": False}
    assert "Signed in as carol@elsewhere.org, who may not see this Agent Arena" in at.error[0].value


def test_access_rules_without_auth_stop_the_app_instead_of_letting_everyone_act(data):
    at = run(None, {"arena": {"access": ACCESS}})
    assert "has `[arena.access]` but no `[auth]` section" in at.error[0].value
    assert buttons(at) == {}


def test_an_incomplete_auth_section_says_what_it_lacks(data):
    auth = {k: v for k, v in AUTH.items() if k not in ("cookie_secret", "client_secret")}
    at = run(None, {"auth": auth}, {"is_logged_in": False})
    assert "lacks `cookie_secret`, `client_secret` in [auth]" in at.error[0].value
    assert buttons(at) == {}


def test_a_secrets_file_that_does_not_parse_stops_the_app_instead_of_dropping_the_login(data, tmp_path):
    """Streamlit treats an unreadable secrets.toml like none at all; here that would mean no login and everyone an
    operator, so the app says what is wrong instead."""
    broken = tmp_path / "secrets.toml"
    broken.write_text('[auth]\nredirect_uri = "http://127.0.0.1:8501/oauth2callback\n')  # an unclosed string
    before = config.get_option("secrets.files")
    try:
        config.set_option("secrets.files", [str(broken)])
        at = run(None)
    finally:
        config.set_option("secrets.files", before)
    assert f"{broken} cannot be read (Error parsing secrets file" in at.error[0].value
    assert buttons(at) == {}


SIGNED_IN = {"auth": AUTH, "arena": {"access": ACCESS}}
HAND_ON = {"Apply": "applying a patch", "Abandon": "abandoning a result", "Judge again": "judging again"}


def test_apply_and_abandon_are_drawn_disabled_for_a_viewer_with_what_they_need(demo):
    """Their effects refuse a viewer too (app.results); the buttons say so before anyone presses them."""
    bob = run("results", SIGNED_IN, {"is_logged_in": True, **BOB})
    for label, what in HAND_ON.items():
        button = next(b for b in bob.button if b.label == label)
        assert button.disabled, label
        assert f"Signed in as bob@example.org (viewer): {what} needs the `operator` role" in button.help
        assert "ask the arena admins to add bob@example.org to `operators`" in button.help
    ada = run("results", SIGNED_IN, {"is_logged_in": True, **ADA})
    assert {label: buttons(ada)[label] for label in HAND_ON} == dict.fromkeys(HAND_ON, False)
    assert next(b for b in ada.button if b.label == "Apply").help.startswith("Commit the patch on a new branch")
    assert {label: buttons(run("results"))[label] for label in HAND_ON} == dict.fromkeys(HAND_ON, False)  # no [auth]


def test_open_pr_is_drawn_disabled_for_a_viewer_with_what_it_needs(data):
    def panel():
        from app.components import github_view

        github_view.pull_request({"arena_id": "a1", "repo": "https://github.com/acme/calc"}, ["fixer"])

    def as_user(user: dict) -> AppTest:
        at = AppTest.from_function(panel, default_timeout=30)
        at.secrets.update(SIGNED_IN)
        at.user = {"is_logged_in": True, **user}
        at.run()
        assert not at.exception, at.exception
        return at

    open_pr = as_user(BOB).button(key="pr-a1")
    assert open_pr.label == "Open PR" and open_pr.disabled
    assert "Signed in as bob@example.org (viewer): opening or updating a pull request needs the `operator`" in (
        open_pr.help
    )
    open_pr = as_user(ADA).button(key="pr-a1")
    assert not open_pr.disabled and open_pr.help.startswith("Push every candidate and open or update")


def test_health_warns_when_the_app_listens_beyond_loopback_without_login(data):
    before = config.get_option("server.address")
    try:
        config.set_option("server.address", "0.0.0.0")
        assert "listens on `0.0.0.0` and nobody signs in" in run("health").sidebar.warning[0].value
        config.set_option("server.address", "127.0.0.1")
        assert not run("health").sidebar.warning
    finally:
        config.set_option("server.address", before)


# -- the fake provider keeps a provider's promises -------------------------------------------------------------------


def test_the_fake_provider_refuses_what_a_provider_refuses():
    redirect = "http://127.0.0.1:1/oauth2callback"
    with FakeOIDC(CLIENT_ID, "s3cret", redirect) as idp:
        idp.next_user = BOB
        query = {"client_id": CLIENT_ID, "redirect_uri": redirect, "response_type": "code", "scope": "openid email"}
        with httpx.Client(base_url=idp.issuer) as http:
            assert http.get("/authorize", params=query | {"redirect_uri": "http://evil/cb"}).status_code == 400
            no_nonce = http.get("/authorize", params=query | {"state": "s"})
            assert "error=invalid_request" in no_nonce.headers["location"]
            back = http.get("/authorize", params=query | {"state": "s", "nonce": "n-1"}).headers["location"]
            code = httpx.URL(back).params["code"]
            form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect}
            assert http.post("/token", data=form, auth=(CLIENT_ID, "wrong")).status_code == 401
            token = http.post("/token", data=form, auth=(CLIENT_ID, "s3cret")).json()
            assert http.post("/token", data=form, auth=(CLIENT_ID, "s3cret")).json() == {"error": "invalid_grant"}
            key = jwt.PyJWKClient(f"{idp.issuer}/jwks").get_signing_key_from_jwt(token["id_token"])
        claims = jwt.decode(token["id_token"], key, algorithms=["RS256"], audience=CLIENT_ID, issuer=idp.issuer)
        assert claims["nonce"] == "n-1" and claims["email"] == BOB["email"] and claims["roles"] == ["reader"]
        assert idp.refused == [
            "/authorize: redirect_uri 'http://evil/cb' is not registered",
            "/authorize: state and nonce are required",
            "/token: client 'agent-arena' did not authenticate",
            "/token: the code is unknown, expired or already used",
        ]


# -- Chromium, a real `streamlit run`, the fake provider ----------------------------------------------------------


@pytest.fixture
def idp():
    # The app's port is known only once `server` starts it: the test registers the redirect_uri then.
    with FakeOIDC(CLIENT_ID, secrets.token_urlsafe(16), redirect_uri="unset") as provider:
        yield provider


@pytest.fixture
def server_env(idp, tmp_path) -> dict[str, str]:
    """The app reads only this secrets.toml: `[auth]` on the fake provider, Ada an operator, anyone else a viewer."""
    path = tmp_path / "secrets" / "secrets.toml"
    path.parent.mkdir()
    lines = [
        "[auth]",
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"',
        f'cookie_secret = "{secrets.token_urlsafe(32)}"',
        f'client_id = "{CLIENT_ID}"',
        f'client_secret = "{idp.client_secret}"',
        f'server_metadata_url = "{idp.metadata_url}"',
        "[arena.access]",
        'operators = ["ada@example.org"]',
        'operator_role = "arena-operator"',
        'contact = "the arena admins"',
    ]
    path.write_text("\n".join(lines) + "\n")
    return {"STREAMLIT_SECRETS_FILES": str(path)}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def slow_spec(tmp_path: Path) -> Path:
    """A scripted arena that runs for ~30 s (absolute paths: nothing for the form's folder to resolve)."""
    repo, steps = tmp_path / "calc", tmp_path / "steps"
    make_repo(repo, CALC_FILES)
    slow = [{"thought": f"step {i}", "commands": [f"echo slow-{i} && sleep 1"]} for i in range(30)]
    write_steps(steps / "slow.yaml", [*slow, {"thought": "done", "commands": [SUBMIT]}])
    spec = {
        "task": {"repo": str(repo), "title": "an arena to cancel", "problem_statement": "add() subtracts"},
        "contestants": [{"name": n, "model": f"scripted:{steps / 'slow.yaml'}"} for n in ("first", "second")],
    }
    (tmp_path / "slow.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path / "slow.yaml"


def test_sign_in_as_a_viewer_and_as_an_operator_in_chromium(server, idp, tmp_path, request):
    from playwright.sync_api import expect, sync_playwright

    url, data = server
    idp.redirect_uri = f"{url}/oauth2callback"
    subprocess.run(
        [sys.executable, "-m", "arena.cli", "demo", "--json"],
        env={**os.environ, "ARENA_DATA_DIR": str(data)},
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=120,
    )
    demo_repo = data / "sample" / "demo-repo"
    spec = slow_spec(tmp_path)
    store = Store(Settings.from_env(data).database_url)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pages = []

        def visitor():
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()  # its own cookies
            pages.append(page)
            return page

        def sign_in(user: dict):
            idp.next_user = user
            page = visitor()
            page.goto(url)
            page.get_by_role("button", name="Sign in").click()  # -> /authorize -> /oauth2callback -> / -> /arenas
            page.wait_for_selector("h1:has-text('Arenas')", timeout=30_000)
            return page

        def settled(page) -> None:
            page.wait_for_timeout(300)
            page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=30_000)
            assert page.locator("[data-testid='stException']").count() == 0

        try:
            # Nobody signed in: every address shows the sign-in screen, and nothing else.
            anonymous = visitor()
            anonymous.goto(f"{url}/launch")
            anonymous.wait_for_selector("text=Sign in to see the arenas", timeout=30_000)
            settled(anonymous)
            assert anonymous.locator("h1:has-text('Launch an arena')").count() == 0

            # Bob, a viewer: every page, but Launch, Judge again and Apply say what they need.
            bob = sign_in(BOB)
            expect(bob.get_by_text("signed in as bob@example.org (viewer)")).to_be_visible()
            bob.goto(f"{url}/launch")
            bob.wait_for_selector("h1:has-text('Launch an arena')", timeout=30_000)
            settled(bob)
            expect(bob.get_by_role("button", name="Launch", exact=True)).to_be_disabled()
            expect(bob.get_by_text("launching an arena needs the operator role").first).to_be_visible()
            launch = bob.get_by_role("button", name="Launch", exact=True)
            launch.scroll_into_view_if_needed()
            bob.wait_for_timeout(500)
            launch.hover()  # the disabled button says why, too
            expect(bob.get_by_test_id("stTooltipContent")).to_contain_text("ask the arena admins to add bob@")
            ARTIFACTS.mkdir(exist_ok=True)
            bob.screenshot(path=str(ARTIFACTS / "login-viewer-launch.png"))
            bob.goto(f"{url}/results")
            bob.wait_for_selector("text=Hand it on", timeout=30_000)
            settled(bob)
            expect(bob.get_by_role("button", name="Judge again")).to_be_disabled()
            for label in ("Apply", "Abandon"):  # drawn disabled (their effects, app.results, refuse a viewer too)
                expect(bob.get_by_role("button", name=label, exact=True)).to_be_disabled()
            ARTIFACTS.mkdir(exist_ok=True)
            bob.screenshot(path=str(ARTIFACTS / "login-viewer.png"), full_page=True)
            assert git(demo_repo, "branch", "--list", "arena/*") == ""  # nothing was applied

            # Ada, an operator: launches an arena from the form and cancels it on Live.
            ada = sign_in(ADA)
            expect(ada.get_by_text("signed in as ada@example.org (operator)")).to_be_visible()
            ada.goto(f"{url}/launch")
            ada.wait_for_selector("h1:has-text('Launch an arena')", timeout=30_000)
            ada.locator("input[type=file]").first.set_input_files(str(spec))
            ada.wait_for_function(
                "[...document.querySelectorAll('input')].some(i => i.value === 'an arena to cancel')", timeout=30_000
            )
            settled(ada)
            ada.get_by_role("button", name="Launch", exact=True).click()
            ada.wait_for_selector("h1:has-text('Live')", timeout=30_000)
            ada.wait_for_selector("text=slow-1", timeout=60_000)
            arena = next(a for a in store.arenas() if a.title == "an arena to cancel")
            assert arena.status in ("queued", "running")

            # Bob watches it run and may not cancel it; Ada may.
            bob.goto(f"{url}/live")
            bob.wait_for_selector("text=an arena to cancel", timeout=30_000)
            expect(bob.get_by_role("button", name="Cancel arena")).to_be_disabled()
            ada.get_by_role("button", name="Cancel arena").click()
            deadline = time.monotonic() + 60
            while store.arena(arena.id).status in ("queued", "running"):
                assert time.monotonic() < deadline, "the arena did not stop after Cancel arena"
                time.sleep(0.5)
            assert store.arena(arena.id).status == "cancelled"

            # Signing out leaves Bob at the sign-in screen again.
            bob.get_by_role("button", name="Sign out").click()
            bob.wait_for_selector("text=Sign in to see the arenas", timeout=30_000)
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            for i, page in enumerate(pages):
                page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{i}.png"), full_page=True)
            raise
        finally:
            browser.close()

    assert idp.refused == []
    assert [(c["email"], c["aud"], bool(c["nonce"])) for c in idp.issued] == [
        ("bob@example.org", CLIENT_ID, True),
        ("ada@example.org", CLIENT_ID, True),
    ]
