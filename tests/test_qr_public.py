"""QR codes, the printable badge sheet and the public phone pages, against the real stack."""

from __future__ import annotations

import io
import re
import struct
import zlib
from html import unescape
from typing import Any
from xml.etree import ElementTree

import aiohttp
import asyncpg
import pytest
import segno
from redis.asyncio import Redis
from support import Gateway, WorkerTask, eventually, fair_entries, totals

from fairhub.gateway.qr import QUIET_ZONE

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and one grey byte per pixel (0 dark, 255 light) of a PNG, in pure Python."""
    assert data.startswith(PNG_MAGIC)
    pos, chunks, palette = 8, b"", b""
    width = height = depth = color = 0
    while pos < len(data):
        (size,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + size]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert color in (0, 3) and depth <= 8 and not interlace, "segno writes grey/palette"
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            chunks += body
        pos += 12 + size
    raw, stride = zlib.decompress(chunks), (width * depth + 7) // 8
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        method, row = line[0], bytearray(line[1:])
        for i in range(stride):
            a = row[i - 1] if i else 0
            b, c = previous[i], previous[i - 1] if i else 0
            if method == 1:
                row[i] = (row[i] + a) & 0xFF
            elif method == 2:
                row[i] = (row[i] + b) & 0xFF
            elif method == 3:
                row[i] = (row[i] + (a + b) // 2) & 0xFF
            elif method == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(row)
        previous = row
    grey = bytearray()
    per_byte, mask = 8 // depth, (1 << depth) - 1
    for row in rows:
        for x in range(width):
            value = (row[x // per_byte] >> (8 - depth * (x % per_byte + 1))) & mask
            if color == 3:
                value = palette[value * 3]  # red channel of a black/white palette
            else:
                value = value * 255 // mask
            grey.append(value)
    return width, height, bytes(grey)


def png_modules(data: bytes, scale: int) -> list[list[int]]:
    """The QR matrix drawn in a PNG (1 dark), read at the centre of each module."""
    width, height, grey = png_pixels(data)
    assert width == height and width % scale == 0
    size = width // scale - 2 * QUIET_ZONE
    centre = scale // 2 + QUIET_ZONE * scale
    return [
        [
            1 if grey[(centre + y * scale) * width + centre + x * scale] < 128 else 0
            for x in range(size)
        ]
        for y in range(size)
    ]


def expected_modules(text: str) -> list[list[int]]:
    code = segno.make_qr(text, error="m")
    return [[1 if v else 0 for v in row] for row in code.matrix]


async def get_bytes(
    gateway: Gateway, path: str, token: str | None = None
) -> tuple[int, bytes, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with gateway.session.get(gateway.base + path, headers=headers) as r:
        return r.status, await r.read(), r.headers


async def test_seeker_qr_holds_the_badge(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    seeker = await gateway.create(fair, token, "seekers", name="张三", school="复旦大学")
    status, png, headers = await get_bytes(
        gateway, f"/v1/fairs/{fair}/qr/seeker/{seeker['id']}.png?scale=5", token
    )
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert "private" in headers["Cache-Control"]
    assert png.startswith(PNG_MAGIC)
    assert png_modules(png, 5) == expected_modules(seeker["badge"])

    status, svg, headers = await get_bytes(
        gateway, f"/v1/fairs/{fair}/qr/seeker/{seeker['id']}.svg", token
    )
    assert status == 200 and headers["Content-Type"] == "image/svg+xml"
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg")
    same = io.BytesIO()
    segno.make_qr(seeker["badge"], error="m").save(same, kind="svg", scale=8, border=QUIET_ZONE)
    assert svg == same.getvalue()

    for bad in ("0", "41", "big"):
        status, body = await gateway.request(
            "GET", f"/v1/fairs/{fair}/qr/seeker/{seeker['id']}.png?scale={bad}", token
        )
        assert status == 422 and body["fields"] == ["scale"], body


async def test_seeker_qr_decodes_for_real(gateway: Gateway) -> None:
    zxingcpp = pytest.importorskip("zxingcpp", exc_type=ImportError)
    fair, token = await gateway.create_fair()
    seeker = await gateway.create(fair, token, "seekers", name="李四")
    status, png, _ = await get_bytes(
        gateway, f"/v1/fairs/{fair}/qr/seeker/{seeker['id']}.png?scale=4", token
    )
    assert status == 200
    width, height, grey = png_pixels(png)
    found = zxingcpp.read_barcodes(memoryview(grey).cast("B", (height, width)))
    assert [b.text for b in found] == [seeker["badge"]]
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode  # never Micro QR: phones skip it


async def test_employer_and_position_codes_open_their_pages(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    employer = await gateway.create(fair, token, "employers", name="星辰科技", booth="A12")
    position = await gateway.create(
        fair,
        token,
        "positions",
        employer_id=employer["id"],
        title="会计",
        job_type="财务",
        headcount=2,
    )
    for kind, item, plural in (
        ("employer", employer, "employers"),
        ("position", position, "positions"),
    ):
        status, png, _ = await get_bytes(
            gateway, f"/v1/fairs/{fair}/qr/{kind}/{item['id']}.png?scale=3", token
        )
        assert status == 200
        url = f"{gateway.base}/p/{fair}/{plural}/{item['id']}"
        assert png_modules(png, 3) == expected_modules(url)
        async with aiohttp.ClientSession() as phone, phone.get(url) as page:
            assert page.status == 200 and "星辰科技" in await page.text()

    # The fair's own code opens the fair's page, where seekers sign up.
    status, png, _ = await get_bytes(gateway, f"/v1/fairs/{fair}/qr/fair.png?scale=3", token)
    assert status == 200
    assert png_modules(png, 3) == expected_modules(f"{gateway.base}/p/{fair}")
    async with aiohttp.ClientSession() as phone, phone.get(f"{gateway.base}/p/{fair}") as page:
        assert page.status == 200 and 'id="signup-form"' in await page.text()
    status, _ = await gateway.request("GET", f"/v1/fairs/{fair}/qr/fair.svg", None)
    assert status == 401

    for kind, item_id in (("employer", "nope"), ("position", "nope"), ("seeker", "nope")):
        status, body = await gateway.request(
            "GET", f"/v1/fairs/{fair}/qr/{kind}/{item_id}.svg", token
        )
        assert status == 404, body
    seeker = await gateway.create(fair, token, "seekers", name="王五")
    for kind, plural, item_id in (
        ("employer", "employers", employer["id"]),
        ("seeker", "seekers", seeker["id"]),
    ):
        status, _ = await gateway.request("DELETE", f"/v1/fairs/{fair}/{plural}/{item_id}", token)
        assert status == 200
        status, body = await gateway.request(
            "GET", f"/v1/fairs/{fair}/qr/{kind}/{item_id}.png", token
        )
        assert status == 404, body
    # A revoked employer's positions have no page either.
    status, _ = await gateway.request("GET", f"/p/{fair}/positions/{position['id']}", None)
    assert status == 404


async def test_qr_codes_are_for_organizers(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    other_fair, other_token = await gateway.create_fair("秋季招聘会")
    employer = await gateway.create(fair, token, "employers", name="星辰科技")
    device = await gateway.create(fair, token, "devices", label="Gate 1")
    seeker = await gateway.create(fair, token, "seekers", name="赵六")
    path = f"/v1/fairs/{fair}/qr/seeker/{seeker['id']}.svg"
    for who in (device["token"], employer["token"], other_token):
        status, body = await gateway.request("GET", path, who)
        assert status == 403, body
        status, body = await gateway.request("GET", f"{path}?access_token={who}", None)
        assert status == 403, body
    status, body = await gateway.request("GET", path, None)
    assert status == 401, body
    status, body = await gateway.request("GET", f"{path}?access_token=fho_wrong", None)
    assert status == 401 and body["fields"] == ["access_token"], body
    status, _ = await gateway.request("GET", f"{path}?access_token={token}", None)
    assert status == 200
    status, _ = await gateway.request("GET", path)  # the admin
    assert status == 200
    assert other_fair != fair


def _badges(page: str) -> list[str]:
    return re.findall(r'<p class="number">No\. (\d+)</p>', page)


async def test_badge_sheet(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair("春季招聘会 <2026>")
    names = ["陈一", "<script>alert('x')</script>", "林三 & Co", "周四", "吴五"]
    seekers = [
        await gateway.create(fair, token, "seekers", name=n, school="浙江大学", major="会计学")
        for n in names
    ]
    status, _ = await gateway.request(
        "DELETE", f"/v1/fairs/{fair}/seekers/{seekers[3]['id']}", token
    )
    assert status == 200

    status, page = await gateway.request("GET", f"/v1/fairs/{fair}/badges.html", token)
    assert status == 200
    assert '<meta charset="utf-8">' in page and "size: A4" in page and "dashed" in page
    assert "Noto Sans CJK SC" in page
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "林三 &amp; Co" in page and "春季招聘会 &lt;2026&gt;" in page
    assert "浙江大学" in page and "会计学" in page
    assert _badges(page) == ["0001", "0002", "0003", "0005"]  # number 4 is revoked
    assert page.count("<svg") == 4

    status, page = await gateway.request(
        "GET", f"/v1/fairs/{fair}/badges.html?from=2&to=4&access_token={token}", None
    )
    assert status == 200 and _badges(page) == ["0002", "0003"]
    assert "陈一" not in page and "吴五" not in page

    for query, field in (("from=5&to=2", "from"), ("from=x", "from"), ("to=0", "to")):
        status, body = await gateway.request("GET", f"/v1/fairs/{fair}/badges.html?{query}", token)
        assert status == 422 and field in body["fields"], body
    status, body = await gateway.request("GET", f"/v1/fairs/{fair}/badges.html", None)
    assert status == 401, body


async def test_badge_sheet_is_capped(gateway: Gateway, db: asyncpg.Connection) -> None:
    fair, token = await gateway.create_fair()
    await db.execute(
        "INSERT INTO seekers (fair_id, id, number, name)"
        " SELECT $1, gen_random_uuid()::text, n, '求职者' || n FROM generate_series(1, 501) n",
        fair,
    )
    status, body = await gateway.request("GET", f"/v1/fairs/{fair}/badges.html", token)
    assert status == 422 and body["error"] == "too_many", body
    assert "500" in body["detail"]
    status, page = await gateway.request("GET", f"/v1/fairs/{fair}/badges.html?from=2", token)
    assert status == 200 and page.count("<svg") == 500
    assert _badges(page)[0] == "0002" and _badges(page)[-1] == "0501"


async def _positions(gateway: Gateway) -> tuple[str, str, dict[str, Any], list[dict[str, Any]]]:
    fair, token = await gateway.create_fair()
    employer = await gateway.create(
        fair, token, "employers", name="星辰 <科技> & 合伙", booth="B07", industry="互联网"
    )
    positions = [
        await gateway.create(
            fair,
            token,
            "positions",
            employer_id=employer["id"],
            title=title,
            job_type=kind,
            headcount=n,
        )
        for title, kind, n in (
            ("高级会计师", "财务", 1),
            ("会计助理", "财务", 3),
            ("软件工程师", "技术", 5),
        )
    ]
    return fair, token, employer, positions


def _listed(page: str) -> list[str]:
    listing = page[page.index("<ul>") : page.index("</ul>")]
    return re.findall(r'<div class="title">([^<]*)</div>', listing)


async def test_public_page_search(gateway: Gateway) -> None:
    fair, _, employer, positions = await _positions(gateway)
    base = f"/p/{fair}/employers/{employer['id']}"

    async def titles(query: str) -> list[str]:
        status, body = await gateway.request("GET", f"{base}.json?{query}", None)
        assert status == 200, body
        return [p["title"] for p in body["positions"]]

    assert await titles("") == ["高级会计师", "会计助理", "软件工程师"]
    assert await titles("q=会计") == ["高级会计师", "会计助理"]
    assert await titles("q=工程") == ["软件工程师"]
    assert await titles("job_type=技术") == ["软件工程师"]
    assert await titles("q=会计&job_type=技术") == []
    assert await titles("q=%25") == [] and await titles("q=_") == []
    assert await titles("q=%00%E4%BC%9A%E8%AE%A1") == ["高级会计师", "会计助理"]
    assert await titles("q=%FF&job_type=%00") == []
    status, body = await gateway.request("GET", f"{base}.json?q=会计", None)
    assert body["fair"] == {"id": fair, "name": "春季招聘会"}
    assert body["employer"]["booth"] == "B07" and "position" not in body
    assert body["job_types"] == [{"job_type": "技术", "count": 0}, {"job_type": "财务", "count": 2}]

    status, page = await gateway.request("GET", f"{base}?q=会计", None)
    assert status == 200 and _listed(page) == ["高级会计师", "会计助理"]
    assert "星辰 &lt;科技&gt; &amp; 合伙" in page and "<科技>" not in page
    assert "在招职位" in page and 'name="q" value="会计"' in page
    assert 'accept=".pdf,.doc,.docx,.jpg,.png"' in page and 'name="badge"' in page
    assert f'action="/v1/fairs/{fair}/resumes" enctype="multipart/form-data"' in page
    assert f'name="employer_id" value="{employer["id"]}"' in page
    assert 'name="channel" value="onsite"' in page and '<input type="hidden" name="id">' in page
    assert 'data-apply="' in page and "booth.js" in page  # one tap per position, a script file
    status, page = await gateway.request("GET", f"{base}?job_type=技术&lang=en", None)
    assert _listed(page) == ["软件工程师"] and "Open positions" in page and "在招职位" not in page

    status, page = await gateway.request("GET", f"/p/{fair}/positions/{positions[1]['id']}", None)
    assert status == 200
    assert page.index("<h2>会计助理</h2>") < page.index("<ul>")  # the scanned position on top
    assert f'<option value="{positions[1]["id"]}" selected>' in page
    status, body = await gateway.request(
        "GET", f"/p/{fair}/positions/{positions[1]['id']}.json", None
    )
    assert body["position"]["title"] == "会计助理" and len(body["positions"]) == 3

    for path in (
        f"/p/{fair}/employers/nope",
        f"/p/{fair}/positions/nope",
        "/p/not-a-fair/employers/x",
    ):
        status, page = await gateway.request("GET", path, None)
        assert status == 404 and "页面不存在" in page
        status, body = await gateway.request("GET", path + ".json", None)
        assert status == 404 and body["error"] == "not_found"


async def test_page_views_are_counted(gateway: Gateway, worker: WorkerTask) -> None:
    fair, token, employer, positions = await _positions(gateway)
    employer_page = f"{gateway.base}/p/{fair}/employers/{employer['id']}"
    position_page = f"{gateway.base}/p/{fair}/positions/{positions[2]['id']}"
    jar_a, jar_b = aiohttp.CookieJar(unsafe=True), aiohttp.CookieJar(unsafe=True)
    async with (
        aiohttp.ClientSession(cookie_jar=jar_a) as a,
        aiohttp.ClientSession(cookie_jar=jar_b) as b,
    ):
        async with a.get(employer_page) as r:
            assert r.status == 200
            cookie = r.headers["Set-Cookie"]
            assert "fh_visitor=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        async with a.head(employer_page) as r:  # a link preview, not a visit
            assert r.status == 200
        async with a.get(f"{gateway.base}/p/{fair}/employers/nope") as r:
            assert r.status == 404
        async with a.get(position_page) as r:
            assert r.status == 200 and "Set-Cookie" not in r.headers  # the same visitor
        for query in ("?q=会计", "?job_type=技术", "?job_type=", "?lang=en", "?lang=zh&q="):
            async with a.get(employer_page + query) as r:  # on the page already: not a visit
                assert r.status == 200
        async with b.get(employer_page + ".json") as r:
            assert r.status == 200
        async with b.get(employer_page + ".json?q=会计") as r:
            assert r.status == 200

    async def counted() -> bool:
        return totals(await gateway.stats(fair, token))["qr_scans"] == (3, 2)

    await eventually(counted)
    stats = await gateway.stats(fair, token)
    [row] = [r for r in stats["by_employer"] if r["employer_id"] == employer["id"]]
    assert row["totals"]["qr_scans"] == {"total": 3, "unique": 2}
    [row] = [r for r in stats["by_position"] if r["position_id"] == positions[2]["id"]]
    assert row["totals"]["qr_scans"] == {"total": 1, "unique": 1}


async def _scans(redis: Redis, fair: str) -> list[dict[str, Any]]:
    """The qr_scan events in the fair's stream (no worker runs, so nothing is trimmed)."""
    return [e for e in await fair_entries(redis, fair) if e["type"] == "qr_scan"]


async def test_only_landings_are_counted(gateway: Gateway, redis: Redis) -> None:
    fair, _, employer, positions = await _positions(gateway)
    base = f"/p/{fair}/employers/{employer['id']}"
    status, page = await gateway.request("GET", base, None)
    assert status == 200
    assert len(await _scans(redis, fair)) == 1
    # Every link and form on the page opens a view that says it came from the page.
    hrefs = [unescape(h) for h in re.findall(r'<a [^>]*href="([^"]*)"', page)]
    links = [h for h in hrefs if h.startswith("?")]
    # Links to the fair's page say so too: following one is not a visit from a code.
    assert {h for h in hrefs if not h.startswith("?")} == {f"/p/{fair}?from=booth"}
    assert "?lang=en" in links and "?job_type=" in links and "?job_type=%E8%B4%A2%E5%8A%A1" in links
    assert '<input type="search" name="q"' in page
    status, page = await gateway.request("GET", base + "?lang=en", None)
    en_links = [
        unescape(h) for h in re.findall(r'<a [^>]*href="([^"]*)"', page) if h.startswith("?")
    ]
    assert "?lang=zh" in en_links and "?job_type=&lang=en" in en_links
    for query in [*links, *en_links, "?q=", "?q=会计", "?q=会计&job_type=财务"]:
        status, _ = await gateway.request("GET", base + query, None)
        assert status == 200, query
        status, _ = await gateway.request("GET", base + ".json" + query, None)
        assert status == 200, query
    position = f"/p/{fair}/positions/{positions[0]['id']}"
    for path in (position + "?lang=en", position + ".json?q=x", position + "?job_type="):
        status, _ = await gateway.request("GET", path, None)
        assert status == 200, path
    assert len(await _scans(redis, fair)) == 1
    # Landings, from the code or from anything else that carries no search, are visits.
    for path in (base + ".json", position, position + ".json", base + "?utm_source=poster"):
        status, _ = await gateway.request("GET", path, None)
        assert status == 200, path
    scans = await _scans(redis, fair)
    assert [(s["target"], s["target_id"]) for s in scans] == [
        ("employer", employer["id"]),
        ("employer", employer["id"]),
        ("position", positions[0]["id"]),
        ("position", positions[0]["id"]),
        ("employer", employer["id"]),
    ]
