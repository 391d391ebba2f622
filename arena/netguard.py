"""Which remote git URLs the arena may connect to on a spec's behalf, decided before any connection.

A spec may be uploaded by anyone, and the host fetches its `task.repo`: without this guard a spec
could make the host talk to its cloud metadata service (169.254.169.254), a database on localhost or
a service on the private network. So by default only https:// to public addresses is accepted,
checked on every address the host name resolves to; ARENA_ALLOW_PRIVATE_NETWORK=1 allows http://
and private addresses (a git server on the LAN), ARENA_ALLOW_SSH_GIT=1 allows ssh:// and git@host:.
"""

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from arena.config import setting
from arena.errors import SpecError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Listed although `is_global` covers most of them: the list is the documented promise.
BLOCKED = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
]
# IPv6 forms that carry an IPv4 address the packets really go to (IPv4-compatible, NAT64).
_V4_CARRIERS = [ipaddress.ip_network("::/96"), ipaddress.ip_network("64:ff9b::/96")]
# Neither part may start with '-': git would read the address as an option (`--upload-pack=...`).
SCP_LIKE = re.compile(r"^(?P<user>[^@/:\s-][^@/:\s]*)@(?P<host>[^/:\s-][^/:\s]*):(?P<path>.*)$")


@dataclass(frozen=True)
class GitRemote:
    """A checked remote: the URL to give git and the addresses its host resolved to (to pin them)."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def redact(url: str) -> str:
    """`url` without a password or token, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None and not (parts.username and parts.scheme.startswith("http")):
        return url
    return parts._replace(netloc=f"***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")).geturl()


def check_git_url(url: str) -> GitRemote:
    """The remote `url` names, if the host may connect to it; SpecError saying why not and what to do."""
    allow_private, allow_ssh = setting("ARENA_ALLOW_PRIVATE_NETWORK"), setting("ARENA_ALLOW_SSH_GIT")
    shown = redact(url)
    if m := SCP_LIKE.match(url):
        scheme, host, port = "ssh", m["host"], 22
    else:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as e:
            raise SpecError(f"git URL {shown!r} is malformed ({e}); write https://host/owner/repo.git") from None
        scheme, host = parts.scheme.lower(), parts.hostname or ""
        if scheme.startswith("http") and (parts.username or parts.password):
            raise SpecError(
                f"git URL {shown!r} carries credentials; specs are stored and shown, so remove them from the URL "
                "(a private repository needs a token in git's own credential helper on this host)"
            )
        port = port or {"https": 443, "http": 80, "ssh": 22}.get(scheme, 0)
    allowed = {"https"} | ({"http"} if allow_private else set()) | ({"ssh"} if allow_ssh else set())
    if scheme not in allowed:
        hint = {
            "http": "use https://, or set ARENA_ALLOW_PRIVATE_NETWORK=1 to allow plain http:// (and private addresses)",
            "ssh": "use https://, or set ARENA_ALLOW_SSH_GIT=1 to allow ssh:// and git@host: URLs",
        }.get(scheme, "use an https:// URL or a local git repository")
        raise SpecError(f"git URL {shown!r}: {scheme or 'this'}:// URLs are refused; {hint}")
    if not host or host.startswith("-"):
        raise SpecError(f"git URL {shown!r} has no valid host; write https://host/owner/repo.git")
    addresses = resolve(host, port)
    if not allow_private:
        for address in addresses:
            if why := private_reason(ipaddress.ip_address(address)):
                raise SpecError(
                    f"git URL {shown!r}: {host} resolves to {address}, {why}; the arena fetches only from public "
                    "addresses (set ARENA_ALLOW_PRIVATE_NETWORK=1 to allow private networks)"
                )
    return GitRemote(url, scheme, host, port, addresses)


def resolve(host: str, port: int) -> tuple[str, ...]:
    """Every address `host` resolves to; SpecError if it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise SpecError(
            f"git URL host {host!r} does not resolve ({e}); check the spelling and this host's DNS"
        ) from None
    return tuple(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


def private_reason(ip: IPAddress) -> str | None:
    """Why `ip` is not a public address (loopback, private, link-local/metadata, ...), or None if it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is None and any(ip in net for net in _V4_CARRIERS) and ip != ipaddress.ip_address("::"):
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None and (why := private_reason(inner)):
            return f"{why} (inside the IPv6 address {ip})"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services live)"
    if ip.is_unspecified or ip in ipaddress.ip_network("0.0.0.0/8"):
        return "an unspecified address (it reaches this host)"
    if any(ip in net for net in BLOCKED) or ip.is_private or not ip.is_global:
        return "a private or reserved address"
    if ip.is_multicast:
        return "a multicast address"
    return None
