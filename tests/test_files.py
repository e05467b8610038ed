"""Writing outputs: nothing of the user's is lost, replaced by the wrong kind of thing, or
left half-written (capplan.files)."""

from __future__ import annotations

import os
import stat

import pytest

from capplan.errors import OutputError
from capplan.files import inside, write_text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old")

    def refuse(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OutputError, match="No space left"):
        write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_a_device_is_written_in_place_not_replaced(tmp_path):
    write_text("/dev/null", "anything")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_text(fifo, "through the pipe")
        assert os.read(reader, 100) == b"through the pipe"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_an_existing_files_mode_is_kept_and_a_new_one_follows_the_umask(tmp_path):
    old = tmp_path / "old.json"
    old.write_text("x")
    os.chmod(old, 0o640)
    write_text(old, "y")
    assert stat.S_IMODE(os.stat(old).st_mode) == 0o640
    mask = os.umask(0o027)
    try:
        write_text(tmp_path / "new.json", "z")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o640


def test_dash_is_standard_output(capsys):
    write_text("-", "to stdout\n")
    assert capsys.readouterr().out == "to stdout\n"


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(OutputError, match="is a folder"):
        write_text(tmp_path, "x")


def test_names_from_a_scenario_stay_inside_the_chosen_folder(tmp_path):
    assert inside(tmp_path, "api-deployment.yaml") == tmp_path / "api-deployment.yaml"
    for bad in ("../../elsewhere/victim.yaml", "/etc/passwd", "sub/x.yaml"):
        with pytest.raises(OutputError, match="outside"):
            inside(tmp_path, bad)
