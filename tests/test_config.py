"""The config file's ``[server]`` table: every key known and of its kind, or a ConfigError that
names the key (graph/config.py), never a silent default or a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from graph.config import Config, ConfigError, server_keys
from graph.limits import Limits

ROOT = Path(__file__).resolve().parent.parent


def server(**settings: Any) -> Config:
    return Config.from_dict({"server": settings})


def serve(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``commerce-graph serve`` on ``config``, as an operator starts it; it must stop by itself."""
    return subprocess.run(
        [sys.executable, "-m", "graph.cli", "serve", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        Config.from_dict(data)
    return str(caught.value)


def test_cors_origins_as_one_string_is_refused_with_the_list_it_means() -> None:
    """A string was read as a list of its characters: CORS broken, silently."""
    message = refused({"server": {"cors_origins": "https://app.example.com"}})
    assert message == (
        "[server].cors_origins must be a list of origins, not a string: "
        'cors_origins = ["https://app.example.com"]'
    )


@pytest.mark.parametrize(
    "origin", ["https://app.example.com/", "app.example.com", "https://app.example.com/x", 5, ""]
)
def test_a_cors_origin_a_browser_never_sends_is_refused(origin: object) -> None:
    message = refused({"server": {"cors_origins": ["https://ok.example", origin]}})
    assert message == (
        "[server].cors_origins: each origin must be scheme://host[:port], without a path or a "
        f'trailing slash (as in "https://app.example.com"), not {origin!r}'
    )


def test_cors_origins_are_kept_as_given() -> None:
    origins = ["https://app.example.com", "http://localhost:5173", "capacitor://localhost"]
    assert server(cors_origins=origins).server.cors_origins == origins
    assert server(cors_origins=["*"]).server.cors_origins == ["*"]
    assert server().server.cors_origins == []


@pytest.mark.parametrize(
    ("key", "meant"), [("max_cots", "max_cost"), ("max_page_sise", "max_page_size")]
)
def test_a_misspelt_key_is_refused_naming_it_and_the_known_keys(key: str, meant: str) -> None:
    """It went to ``extra`` and was ignored: the limit the operator meant to set stayed as it
    was."""
    message = refused({"server": {key: 5}})
    assert message == (
        f"[server]: unknown key {key} (did you mean {meant}?); "
        f"the [server] keys are {', '.join(server_keys())}"
    )
    assert "max_cost, max_depth" in message


def test_several_unknown_keys_and_sections_are_named() -> None:
    message = refused({"server": {"zzz": 1, "prot": 8000}})
    assert message.startswith("[server]: unknown keys prot (did you mean port?), zzz; ")
    assert refused({"sever": {"port": 8000}}) == (
        "unknown section sever: a config file has [server] and [providers.NAME] tables"
    )


def test_every_known_key_is_taken_and_kept_where_the_gateway_reads_it() -> None:
    extra = {
        "persisted_only": False,
        "persisted_queries": "persisted-queries.json",
        "apq_cache_size": 500,
        "apq_cache_bytes": 8_000_000,
        "idempotency_db": ":memory:",
        "idempotency_retention_s": 3600,
        "idempotency_lease_s": 60.5,
        "idempotency_wait_s": 10,
        "readiness_timeout_s": 1.5,
    }
    config = server(
        api_keys={"k": ["orders:read"]},
        mode="production",
        host="0.0.0.0",
        port=9000,
        cors_origins=["https://app.example.com"],
        max_cost=500,
        batching=True,
        **extra,
    ).server
    assert (config.host, config.port, config.mode) == ("0.0.0.0", 9000, "production")
    assert config.limits == Limits(max_cost=500, batching=True)
    assert config.extra == extra
    assert set(server_keys()) == {
        "api_keys",
        "mode",
        "host",
        "port",
        "cors_origins",
        *(f for f in Limits.__dataclass_fields__),
        *extra,
    }


BAD = [
    # (key, value, message): each names its key
    ("port", "abc", "[server].port must be a port number from 0 to 65535, not 'abc'"),
    ("port", 70000, "[server].port must be a port number from 0 to 65535, not 70000"),
    ("port", True, "[server].port must be a port number from 0 to 65535, not True"),
    ("host", 127, "[server].host must be a non-empty string, not 127"),
    ("mode", "prod", '[server].mode must be "sandbox" or "production"'),
    ("max_depth", "deep", "[server].max_depth must be a positive integer, not 'deep'"),
    ("persisted_only", "yes", "[server].persisted_only must be true or false, not 'yes'"),
    ("persisted_queries", 5, "[server].persisted_queries must be a non-empty string, not 5"),
    ("apq_cache_size", -1, "[server].apq_cache_size must be a whole number >= 0, not -1"),
    ("apq_cache_bytes", 1.5, "[server].apq_cache_bytes must be a whole number >= 0, not 1.5"),
    ("idempotency_db", "", "[server].idempotency_db must be a non-empty string, not ''"),
    (
        "idempotency_lease_s",
        0,
        "[server].idempotency_lease_s must be a number of seconds > 0, not 0",
    ),
    (
        "idempotency_wait_s",
        float("inf"),
        "[server].idempotency_wait_s must be a number of seconds > 0, not inf",
    ),
    (
        "readiness_timeout_s",
        "2",
        "[server].readiness_timeout_s must be a number of seconds > 0, not '2'",
    ),
    ("cors_origins", {"a": 1}, "[server].cors_origins must be a list of origins, not {'a': 1}"),
]


@pytest.mark.parametrize(("key", "value", "message"), BAD)
def test_a_bad_value_is_a_config_error_naming_its_key(key: str, value: Any, message: str) -> None:
    assert refused({"server": {key: value}}) == message


@pytest.mark.parametrize("keys", [{"s3cret-key": "orders:read"}, {"s3cret-key": [1]}, ["x"]])
def test_malformed_api_keys_are_refused_without_echoing_a_key(keys: Any) -> None:
    message = refused({"server": {"api_keys": keys}})
    assert message == "[server].api_keys must map each key to a list of scopes"


def test_a_server_that_is_not_a_table_is_refused() -> None:
    assert refused({"server": "s3cret"}) == "[server] must be a table of settings"


def test_a_bad_value_in_the_file_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    """``port = "abc"`` raised a bare ValueError, which ``serve`` printed as a traceback."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\napi_keys = { "k1" = ["orders:read"] }\nport = "abc"\n')
    result = serve(bad)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "commerce-graph: [server].port must be a port number from 0 to 65535, not 'abc'"
    )
    assert "Traceback" not in result.stderr


# -- provider sections ------------------------------------------------------------------

AKINON = {"base_url": "http://127.0.0.1:9", "token": "static-akinon-token"}


def provider_refusal(section: dict[str, Any], name: str = "akinon") -> str:
    """What building the gateway says of a ``[providers.<name>]`` section."""
    from graph.gateway import Gateway
    from providers.settings import SettingsError

    config = Config.from_dict({"server": {"idempotency_db": ":memory:"}, "providers": {}})
    config.providers[name] = section
    with pytest.raises(SettingsError) as caught:
        Gateway(config)
    return str(caught.value)


def test_an_unknown_provider_section_is_refused_with_the_name_it_meant() -> None:
    """``[providers.frontpayments]`` was skipped: Front Payment answered "not configured"."""
    message = refused({"providers": {"frontpayments": {"base_url": "http://x"}}})
    assert message.startswith(
        "[providers]: unknown key frontpayments (did you mean frontpayment?); "
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"timeout_secs": 1},
            "[providers.akinon]: unknown key timeout_secs (did you mean timeout_s?); ",
        ),
        ({"timeout_s": "fast"}, "[providers.akinon] timeout_s must be a number, not 'fast'"),
        # Each of these served: a string read as a number, NaN as a timeout (a hanging
        # provider then held its requests forever), a fraction cut to a whole number.
        ({"timeout_s": "3"}, "[providers.akinon] timeout_s must be a number, not '3'"),
        (
            {"timeout_s": float("nan")},
            "[providers.akinon] timeout_s must be a finite number, not nan",
        ),
        (
            {"timeout_s": float("inf")},
            "[providers.akinon] timeout_s must be a finite number, not inf",
        ),
        (
            {"max_concurrency": 2.7},
            "[providers.akinon] max_concurrency must be a whole number, not 2.7",
        ),
        (
            {"circuit_reset_s": float("nan")},
            "[providers.akinon] circuit_reset_s must be a finite number, not nan",
        ),
        ({"timeout_s": -5}, "[providers.akinon] timeout_s must be more than 0"),
        (
            {"circuit_failures": "three"},
            "[providers.akinon] circuit_failures must be a number, not 'three'",
        ),
        ({"currency": 5}, "[providers.akinon] currency must be a string"),
        ({"token": 12345}, "[providers.akinon] token must be a string"),
        # Read as "12345", it would have masked that in every message (providers/redact.py).
        ({"password": 12345}, "[providers.akinon] password must be a string"),
        (
            {"base_url": "127.0.0.1:18805"},
            "[providers.akinon] base_url must start with http:// or https://",
        ),
    ],
)
def test_a_provider_setting_mistake_is_refused_naming_its_key(
    change: dict[str, Any], message: str
) -> None:
    """Each of these was ignored, a traceback, or a message without the key's name."""
    refusal = provider_refusal(AKINON | change)
    assert refusal.startswith(message)
    assert "12345" not in refusal
    assert "static-akinon-token" not in refusal


USERINFO = "must not hold a user or password (user:password@host): it is shown to clients; "
QUERY = "must not have a query or a fragment (?... or #...): it is shown to clients, and "


@pytest.mark.parametrize(
    ("base_url", "refusal"),
    [
        ("http://svc:BASEURL-PASSWORD-1@127.0.0.1:18931/", USERINFO),
        ("https://BASEURL-TOKEN-1@seller.example.com", USERINFO),
        ("http://127.0.0.1:18931/?api_key=QS-SECRET-2", QUERY),
        ("http://svc:BASEURL-PASSWORD-1@127.0.0.1:18931/?api_key=QS-SECRET-2", USERINFO),
        ("https://seller.example.com/shop#QS-SECRET-2", QUERY),
        ("https://seller.example.com/?", QUERY),
    ],
    ids=["password", "user", "query", "both", "fragment", "empty-query"],
)
def test_a_base_url_carrying_credentials_is_refused_without_them(
    base_url: str, refusal: str
) -> None:
    """Any orders:read key saw the base_url, password and query key included, in
    ``providers { settings }``, and every call failed as INTERNAL_SERVER_ERROR: aiohttp will
    not send credentials in the URL beside an Authorization header."""
    message = provider_refusal(AKINON | {"base_url": base_url})
    assert message.startswith(f"[providers.akinon] base_url {refusal}")
    assert "SECRET" not in message
    assert "BASEURL" not in message
    assert "\n" not in message


def test_a_base_url_with_a_password_stops_serve_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[server]\napi_keys = { "k1" = ["orders:read"] }\nidempotency_db = ":memory:"\n'
        '[providers.frontpayment]\ntoken = "fp-token-1"\n'
        'base_url = "http://svc:BASEURL-PASSWORD-1@127.0.0.1:18931/?api_key=QS-SECRET-2"\n'
    )
    result = serve(bad)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"commerce-graph: [providers.frontpayment] base_url {USERINFO}")
    assert "BASEURL-PASSWORD-1" not in result.stderr
    assert "QS-SECRET-2" not in result.stderr


def test_every_setting_a_connector_reads_is_known_to_it() -> None:
    """Each connector declares the keys it reads (``SETTINGS``): a key it reads but does not
    declare would be refused in every config that sets it."""
    import importlib
    import re

    from providers.model import ProviderName

    for name in ProviderName:
        module = importlib.import_module(f"providers.{name.value}")
        source = Path(module.__file__ or "").read_text()
        read = set(re.findall(r"settings\.(?:get|secret|values\.get)\(\"(\w+)\"", source))
        assert read <= module.SETTINGS, name
        assert bool(read) == bool(module.SETTINGS), name  # the pattern finds what they read


def test_a_bad_provider_config_exits_at_once_with_workers_too(tmp_path: Path) -> None:
    """With ``--workers 2`` each worker built the providers and crashed, and uvicorn restarted
    it every few seconds, forever; now the parent builds them first and exits 2."""
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[server]\napi_keys = { "k1" = ["orders:read"] }\nidempotency_db = ":memory:"\n'
        '[providers.lipalater]\nbase_url = "http://127.0.0.1:9"\napi_key = "k"\n'
        'api_secret = "s3cret-api"\n'
    )
    for workers in ("1", "2"):
        result = serve(bad, "--workers", workers)
        assert result.returncode == 2, result.stderr
        assert (
            result.stderr.strip()
            .splitlines()[-1]
            .startswith("commerce-graph: [providers.lipalater] needs app_secret")
        )
        assert "Traceback" not in result.stderr
        assert "s3cret-api" not in result.stderr


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_workers_must_be_a_whole_number_of_at_least_one(tmp_path: Path, workers: str) -> None:
    """0 and -1 served as one process."""
    config = tmp_path / "ok.toml"
    config.write_text('[server]\napi_keys = { "k1" = ["orders:read"] }\n')
    result = serve(config, "--workers", workers)
    assert result.returncode == 2, result.stderr
    assert "argument --workers: must be " in result.stderr
    assert "Traceback" not in result.stderr


def test_an_idempotency_db_that_cannot_be_opened_is_a_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    path = tmp_path / "no-such-dir" / "x.sqlite3"
    bad.write_text(f'[server]\nidempotency_db = "{path}"\n')
    result = serve(bad)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"commerce-graph: [server].idempotency_db: cannot open {str(path)!r}: "
        "unable to open database file"
    )


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("akinon", {"page_size": "many"}, "[providers.akinon] page_size must be a number"),
        (
            "lipalater",
            {"timezone": "Africa/Nairob"},
            "[providers.lipalater] timezone 'Africa/Nairob' is no IANA time zone",
        ),
        ("lipalater", {"country_id": "KE"}, "[providers.lipalater] country_id must be a number"),
    ],
)
def test_a_providers_own_setting_of_the_wrong_kind_is_named(
    name: str, change: dict[str, Any], message: str
) -> None:
    """These were converted bare (int(), ZoneInfo()): a traceback, the key unnamed."""
    section = {
        "base_url": "http://127.0.0.1:9",
        "token": "static-token-1",
        "app_secret": "app-secret-1",
    }
    if name == "akinon":
        section.pop("app_secret")
    assert provider_refusal(section | change, name).startswith(message)
