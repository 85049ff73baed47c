"""LAN mode and the commands that find a running `fairhub dev`.

`fairhub dev --lan` listens on every interface, finds this machine's LAN address, makes the
QR codes of employers and positions encode it and prints it with a QR code; while it runs its
data dir holds dev.json, through which `fairhub report` and `fairhub simulate`, started from
anywhere with --data-dir, find its port and admin token.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import json
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import psutil
import pytest
from support import DAY
from test_dev_command import Client, Dev, command_of, running_dev, stop_dev

from fairhub import devinfo, lan
from fairhub.cli import venue_network
from fairhub.config import Settings


def _clean_env() -> dict[str, str]:
    """The environment of a user's shell: no FAIRHUB_* from the test session."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FAIRHUB_")}


async def fairhub(
    cwd: Path, *args: str, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """`python -m fairhub ARGS` in cwd (without blocking the loop of the test's own client)."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "fairhub", *args],
        env={**_clean_env(), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def usable_lan_address() -> str | None:
    """What this machine has besides loopback (a container has its eth0 address)."""
    return next((a for a in lan.interface_addresses() if lan._usable(a)), None)


# ------------------------------------------------------------------ finding the address


def test_the_lan_address_is_the_routed_one_else_the_first_interface_that_is_not_loopback() -> None:
    assert lan.lan_address(lambda: "192.168.1.20", lambda: ["10.0.0.9"]) == "192.168.1.20"
    interfaces = ["127.0.0.1", "169.254.3.4", "10.0.0.9", "10.0.0.10"]
    assert lan.lan_address(lambda: None, lambda: interfaces) == "10.0.0.9"
    assert lan.lan_address(lambda: None, lambda: ["127.0.0.1"]) is None

    # On this machine: whatever it finds is an address another machine could connect to.
    found = lan.lan_address()
    if usable_lan_address() is None:
        assert found is None
    else:
        assert found is not None and not ipaddress.ip_address(found).is_loopback


def test_lan_mode_binds_every_interface_and_sets_the_public_url() -> None:
    settings = Settings(port=8080, public_url=None)
    venue = lan.plan(settings, lambda: "10.0.0.2")
    assert venue == lan.Lan("0.0.0.0", "http://10.0.0.2:8080")

    # Only loopback: still listening everywhere, no public URL, and a message that says why.
    venue = lan.plan(settings, lambda: None)
    assert venue.host == "0.0.0.0" and venue.public_url is None
    assert venue.note == lan.NO_LAN_ADDRESS and "FAIRHUB_PUBLIC_URL" in venue.note

    # FAIRHUB_PUBLIC_URL wins (a name, or a proxy in front).
    named = Settings(port=8080, public_url="https://fair.example.org")
    assert lan.plan(named, lambda: "10.0.0.2").public_url == "https://fair.example.org"
    # A host given as an address is the address phones use.
    assert lan.plan(Settings(host="10.1.2.3", port=81), lambda: None).public_url == (
        "http://10.1.2.3:81"
    )

    # FAIRHUB_HOST=0.0.0.0 is LAN mode without --lan; the default host is not.
    assert lan.wanted(Settings(host="0.0.0.0"), asked=False)
    assert not lan.wanted(Settings(host="127.0.0.1"), asked=False)
    assert not lan.wanted(Settings(host="localhost"), asked=False)
    opened, chosen = venue_network(Settings(host="0.0.0.0", port=9000, public_url=None), False)
    assert chosen is not None and opened.host == "0.0.0.0"
    assert opened.public_url == chosen.public_url
    assert venue_network(Settings(host="127.0.0.1"), False)[1] is None


def test_the_terminal_qr_code_is_the_url_and_is_skipped_without_unicode() -> None:
    drawing = lan.terminal_qr("http://10.0.0.2:8080")
    assert "█" in drawing and drawing.count("\n") > 10
    assert drawing != lan.terminal_qr("http://10.0.0.3:8080")

    shown = io.StringIO()
    lan.print_qr("http://10.0.0.2:8080", shown)
    assert shown.getvalue() == drawing
    plain = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    lan.print_qr("http://10.0.0.2:8080", plain)  # no UnicodeEncodeError, nothing half-drawn
    plain.flush()
    assert plain.buffer.getvalue() == b""


# ----------------------------------------------------------------------------- dev.json


def test_dev_json_is_private_names_no_secret_and_goes_away(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        host="0.0.0.0",
        port=8123,
        admin_token=None,
        public_url="http://10.0.0.2:8123",
    )
    token = settings.resolved_admin_token()
    info = devinfo.describe(settings)
    assert info.url == "http://127.0.0.1:8123" and info.pid == os.getpid()
    with devinfo.advertised(tmp_path, info) as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert token not in path.read_text()
        assert json.loads(path.read_text())["port"] == 8123
        found = devinfo.running(tmp_path)
        assert found == info and found.admin_token() == token
    assert not path.exists()
    assert devinfo.running(tmp_path) is None

    # A dev started with FAIRHUB_ADMIN_TOKEN: dev.json names no token file.
    configured = Settings(data_dir=tmp_path, admin_token="fh_admin_configured")
    assert devinfo.describe(configured).admin_token_file is None


def test_a_dev_json_left_by_a_killed_dev_is_not_a_running_dev(tmp_path: Path) -> None:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    info = devinfo.DevInfo("http://127.0.0.1:1", 1, int(ended.stdout), None, None)
    with devinfo.advertised(tmp_path, info):
        assert devinfo.running(tmp_path) is None
        with pytest.raises(SystemExit, match=r"no fairhub dev is running in /"):
            devinfo.target(Settings(data_dir=tmp_path, admin_token=None), None, None)


def test_without_a_running_dev_or_url_the_commands_say_what_to_do(tmp_path: Path) -> None:
    settings = Settings(data_dir=Path(".fairhub"), admin_token=None)
    with pytest.raises(SystemExit) as exited:
        devinfo.target(settings, None, None)
    assert str(exited.value) == (
        "no fairhub dev is running in ./.fairhub: start one (fairhub dev), or give --data-dir "
        "of the one that runs, or --url and --token"
    )
    # --url without a token anywhere: asked for, none made up.
    elsewhere = Settings(data_dir=tmp_path, admin_token=None)
    with pytest.raises(SystemExit, match="give --token"):
        devinfo.target(elsewhere, "http://10.0.0.2:8080", None)
    assert not (tmp_path / "admin_token").exists()
    (tmp_path / "admin_token").write_text("fh_admin_kept\n")
    assert devinfo.target(elsewhere, "http://10.0.0.2:8080", None) == (
        "http://10.0.0.2:8080",
        "fh_admin_kept",
    )
    assert devinfo.target(elsewhere, "http://h:1", "fh_given") == ("http://h:1", "fh_given")


# ----------------------------------------------------------------------- end to end


@dataclass
class LanDev:
    dev: Dev
    admin: str
    data_dir: Path
    elsewhere: Path  # where the other commands run: not the dev's directory
    session: aiohttp.ClientSession


@pytest.fixture(scope="module")
async def lan_dev(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LanDev]:
    """One `fairhub dev --lan` for the module (it takes a while to start on a busy machine)."""
    root = tmp_path_factory.mktemp("lan")
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    async with (
        aiohttp.ClientSession() as session,
        running_dev(root / "venue", root, "lan", session, "--lan", "--processes", "1") as (
            dev,
            admin,
        ),
    ):
        yield LanDev(dev, admin, root / "venue", elsewhere, session)
        await stop_dev(dev, root / "venue")


async def test_dev_lan_serves_the_lan_address_and_its_qr_codes_encode_it(
    lan_dev: LanDev,
) -> None:
    from PIL import Image

    zxingcpp = pytest.importorskip("zxingcpp", exc_type=ImportError)
    dev, address = lan_dev.dev, usable_lan_address()
    port = int(dev.base.rsplit(":", 1)[1])
    banner = dev.stdout.read_text()
    path = lan_dev.data_dir / "dev.json"
    info = json.loads(path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert lan_dev.admin not in path.read_text()
    assert (info["url"], info["port"]) == (f"http://127.0.0.1:{port}", port)
    assert "fairhub dev --lan" not in banner  # it is on already
    assert "/v1/fairs/FAIR/devices" in banner
    if address is None:  # a machine with loopback only: the clear fallback message
        assert lan.NO_LAN_ADDRESS in banner, banner
        assert info["public_url"] is None
        base = dev.base
    else:
        base = info["public_url"]
        host = base.removeprefix("http://").rsplit(":", 1)[0]
        assert base == f"http://{host}:{port}"
        assert not ipaddress.ip_address(host).is_loopback
        assert f"Venue network: {base}" in banner, banner
        assert lan.terminal_qr(base) in banner  # the QR code of that very address

    # The gateway listens on every interface.
    [gateway] = [
        p for p in psutil.Process(dev.process.pid).children() if "fairhub serve" in command_of(p)
    ]
    listening = {
        (c.laddr.ip, c.laddr.port)
        for c in gateway.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN
    }
    assert ("0.0.0.0", port) in listening, listening
    client = Client(lan_dev.session, base)  # served there
    status, body = await client.request("GET", "/healthz", "")
    assert status == 200, body
    fair, organizer = await a_fair(client, lan_dev.admin)
    status, employer = await client.request(
        "POST", f"/v1/fairs/{fair}/employers", organizer, json={"name": "星辰科技"}
    )
    assert status == 201, employer

    # Asked through loopback, the employer's QR code still opens the LAN address.
    async with lan_dev.session.get(
        f"{dev.base}/v1/fairs/{fair}/qr/employer/{employer['id']}.png?scale=4",
        headers={"Authorization": f"Bearer {organizer}"},
    ) as response:
        assert response.status == 200
        png = await response.read()
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert code.text == f"{base}/p/{fair}/employers/{employer['id']}"


async def a_fair(client: Client, admin: str) -> tuple[str, str]:
    status, body = await client.request(
        "POST",
        "/v1/fairs",
        admin,
        json={
            "name": "会场招聘会",
            "kind": "onsite",
            "starts_at": DAY.isoformat(),
            "ends_at": (DAY + timedelta(hours=8)).isoformat(),
        },
    )
    assert status == 201, body
    return body["id"], body["organizer_token"]


async def test_report_from_another_directory_finds_the_dev_by_its_data_dir(
    lan_dev: LanDev,
) -> None:
    client = Client(lan_dev.session, lan_dev.dev.base)
    fair, organizer = await a_fair(client, lan_dev.admin)
    status, employer = await client.request(
        "POST", f"/v1/fairs/{fair}/employers", organizer, json={"name": "光谷制造"}
    )
    assert status == 201, employer
    data_dir = str(lan_dev.data_dir)

    shown = await fairhub(lan_dev.elsewhere, "report", fair, "--data-dir", data_dir)
    assert shown.returncode == 0, shown.stderr
    assert "会场招聘会" in shown.stdout and "光谷制造" in shown.stdout
    # The organizer's own token does as well as the admin token kept in the data dir.
    shown = await fairhub(
        lan_dev.elsewhere, "report", fair, "--data-dir", data_dir, "--token", organizer,
        "--format", "json",
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["fair"]["id"] == fair
    # FAIRHUB_DATA_DIR says the same as --data-dir.
    shown = await fairhub(lan_dev.elsewhere, "report", fair, FAIRHUB_DATA_DIR=data_dir)
    assert shown.returncode == 0 and "光谷制造" in shown.stdout, shown.stderr


async def test_simulate_from_another_directory_finds_the_dev_by_its_data_dir(
    lan_dev: LanDev,
) -> None:
    day = await fairhub(
        lan_dev.elsewhere, "simulate", "--data-dir", str(lan_dev.data_dir), "--scale", "0.01",
        "--speed", "0", "--seed", "14", "--settle", "60",
        timeout=170,
    )  # fmt: skip
    assert day.returncode == 0, day.stdout[-4000:] + day.stderr[-4000:]
    assert "figures agree" in day.stdout, day.stdout[-4000:]


async def test_without_a_running_dev_report_and_simulate_say_so(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for command in (["report", "some-fair"], ["simulate", "--scale", "0.01"]):
        ended = await fairhub(tmp_path, *command, "--data-dir", str(data_dir))
        assert ended.returncode != 0 and "Traceback" not in ended.stderr, ended.stderr
        assert f"no fairhub dev is running in {data_dir}: start one" in ended.stderr
    # Where the user stands, without --data-dir: the same, for ./.fairhub.
    ended = await fairhub(tmp_path, "report", "some-fair")
    assert "no fairhub dev is running in ./.fairhub" in ended.stderr, ended.stderr
