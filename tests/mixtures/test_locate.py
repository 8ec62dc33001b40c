"""Mixture ids resolve from a unique prefix of 4+ characters; an ambiguous one lists the candidates."""

import pytest

from dataforge.core.errors import ForgeError
from mixtures import locate


@pytest.fixture
def registry(tmp_path):
    for name in ("3f2a" + "0" * 28, "3f2b" + "1" * 28, "3f2b" + "2" * 28):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text("{}")
    return tmp_path


def test_a_unique_four_character_prefix_resolves(registry):
    assert locate("3f2a", registry) == registry / ("3f2a" + "0" * 28)
    assert locate("3f2b1", registry) == registry / ("3f2b" + "1" * 28)


def test_an_ambiguous_prefix_is_one_line_listing_the_candidates(registry):
    with pytest.raises(ForgeError) as e:
        locate("3f2b", registry)
    line = str(e.value)
    assert "\n" not in line and "matches 2 mixtures" in line and "3f2b11111111" in line and "3f2b22222222" in line


def test_three_characters_are_not_a_prefix(registry):
    with pytest.raises(ForgeError, match="not found in registry"):
        locate("3f2", registry)
