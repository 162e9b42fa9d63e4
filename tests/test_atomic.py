"""Outputs appear complete or not at all."""

import pytest

from translate.atomic import atomic_directory, atomic_file


def test_directory_appears_only_when_complete(tmp_path):
    target = tmp_path / "corpus"
    with atomic_directory(target) as staging:
        (staging / "train.tsv").write_text("a\tb\n")
        assert not target.exists(), "nothing visible while writing"
    assert (target / "train.tsv").read_text() == "a\tb\n"
    assert [p.name for p in tmp_path.iterdir()] == ["corpus"], "no leftovers"


def test_failed_write_leaves_nothing_and_keeps_the_old_version(tmp_path):
    target = tmp_path / "corpus"
    target.mkdir()
    (target / "old").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_directory(target, overwrite=True) as staging:
            (staging / "new").write_text("half")
            raise RuntimeError("interrupted")
    assert [p.name for p in target.iterdir()] == ["old"]
    assert [p.name for p in tmp_path.iterdir()] == ["corpus"]


def test_existing_directory_is_not_overwritten_unless_asked(tmp_path):
    target = tmp_path / "corpus"
    target.mkdir()
    with pytest.raises(FileExistsError, match="corpus"):
        with atomic_directory(target):
            pass
    with atomic_directory(target, overwrite=True) as staging:
        (staging / "new").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new"]


def test_atomic_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_file(target, encoding="utf-8") as f:
            f.write("partial")
            raise KeyboardInterrupt
    assert target.read_text() == "old"
    with atomic_file(target, encoding="utf-8") as f:
        f.write("new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_outputs_are_readable_by_other_users(tmp_path):
    with atomic_directory(tmp_path / "export") as staging:
        with atomic_file(staging / "model", mode="wb") as f:
            f.write(b"x")
    assert (tmp_path / "export").stat().st_mode & 0o055 == 0o055
    assert (tmp_path / "export" / "model").stat().st_mode & 0o044 == 0o044


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    target = tmp_path / "catalog.po"
    target.write_text("old")
    target.chmod(0o600)
    with atomic_file(target, encoding="utf-8") as f:
        f.write("new")
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o600
