"""GraphiQL served from this gateway, not from a CDN, when its assets have been vendored.

Strawberry's GraphiQL page loads React, GraphiQL and its explorer plugin from unpkg.com. A
machine without internet (CI, a locked-down network) then shows "Loading..." forever. The
page's own URLs name the exact npm packages and files, with their SRI hashes, so
``commerce-graph vendor-graphiql`` fetches those packages with ``npm pack`` (the npm registry,
not the CDN), checks each file against the hash the page pins, and stores it under
``graph/static/graphiql/``; the page is then served with local URLs (the hashes still apply).
Without vendored assets the page falls back to the CDN, as strawberry ships it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import tarfile
import tempfile
from functools import cache
from pathlib import Path

from strawberry.http.ides import get_graphql_ide_html

ASSET_DIR = Path(__file__).parent / "static" / "graphiql"
URL_PREFIX = "/graphiql"
_ASSET = re.compile(
    r'(?:src|href)="https://unpkg\.com/((?:@[^/"]+/)?[^/@"]+@[^/"]+)/([^"]+)"\s*integrity="([^"]+)"'
)


def assets(html: str) -> list[tuple[str, str, str]]:
    """(package@version, file in the package, SRI integrity) for each CDN asset of the page."""
    return [(m.group(1), m.group(2), m.group(3)) for m in _ASSET.finditer(html)]


def _local(spec: str, path: str, directory: Path) -> Path:
    return directory / spec / path


@cache
def page(directory: Path = ASSET_DIR) -> str:
    """Strawberry's GraphiQL page, each asset pointed at the local copy where there is one."""
    html = get_graphql_ide_html(graphql_ide="graphiql")
    for spec, path, _ in assets(html):
        if _local(spec, path, directory).is_file():
            html = html.replace(f"https://unpkg.com/{spec}/{path}", f"{URL_PREFIX}/{spec}/{path}")
    return html


def vendored(directory: Path = ASSET_DIR) -> bool:
    html = get_graphql_ide_html(graphql_ide="graphiql")
    return all(_local(s, p, directory).is_file() for s, p, _ in assets(html))


def _check(data: bytes, integrity: str) -> bool:
    algorithm, _, expected = integrity.partition("-")
    return base64.b64encode(hashlib.new(algorithm, data).digest()).decode() == expected


def vendor(directory: Path = ASSET_DIR) -> list[Path]:
    """Fetch the page's assets with ``npm pack`` into ``directory``; answer the files written."""
    html = get_graphql_ide_html(graphql_ide="graphiql")
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec, path, integrity in assets(html):
            target = _local(spec, path, directory)
            if target.is_file() and _check(target.read_bytes(), integrity):
                written.append(target)
                continue
            packed = (
                subprocess.run(
                    ["npm", "pack", "--silent", "--pack-destination", tmp, spec],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            with tarfile.open(Path(tmp) / packed) as tar:
                member = tar.extractfile(f"package/{path}")
                if member is None:
                    raise RuntimeError(f"{spec} has no {path}")
                data = member.read()
            if not _check(data, integrity):
                raise RuntimeError(f"{spec}/{path} does not match the page's {integrity}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written.append(target)
    page.cache_clear()
    return written
