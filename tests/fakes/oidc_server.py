"""A fake OpenID Connect provider for the sign-in tests: discovery, /authorize, /token and /jwks on 127.0.0.1.

Why a real server: `st.login` is Authlib talking HTTP to a provider (it reads the discovery document, redirects the
browser to /authorize, trades the code at /token, fetches the keys and checks the id_token's signature, issuer,
audience, expiry and nonce), so the tests run that client, unchanged, against this server.

What it checks, as a provider does (a refused request is recorded in `refused` with why, so a test can show it):
  * /authorize: a known client_id, the registered redirect_uri exactly, response_type=code, the openid scope, a state
    and a nonce; a PKCE challenge, when sent, must be S256. There is no login form: the browser is signed in as
    `next_user` (set it before each sign-in) and sent straight back with a code.
  * /token: the client authenticates (HTTP Basic or client_secret_post) with the right secret; the code is known,
    not expired and used once only; redirect_uri is the one the code was issued for; the PKCE verifier matches.
  * the id_token is RS256, signed with a key generated when the server starts and published at /jwks under its kid;
    it carries iss, sub, aud, iat, exp, the nonce from /authorize, at_hash, and the scripted user's claims.
Standard library, plus PyJWT and cryptography (already the GitHub fake's) for the key and the signature.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CODE_TTL_S = 60.0


@dataclass
class Grant:
    """What /authorize promised for one code; /token keeps its word once."""

    client_id: str
    redirect_uri: str
    nonce: str
    claims: dict[str, Any]
    code_challenge: str | None
    issued_at: float
    used: bool = False


class FakeOIDC:
    """Start with `with FakeOIDC(client_id, client_secret, redirect_uri) as idp:`; `idp.metadata_url` is what
    secrets.toml's server_metadata_url takes. `idp.next_user = {"email": ..., "roles": [...]}` signs in the next
    browser that comes to /authorize as that user (its claims go into the id_token as they are)."""

    def __init__(self, client_id: str, client_secret: str, redirect_uri: str):
        self.client_id, self.client_secret, self.redirect_uri = client_id, client_secret, redirect_uri
        self.next_user: dict[str, Any] | None = None
        self.kid = secrets.token_hex(8)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._grants: dict[str, Grant] = {}
        self.issued: list[dict[str, Any]] = []
        """the claims of every id_token issued, in order"""
        self.refused: list[str] = []
        """why each refused request was refused (path: reason)"""
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeOIDC":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "email", "email_verified", "name", "roles"],
        }

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [public | {"kid": self.kid, "use": "sig", "alg": "RS256"}]}

    # --- the two steps of the code flow ----------------------------------------------------------------------------
    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        """(status, headers, body): a redirect back with a code (or with an error), or 400 when the redirect itself
        cannot be trusted (an unknown client or an unregistered redirect_uri: a provider never redirects there)."""
        if query.get("client_id") != self.client_id:
            return self._refuse("/authorize", f"unknown client_id {query.get('client_id')!r}")
        if query.get("redirect_uri") != self.redirect_uri:
            return self._refuse("/authorize", f"redirect_uri {query.get('redirect_uri')!r} is not registered")
        problem = None
        if query.get("response_type") != "code":
            problem = ("unsupported_response_type", f"response_type {query.get('response_type')!r}")
        elif "openid" not in query.get("scope", "").split():
            problem = ("invalid_scope", "the openid scope is missing")
        elif not query.get("state") or not query.get("nonce"):
            problem = ("invalid_request", "state and nonce are required")
        elif query.get("code_challenge") and query.get("code_challenge_method") != "S256":
            problem = ("invalid_request", "only S256 code challenges are accepted")
        elif self.next_user is None:
            problem = ("access_denied", "no user is scripted to sign in (set next_user)")
        if problem:
            self._note("/authorize", problem[1])
            back = {"error": problem[0], "error_description": problem[1], "state": query.get("state", "")}
            return 302, {"Location": f"{self.redirect_uri}?{urlencode(back)}"}, ""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = Grant(
                self.client_id,
                self.redirect_uri,
                query["nonce"],
                dict(self.next_user),
                query.get("code_challenge"),
                time.time(),
            )
        back = {"code": code, "state": query["state"]}
        return 302, {"Location": f"{self.redirect_uri}?{urlencode(back)}"}, ""

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if client_id != self.client_id or not secrets.compare_digest(secret or "", self.client_secret):
            self._note("/token", f"client {client_id!r} did not authenticate")
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            self._note("/token", f"grant_type {form.get('grant_type')!r}")
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            grant = self._grants.get(form.get("code", ""))
            fresh = grant is not None and not grant.used and time.time() - grant.issued_at < CODE_TTL_S
            if grant is not None:
                grant.used = True  # even a refused attempt spends the code
        if not fresh:
            self._note("/token", "the code is unknown, expired or already used")
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant.redirect_uri:
            self._note("/token", f"redirect_uri {form.get('redirect_uri')!r} differs from the authorize request's")
            return 400, {"error": "invalid_grant"}
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != grant.code_challenge:
                self._note("/token", "the PKCE code_verifier does not match the challenge")
                return 400, {"error": "invalid_grant"}
        access_token = secrets.token_urlsafe(32)
        now = int(time.time())
        half = hashlib.sha256(access_token.encode()).digest()[:16]
        claims = {
            "email_verified": True,
            **grant.claims,
            "iss": self.issuer,
            "sub": grant.claims.get("sub") or grant.claims.get("email", "user"),
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 600,
            "nonce": grant.nonce,
            "at_hash": base64.urlsafe_b64encode(half).rstrip(b"=").decode(),
        }
        id_token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})
        with self._lock:
            self.issued.append(claims)
        body = {"access_token": access_token, "token_type": "Bearer", "expires_in": 600, "id_token": id_token}
        return 200, body | {"scope": "openid email profile"}

    def _note(self, path: str, why: str) -> None:
        with self._lock:
            self.refused.append(f"{path}: {why}")

    def _refuse(self, path: str, why: str) -> tuple[int, dict[str, str], str]:
        self._note(path, why)
        return 400, {"Content-Type": "text/plain"}, f"refused: {why}"


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    @property
    def fake(self) -> FakeOIDC:
        return self.server.fake  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/.well-known/openid-configuration":
            self._json(200, self.fake.discovery())
        elif url.path == "/jwks":
            self._json(200, self.fake.jwks())
        elif url.path == "/authorize":
            status, headers, body = self.fake.authorize({k: v[-1] for k, v in parse_qs(url.query).items()})
            self._send(status, body.encode(), headers)
        else:
            self._json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/token":
            self._json(404, {"error": "not_found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        status, body = self.fake.token(form, self.headers.get("Authorization"))
        self._json(status, body)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(
            status, json.dumps(payload).encode(), {"Content-Type": "application/json", "Cache-Control": "no-store"}
        )

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass
