"""Batch output names: stable across runs, never shared by two inputs."""

from __future__ import annotations

from pathlib import Path

from yuyin.batch import output_stems


def test_same_base_name_in_different_folders_gets_different_names(tmp_path):
    stems = output_stems(["/data/a/talk.wav", "/data/b/talk.wav"], tmp_path)
    a, b = stems["/data/a/talk.wav"], stems["/data/b/talk.wav"]
    assert a != b
    assert a.parent == b.parent == tmp_path
    assert a.name.startswith("talk-")
    assert b.name.startswith("talk-")


def test_names_do_not_depend_on_the_other_inputs(tmp_path):
    alone = output_stems(["/data/b/talk.wav"], tmp_path)
    many = output_stems(["/x/y.mp3", "/data/a/talk.wav", "/data/b/talk.wav"], tmp_path)
    assert alone["/data/b/talk.wav"] == many["/data/b/talk.wav"]


def test_urls_and_odd_names_give_safe_file_names(tmp_path):
    stems = output_stems(
        ["https://example.com/pod/ep 1.mp3?x=1", "/data/..wav", "/data/a:b*c.wav"], Path("out")
    )
    names = [s.name for s in stems.values()]
    assert names[0].startswith("ep_1-")
    assert names[1].startswith("input-")
    assert names[2].startswith("a_b_c-")
    assert all("/" not in n and not n.startswith(".") for n in names)


def test_a_youtube_video_is_named_by_its_id():
    key = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    assert output_stems([key], Path("out"))[key].name.startswith("dQw4w9WgXcQ-")


def test_repeated_keys_are_planned_once(tmp_path):
    assert len(output_stems(["/a.wav", "/a.wav"], tmp_path)) == 1
