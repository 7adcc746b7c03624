"""Where a webhook may be delivered (SSRF): an https URL whose host resolves to public addresses only.

The check runs when an endpoint is registered and again at every attempt, on the addresses the name
resolves to then (a name may point elsewhere by the time of a delivery: DNS rebinding); the attempt
connects to an address checked here, never resolving the name a second time.

Loopback, private, link-local, shared (100.64.0.0/10), unspecified, multicast and reserved addresses are
refused, in IPv6 too (IPv4 embedded in IPv6: mapped, compatible, NAT64, 6to4, Teredo, is checked as
IPv4). An operator may allow internal networks (RESERVAS_WEBHOOK_PRIVATE_NETWORKS, comma-separated
CIDRs), where http is allowed too; link-local (the cloud's metadata service, 169.254.169.254) never."""

from __future__ import annotations

import functools
import ipaddress
import socket
import threading
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from reservas.settings import get_settings
from reservas.webhooks.schemas import MAX_URL_LENGTH

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_LINK_LOCAL = (ipaddress.IPv4Network("169.254.0.0/16"), ipaddress.IPv6Network("fe80::/10"))


class Refused(ValueError):
    """A URL webhooks may not be delivered to; the message says why, for the admin."""


@dataclass(frozen=True)
class Target:
    """A URL as checked: where to connect (one of its addresses) and what to ask for there."""

    scheme: str
    host: str  # the name (IDNA, lower case) or the address literal, as the URL gives it
    port: int
    path: str  # with its query
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Parsed:
    scheme: str
    host: str
    port: int
    path: str


def parse(url: str) -> Parsed:
    """The parts of a URL webhooks could use, before any name is resolved; Refused if it cannot be."""
    if len(url) > MAX_URL_LENGTH:
        raise Refused(f"must be at most {MAX_URL_LENGTH} characters")
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in url):
        raise Refused("must not contain spaces, control or invisible characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("is not a valid URL") from None
    if port == 0:
        raise Refused("must not name port 0")
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise Refused("must be an https:// URL")
    if "@" in parts.netloc:
        raise Refused("must not carry a user name or password")
    if parts.fragment:
        raise Refused("must not have a fragment (#...)")
    host = parts.hostname  # lower case, without the brackets of an IPv6 literal
    if not host:
        raise Refused("must name a host")
    if "%" in host:
        raise Refused("must not name an IPv6 zone")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise Refused("names a host that is not a valid domain name") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Parsed(scheme, host.rstrip(".") or host, port or (443 if scheme == "https" else 80), path)


def resolve_within(host: str, port: int, seconds: float) -> list[IPAddress]:
    """`resolve`, given up after `seconds` (the system's resolver may wait far longer for a name server
    that never answers): TimeoutError then. The lookup runs in a thread of its own, left to finish."""
    found: list[list[IPAddress] | BaseException] = []

    def look_up() -> None:
        try:
            found.append(resolve(host, port))
        except BaseException as error:  # handed to the caller
            found.append(error)

    worker = threading.Thread(target=look_up, daemon=True, name="webhook-dns")
    worker.start()
    worker.join(seconds)
    if not found:
        raise TimeoutError(f"no answer for {host} within {seconds:g} s")
    if isinstance(found[0], BaseException):
        raise found[0]
    return found[0]


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the name resolves to (an address literal: itself). Tests replace this."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


RESOLVE_SECONDS = 3.0


def check(url: str, within: float = RESOLVE_SECONDS) -> Target:
    """The URL's target if webhooks may reach it now, resolved within `within` seconds; Refused
    (saying why) if not."""
    parsed = parse(url)
    try:
        addresses = resolve_within(parsed.host, parsed.port, within)
    except TimeoutError:
        raise Refused(f"names a host that does not resolve in time ({parsed.host})") from None
    except (OSError, UnicodeError, ValueError):
        raise Refused(f"names a host that does not resolve ({parsed.host})") from None
    if not addresses:
        raise Refused(f"names a host that does not resolve ({parsed.host})")
    allowed = allowed_networks(get_settings().webhook_private_networks)
    for address in addresses:
        reason = refusal(address, allowed)
        if reason is not None:
            # The kind of address, not the address: registering is no way to look up internal names.
            raise Refused(f"resolves to {reason} address; webhooks reach public addresses only")
    if parsed.scheme == "http" and not all(_inside(address, allowed) for address in addresses):
        raise Refused("must be an https:// URL (http only to an allowed internal network)")
    return Target(parsed.scheme, parsed.host, parsed.port, parsed.path, tuple(addresses))


@functools.cache
def allowed_networks(setting: str) -> tuple[Network, ...]:
    """The networks RESERVAS_WEBHOOK_PRIVATE_NETWORKS allows; entries that are not CIDRs are ignored."""
    networks: list[Network] = []
    for item in setting.split(","):
        try:
            if item.strip():
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            continue
    return tuple(networks)


def refusal(address: IPAddress, allowed: tuple[Network, ...] = ()) -> str | None:
    """Why webhooks may not reach this address (a word: "a loopback"), or None when they may."""
    for each in _forms(address):
        if each.is_link_local or any(each in network for network in _LINK_LOCAL):
            return "a link-local"  # the cloud's metadata service lives here: never, allowed or not
    if _inside(address, allowed):
        return None
    for each in _forms(address):
        for reason, matched in (
            ("an unspecified", each.is_unspecified),
            ("a loopback", each.is_loopback),
            ("a multicast", each.is_multicast),
            ("a private", each.is_private),
            ("a reserved", each.is_reserved),
            ("a site-local", isinstance(each, ipaddress.IPv6Address) and each.is_site_local),
            ("a non-public", not each.is_global),
        ):
            if matched:
                return reason
    return None


def _inside(address: IPAddress, allowed: tuple[Network, ...]) -> bool:
    return any(
        each in network for each in _forms(address) for network in allowed if each.version == network.version
    )


def _forms(address: IPAddress) -> list[IPAddress]:
    """The IPv4 addresses an IPv6 one carries (mapped, compatible, NAT64, 6to4, Teredo), then itself."""
    forms: list[IPAddress] = []
    if isinstance(address, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address | None] = [address.ipv4_mapped, address.sixtofour]
        if address.teredo:
            embedded.extend(address.teredo)
        if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        forms.extend(each for each in embedded if each is not None)
    return [*forms, address]
