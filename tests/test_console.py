"""The console chat as a newcomer uses it: a script piped into ``python -m bot console``.

The scripts run in-process (the console's coroutine, with the script as its input and its
output captured) against the test database; one subprocess smoke test drives the real
command. The other CLI commands run in-process through ``bot.__main__.main``.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

import bot.__main__ as cli_module
from bot.config import Settings
from bot.console import console_session
from storage.mongo import Store

ROOT = Path(__file__).resolve().parent.parent

Cli = Callable[..., "subprocess.CompletedProcess[str]"]


def console_env(
    mongo_uri: str, tmp_path: Path, db: str | None, extra_env: dict[str, str] | None
) -> dict[str, str]:
    env = {
        **os.environ,
        **(extra_env or {}),
        "MONGODB_URI": mongo_uri,
        "MONGODB_DB": db or f"console_{uuid.uuid4().hex[:8]}",
        "DATA_DIR": str(tmp_path / "var"),
        "DATA_KEY": "console-test-key-0123456789",
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return env


async def run_console(
    mongo_uri: str,
    script: str,
    tmp_path: Path,
    *args: str,
    db: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m bot console ARGS`` with ``script`` as its input, in this process."""
    settings = Settings.from_env(console_env(mongo_uri, tmp_path, db, extra_env))
    options = cli_module.parser().parse_args(["console", *args])
    stdout, stderr = io.StringIO(), io.StringIO()
    await console_session(
        settings,
        mongo_uri,
        user_id=options.as_user,
        lang=options.lang,
        json_mode=options.json,
        demo=not options.no_demo,
        stdin=io.StringIO(script),
        stdout=stdout,
        stderr=stderr,
    )
    return subprocess.CompletedProcess(["console", *args], 0, stdout.getvalue(), stderr.getvalue())


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``python -m bot ARGS`` in this process: environment, stdin and output as given."""
    # The root logger stays pytest's: the commands' logging setup is not under test here.
    monkeypatch.setattr(cli_module, "setup_logging", lambda *args, **kwargs: None)

    def run(
        *argv: str, env: dict[str, str] | None = None, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        stdout, stderr = io.StringIO(), io.StringIO()
        environment = dict(os.environ if env is None else env)
        with monkeypatch.context() as patch:
            for name in list(os.environ):
                patch.delenv(name)
            for name, value in environment.items():
                patch.setenv(name, value)
            patch.setattr(sys, "stdin", io.StringIO(stdin))
            with redirect_stdout(stdout), redirect_stderr(stderr):
                try:
                    code = cli_module.main(list(argv))
                except SystemExit as exc:  # argparse: --help, usage errors
                    code = exc.code if isinstance(exc.code, int) else 2
        return subprocess.CompletedProcess(
            ["python", "-m", "bot", *argv], code, stdout.getvalue(), stderr.getvalue()
        )

    return run


@pytest.fixture(scope="module")
def demo_template(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database the console loaded the demo directory into, once for this module."""
    db = f"console_demo_{uuid.uuid4().hex[:8]}"
    asyncio.run(run_console(mongo_uri, "", tmp_path_factory.mktemp("demo"), db=db))
    return db


@pytest.fixture
async def demo_db(mongo_uri: str, demo_template: str) -> str:
    """A fresh database with a copy of the demo directory (loading it takes seconds)."""
    db = f"console_{uuid.uuid4().hex[:8]}"
    source, target = Store.connect(mongo_uri, demo_template), Store.connect(mongo_uri, db)
    try:
        for name in await source.db.list_collection_names():
            documents = [doc async for doc in source[name].find()]
            if documents:
                await target[name].insert_many(documents)
    finally:
        await source.close()
        await target.close()
    return db


def calls(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


class TestConsoleScript:
    async def test_json_script_with_demo_data(self, mongo_uri: str, tmp_path: Path) -> None:
        script = (
            "\n".join(
                [
                    "/start",
                    "#loc 3.5952 98.6722",
                    "#tap Berikutnya",
                    "#tap 2",
                    "#tap peta",
                    "#as 20002 en",
                    "/start",
                    "ksp di Medan Baru",
                    "#inline Medan",
                    "#tap 99",
                    "#bogus",
                    "",
                ]
            )
            + "\n"
        )
        result = await run_console(mongo_uri, script, tmp_path, "--json")
        assert result.returncode == 0, result.stderr
        got = calls(result.stdout)
        methods = [c["method"] for c in got]
        assert methods[0] == "getMe"
        assert methods.count("setMyCommands") == 3
        sends = [c for c in got if c["method"] == "sendMessage"]
        assert sends[0]["params"]["text"].startswith("👋 Selamat datang")
        near = sends[1]["params"]
        assert near["text"].startswith("📍 ") and "Kota Medan" in near["text"]
        # Medan cooperatives, nearest first: the demo data was loaded into the empty database.
        assert "Loaded demo data" in result.stderr
        first_buttons = near["reply_markup"]["inline_keyboard"]
        assert "(Demo)" in first_buttons[0][0]["text"]
        edits = [c for c in got if c["method"] == "editMessageText"]
        assert "<b>6. " in edits[0]["params"]["text"]  # page 2 in place of page 1
        assert "Simpanan pokok" in edits[1]["params"]["text"]  # result 7's detail
        venue = next(c for c in got if c["method"] == "sendVenue")["params"]
        assert abs(venue["latitude"] - 3.5952) < 0.1 and "(Demo)" in venue["title"]
        assert sends[2]["params"]["text"].startswith("👋 Welcome")
        assert (
            "cooperatives in Kec. Medan Baru" in sends[3]["params"]["text"]
            or "cooperative in Kec. Medan Baru" in sends[3]["params"]["text"]
        )
        assert any(c["method"] == "answerInlineQuery" for c in got)
        assert "there is no button 99" in result.stderr
        assert "unknown console command #bogus" in result.stderr

    def test_human_rendering_and_doc(self, mongo_uri: str, tmp_path: Path) -> None:
        # The one subprocess smoke test: the real `python -m bot console`, end to end.
        script = "/start\n#loc 3.5952 98.6722\n#tap 1\n#tap peta\n#sticker\n"
        result = subprocess.run(
            [sys.executable, "-m", "bot", "console"],
            input=script,
            capture_output=True,
            text=True,
            env=console_env(mongo_uri, tmp_path, None, None),
            cwd=ROOT,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert "bot › 👋 Selamat datang di Gerbang Koperasi" in out  # HTML rendered as text
        assert "⌨ [1] 📍 Bagikan lokasi saya" in out
        assert "[1] 1. " in out and "Berikutnya ▶" in out
        assert "bot ✎ (message" in out
        assert "bot 📍 " in out  # the venue
        assert "tidak bisa membaca" in out

    def test_run_without_token_and_tty_exits_2(self, tmp_path: Path, cli: Cli) -> None:
        env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
        result = cli("run", env=env, stdin="")
        assert result.returncode == 2
        assert "TELEGRAM_BOT_TOKEN is not set" in result.stderr

    @pytest.mark.parametrize("command", ["run", "console", "import-coops", "seed-demo"])
    def test_help(self, command: str, cli: Cli) -> None:
        result = cli(command, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout


class TestImportCommand:
    def test_import_reports_bad_lines(self, mongo_uri: str, tmp_path: Path, cli: Cli) -> None:
        csv = tmp_path / "coops.csv"
        csv.write_bytes(
            b"\xef\xbb\xbfname,type,latitude,longitude\r\n"
            b"Koperasi A,jasa,3.6,98.67\r\nKoperasi B,bank,3.6,98.67\r\n"
            b"Koperasi C,jasa,51.5,-0.1\r\n"
        )
        env = {
            **os.environ,
            "MONGODB_URI": mongo_uri,
            "MONGODB_DB": f"imp_{uuid.uuid4().hex[:8]}",
            "DATA_DIR": str(tmp_path / "v"),
            "DATA_KEY": "console-test-key-0123456789",
        }
        cmd = ["import-coops", str(csv)]
        result = cli(*cmd, env=env)
        assert result.returncode == 1
        assert "line 3: unknown type “bank”" in result.stderr
        assert "line 4: the coordinates 51.5, -0.1 are outside Indonesia" in result.stderr
        assert "3 rows: 1 created, 0 updated, 2 rejected" in result.stdout
        again = cli(*cmd, env=env)
        assert "3 rows: 0 created, 1 updated, 2 rejected" in again.stdout


class TestConsoleMembership:
    async def test_join_two_cancel_one_resume_one_after_restart(
        self, mongo_uri: str, tmp_path: Path, demo_db: str
    ) -> None:
        db = demo_db
        # Four cooperatives around central Medan from the demo data: results 1-4.
        form = [
            "#tap Gabung",
            "#tap Lanjut",
            "#tap setuju",
            "Siti Aminah",
            "{nik}",
            "#tap Ya",
            "Medan",
            "#loc 3.5928 98.6762",
            "#contact +6281234567890",
            "#tap Pedagang",
        ]
        script = ["#loc 3.5952 98.6722", "#tap 1"]
        script += [line.format(nik="1271055708900001") for line in form] + ["#tap Kirim"]
        # From the second form on, the answers of the first are offered: answer anew.
        again = [*form[:3], "#tap Jawab ulang", *form[3:]]
        script += ["#loc 3.5952 98.6722", "#tap 2"]
        script += [line.format(nik="1271055708900001") for line in again] + ["#tap Kirim"]
        script += [
            "#loc 3.5952 98.6722",
            "#tap 3",
            "#tap Gabung",
            "#tap Lanjut",
            "#tap setuju",
            "#tap Jawab ulang",
            "Siti Aminah",
            "/batal",
            "#tap hapus",
        ]
        script += [
            "#loc 3.5952 98.6722",
            "#tap 4",
            "#tap Gabung",
            "#tap Lanjut",
            "#tap setuju",
            "#tap Jawab ulang",
            "Siti Aminah",
        ]
        first = await run_console(mongo_uri, "\n".join(script) + "\n", tmp_path, "--json", db=db)
        assert first.returncode == 0, first.stderr
        sent = [c for c in calls(first.stdout) if c["method"] == "editMessageText"]
        done = [c for c in sent if "Permohonan terkirim" in c["params"]["text"]]
        assert len(done) == 2
        assert any("Jawaban Anda sudah dihapus" in c["params"]["text"] for c in sent)
        # A new process on the same database: the fourth form continues at the NIK.
        second = await run_console(
            mongo_uri, "1271055708900001\n#tap Ya\n", tmp_path, "--json", db=db
        )
        assert second.returncode == 0, second.stderr
        texts_ = [
            c["params"].get("text", "")
            for c in calls(second.stdout)
            if c["method"] == "sendMessage"
        ]
        assert texts_[0].startswith("Dari NIK Anda: <b>perempuan</b>")
        assert "Tempat lahir" in texts_[1]


class TestAdminsCommand:
    def test_add_list_remove(self, mongo_uri: str, tmp_path: Path, cli: Cli) -> None:
        db = f"admins_{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "MONGODB_URI": mongo_uri,
            "MONGODB_DB": db,
            "DATA_DIR": str(tmp_path / "v"),
            "DATA_KEY": "console-test-key-0123456789",
        }

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return cli(*args, env=env)

        csv = tmp_path / "c.csv"
        csv.write_text(
            "name,type,latitude,longitude,registration_number\n"
            "Koperasi Uji,jasa,3.6,98.67,518/BH/2020\n"
        )
        assert run("import-coops", str(csv)).returncode == 0
        added = run("admins", "add", "--coop", "518/BH/2020", "--user", "777")
        assert added.returncode == 0 and "is now an admin of Koperasi Uji" in added.stdout
        listing = run("admins", "list")
        assert "777\t" in listing.stdout and "Koperasi Uji [518/BH/2020]" in listing.stdout
        removed = run("admins", "remove", "--coop", "518/BH/2020", "--user", "777")
        assert "is no longer an admin" in removed.stdout
        missing = run("admins", "add", "--coop", "nope", "--user", "1")
        assert missing.returncode == 1 and "No cooperative" in missing.stderr
        assert run("admins", "--help").returncode == 0


class TestConsoleAdmin:
    async def test_operator_invites_admin_who_decides(
        self, mongo_uri: str, tmp_path: Path, demo_db: str
    ) -> None:
        db = demo_db
        apply = [
            "#tap Gabung",
            "#tap Lanjut",
            "#tap setuju",
            "{name}",
            "{nik}",
            "#tap Ya",
            "Medan",
            "Jl. Mawar 1, Kesawan",
            "#contact +6281234567890",
            "#tap Pedagang",
            "#tap Kirim",
        ]
        script = ["#as 900 id", "#loc 3.5952 98.6722", "#tap 1", "#tap Undang admin"]
        first = await run_console(
            mongo_uri,
            "\n".join(script) + "\n",
            tmp_path,
            "--json",
            db=db,
            extra_env={"ADMIN_IDS": "900"},
        )
        assert first.returncode == 0, first.stderr
        invite = next(
            c
            for c in calls(first.stdout)
            if c["method"] == "sendMessage" and "adm_" in c["params"]["text"]
        )["params"]["text"]
        link = next(w for w in invite.split() if "start=adm_" in w)
        payload = link.split("start=")[1]
        script = [
            "#as 701 id",
            f"/start {payload}",
            "#as 1001 id",
            "#loc 3.5952 98.6722",
            "#tap 1",
        ]
        script += [s.format(name="Siti Aminah", nik="1271055708900001") for s in apply]
        english = {
            "#tap Gabung": "#tap Join",
            "#tap Lanjut": "#tap Continue",
            "#tap setuju": "#tap agree",
            "#tap Ya": "#tap Yes",
            "#tap Pedagang": "#tap Trader",
            "#tap Kirim": "#tap Submit",
        }
        script += ["#as 1002 en", "#loc 3.5952 98.6722", "#tap 1"]
        script += [
            english.get(s, s).format(name="Budi Santoso", nik="1271051708900002") for s in apply
        ]
        script += [
            "#as 701 id",
            "/admin",
            "#tap Permohonan",
            "#tap Setujui",
            "#tap Ya, setujui",
            "#tap Permohonan berikutnya",
            "#tap Tolak",
            "#tap Ketik alasan",
            "Alamat tidak jelas",
            "/admin",
            "#tap Anggota",
            "#tap Ekspor",
            "/admin",
            "#tap Statistik",
            "#as 1001 id",
            "/kartu",
            "#as 1002 en",
            "/cards",
            "#as 1002 en",
            "/admin",
            "/stats",
            "/import",
        ]
        second = await run_console(
            mongo_uri,
            "\n".join(script) + "\n",
            tmp_path,
            "--json",
            db=db,
            extra_env={"ADMIN_IDS": "900"},
        )
        assert second.returncode == 0, second.stderr
        got = calls(second.stdout)
        text = "\n".join(str(c["params"]) for c in got)
        assert "Anda sekarang admin" in text
        assert "Selamat bergabung" in text  # Siti approved, told in Indonesian
        assert "was not approved" in text and "Alamat tidak jelas" in text  # Budi, English
        documents = [c for c in got if c["method"] == "sendDocument"]
        assert documents and documents[0]["params"]["document"]["file"].endswith(".xlsx")
        photos = [c for c in got if c["method"] == "sendPhoto"]
        assert any(p["params"]["photo"]["file"] == "statistik.png" for p in photos)
        captions = [p["params"].get("caption", "") for p in photos]
        assert any("Nomor anggota" in c for c in captions)  # Siti's card
        assert any("Rejected: Alamat tidak jelas" in c for c in captions)  # Budi's wallet
        refusals = [
            c
            for c in got
            if c["method"] == "sendMessage"
            and (
                "not allowed" in c["params"]["text"]
                or "for cooperative admins" in c["params"]["text"]
            )
        ]
        assert len(refusals) == 3  # /admin, /stats and /import for a plain user


class TestConsoleBroadcast:
    async def test_admin_announces_with_photo(
        self, mongo_uri: str, tmp_path: Path, demo_db: str
    ) -> None:
        db = demo_db
        poster = tmp_path / "poster.png"
        poster.write_bytes(b"\x89PNG\r\n\x1a\n fake poster")
        env = {"ADMIN_IDS": "900"}
        apply = [
            "#tap Gabung",
            "#tap Lanjut",
            "#tap setuju",
            "{name}",
            "{nik}",
            "#tap Ya",
            "Medan",
            "Jl. Mawar 1, Kesawan",
            "#contact +6281234567890",
            "#tap Pedagang",
            "#tap Kirim",
        ]
        script = ["#as 900 id", "#loc 3.5952 98.6722", "#tap 1", "#tap Undang admin"]
        first = await run_console(
            mongo_uri, "\n".join(script) + "\n", tmp_path, "--json", db=db, extra_env=env
        )
        invite = next(c for c in calls(first.stdout) if "adm_" in c["params"].get("text", ""))
        payload = next(w for w in invite["params"]["text"].split() if "adm_" in w).split("start=")[
            1
        ]
        script = ["#as 701 id", f"/start {payload}"]
        for user, nik in ((1001, "1271055708900001"), (1002, "1271051708900002")):
            script += [f"#as {user} id", "#loc 3.5952 98.6722", "#tap 1"]
            script += [s.format(name="Warga Kesawan", nik=nik) for s in apply]
        script += [
            "#as 701 id",
            "/admin",
            "#tap Permohonan",
            "#tap Setujui",
            "#tap Ya, setujui",
            "#tap Permohonan berikutnya",
            "#tap Setujui",
            "#tap Ya, setujui",
            "/admin",
            "#tap Pengumuman",
            f"#photo {poster} <b>Rapat anggota</b> Sabtu pukul 09.00",
            "#tap Anggota aktif",
            "#tap Kirim sekarang",
        ]
        second = await run_console(
            mongo_uri, "\n".join(script) + "\n", tmp_path, "--json", db=db, extra_env=env
        )
        assert second.returncode == 0, second.stderr
        got = calls(second.stdout)
        photos = [
            c for c in got if c["method"] == "sendPhoto" and c["params"]["chat_id"] in (1001, 1002)
        ]
        assert sorted(p["params"]["chat_id"] for p in photos) == [1001, 1002]
        assert all("Rapat anggota" in p["params"]["caption"] for p in photos)
        edits = [c["params"]["text"] for c in got if c["method"] == "editMessageText"]
        assert any("Pengumuman selesai" in e and "Terkirim: 2" in e for e in edits)
