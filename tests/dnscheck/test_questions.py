"""What a check asks, against the real server: questions whose answer is already known are
not asked, and what the hints rely on still is."""

import asyncio

from tests.dnscheck.conftest import SpyResolver

# --- the zone ------------------------------------------------------------------------------


def test_names_of_one_zone_walked_at_once_ask_for_its_servers_once(
    spy: SpyResolver, label: str
) -> None:
    async def walk() -> list:
        names = (f"d{i}.{label}.example.test" for i in range(20))
        return await asyncio.gather(*(spy.zone_for(name) for name in names))

    zones = asyncio.run(walk())

    assert {zone.name for zone in zones} == {"example.test"}
    assert spy.asked.count(("example.test", "NS")) == 1
    assert spy.asked.count(("ns1.example.test", "A")) == 1
