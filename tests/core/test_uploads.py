import io
import stat
import zipfile
from pathlib import Path

import pytest

from geosite.core.uploads import ArchiveLimits, extract_archive, safe_filename
from geosite.errors import InvalidParameter


def _zip(path: Path, members: dict[str, bytes], *, link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def test_extracts_a_normal_archive(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", {"data/a.shp": b"x" * 100, "data/a.dbf": b"y"})
    out = extract_archive(archive, tmp_path / "out", ArchiveLimits())
    assert (out / "data" / "a.shp").read_bytes() == b"x" * 100


@pytest.mark.parametrize(
    "name", ["../evil.txt", "/abs/evil.txt", "a/../../evil.txt", "C:/evil.txt", "..\\evil.txt"]
)
def test_refuses_traversal(tmp_path: Path, name: str) -> None:
    archive = _zip(tmp_path / "a.zip", {name: b"x"})
    with pytest.raises(InvalidParameter):
        extract_archive(archive, tmp_path / "out", ArchiveLimits())
    assert not (tmp_path / "evil.txt").exists()


def test_refuses_links(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", {"a.txt": b"x"}, link="link")
    with pytest.raises(InvalidParameter):
        extract_archive(archive, tmp_path / "out", ArchiveLimits())


def test_refuses_bombs(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", {"zeros": b"\0" * 5_000_000})
    with pytest.raises(InvalidParameter, match="ratio"):
        extract_archive(archive, tmp_path / "out", ArchiveLimits())
    with pytest.raises(InvalidParameter, match="size"):
        extract_archive(
            archive, tmp_path / "out2", ArchiveLimits(max_total_bytes=1000, max_ratio=1e9)
        )


def test_refuses_too_many_members(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", {f"f{i}": b"x" for i in range(20)})
    with pytest.raises(InvalidParameter, match="members"):
        extract_archive(archive, tmp_path / "out", ArchiveLimits(max_members=10))


def test_not_a_zip(tmp_path: Path) -> None:
    (tmp_path / "a.zip").write_bytes(b"not a zip")
    with pytest.raises(InvalidParameter, match="zip"):
        extract_archive(tmp_path / "a.zip", tmp_path / "out", ArchiveLimits())


def test_counts_real_bytes_not_declared_sizes(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("big", b"x" * 5000)
    raw = bytearray(buffer.getvalue())
    # Lie in the central directory: claim the member is 10 bytes long.
    at = raw.rfind(b"PK\x01\x02")
    raw[at + 24 : at + 28] = (10).to_bytes(4, "little")
    (tmp_path / "liar.zip").write_bytes(bytes(raw))
    with pytest.raises(InvalidParameter):
        extract_archive(
            tmp_path / "liar.zip",
            tmp_path / "out",
            ArchiveLimits(max_total_bytes=1000, max_ratio=1e9),
        )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("nybb_16a.zip", "nybb_16a.zip"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\data set.zip", "data_set.zip"),
        ("<script>.zip", "script_.zip"),
        ("...", "upload"),
    ],
)
def test_safe_filename(given: str, expected: str) -> None:
    assert safe_filename(given) == expected
