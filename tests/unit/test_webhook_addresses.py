"""Where webhooks may go, address by address, and which events they may carry."""

from __future__ import annotations

import ipaddress
import typing

import pytest

from reservas import events
from reservas.webhooks import addresses, delivery, schemas
from tests.unit.test_template import yaml_template


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "non-public"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (an address refused, not bound)
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "private"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "link-local"),
        ("::127.0.0.1", "loopback"),  # IPv4-compatible
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
    ],
)
def test_addresses_that_are_not_public_are_refused(address, reason):
    assert reason in addresses.refusal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert addresses.refusal(ipaddress.ip_address(address)) is None


def test_an_operator_may_allow_internal_networks_but_never_link_local():
    allowed = addresses.allowed_networks("10.0.0.0/8, 169.254.0.0/16,fe80::/10,not-a-network")
    assert addresses.refusal(ipaddress.ip_address("10.20.30.40"), allowed) is None
    assert addresses.refusal(ipaddress.ip_address("::ffff:10.20.30.40"), allowed) is None
    assert addresses.refusal(ipaddress.ip_address("127.0.0.1"), allowed) == "a loopback"
    assert addresses.refusal(ipaddress.ip_address("169.254.169.254"), allowed) == "a link-local"
    assert addresses.refusal(ipaddress.ip_address("fe80::1"), allowed) == "a link-local"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/", "https"),
        ("https://user:pass@example.org/", "user name or password"),
        ("https://@example.org/", "user name or password"),
        ("https:///path", "host"),
        ("https://example.org:0x50/", "not a valid URL"),
        ("https://example.org/a b", "spaces"),
        ("https://example.org/\r\nX-Injected: 1", "spaces"),
        ("https://example.org/#fragment", "fragment"),
        ("https://[fe80::1%25eth0]/", "zone"),
        ("https://example.org/" + "a" * 3000, "at most"),
    ],
)
def test_urls_webhooks_cannot_use(url, message):
    with pytest.raises(addresses.Refused, match=message):
        addresses.parse(url)


def test_a_url_keeps_its_path_and_query_and_its_host_in_idna():
    parsed = addresses.parse("https://Bücher.Example:8443/hooks/in?x=1")
    assert parsed == addresses.Parsed("https", "xn--bcher-kva.example", 8443, "/hooks/in?x=1")


def test_a_host_is_refused_when_any_of_its_addresses_is_not_public(monkeypatch):
    monkeypatch.setattr(
        addresses,
        "resolve",
        lambda host, port: [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.1")],
    )
    with pytest.raises(addresses.Refused, match=r"private address;"):
        addresses.check("https://hooks.example.org/")


def test_webhooks_carry_the_booking_events_and_never_the_account_mail():
    assert set(typing.get_args(schemas.EventType)) == set(delivery.EVENT_TYPES)
    mail = {events.VERIFICATION_REQUESTED, events.ADDRESS_ALREADY_REGISTERED, events.PASSWORD_RESET_REQUESTED}
    assert not mail & set(delivery.EVENT_TYPES)
    known = {value for name, value in vars(events).items() if name.isupper() and isinstance(value, str)}
    assert set(delivery.EVENT_TYPES) <= known
    rule = yaml_template()["Resources"]["WebhooksFunction"]["Properties"]["Events"]["BookingEvents"]
    # and the test sends and replays admins ask for
    assert set(rule["Properties"]["Pattern"]["detail-type"]) == {
        *delivery.EVENT_TYPES,
        events.WEBHOOK_DELIVERY_DUE,
    }
