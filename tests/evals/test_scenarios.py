"""Loading suites: the shipped ones are valid; broken files fail with one clear message."""

import pytest

from errors import UserError
from evals.scenarios import FAMILIES, load_suite, suite_names

FIXTURE = """
fixtures:
  shop: {slug: shop, documents: [{name: a.md, text: "# A"}]}
"""


def write(root, name, text, shared=FIXTURE):
    (root / "_shared").mkdir(exist_ok=True)
    (root / "_shared" / "f.yaml").write_text(shared)
    (root / name).mkdir(exist_ok=True)
    (root / name / "s.yaml").write_text(text)


def test_shipped_suites_load_and_cover_every_family():
    assert {"smoke", "full"} <= set(suite_names())
    for name in ("smoke", "full"):
        suite = load_suite(name)
        assert {s.family for s in suite.scenarios} == set(FAMILIES)
        assert any(s.required for s in suite.scenarios)
    smoke = load_suite("smoke")
    assert 10 <= len(smoke.scenarios) <= 14
    full = load_suite("full")
    assert len(full.scenarios) > len(smoke.scenarios)
    assert {t.slug for t in full.fixtures.values()} >= {"clinic", "padaria", "praxis", "studio"}


def test_a_minimal_suite_loads(tmp_path):
    write(tmp_path, "mini", "scenarios:\n  - {id: a, family: faq, tenant: shop, turns: [{text: hi}]}\n")
    suite = load_suite("mini", tmp_path)
    assert suite.scenarios[0].id == "a" and suite.tenant("shop").slug == "shop"
    assert suite_names(tmp_path) == ["mini"]  # _shared is not a suite


def test_a_suite_file_of_ones_own_loads_by_path(tmp_path):
    own = tmp_path / "my-clinic.yaml"
    own.write_text("scenarios:\n  - {id: mine, family: faq, tenant: {slug: self}, turns: [{text: hi}]}\n")
    suite = load_suite(str(own))
    assert [s.id for s in suite.scenarios] == ["mine"] and "clinic" in suite.fixtures  # shared fixtures too
    with pytest.raises(UserError, match="no suite file"):
        load_suite(str(tmp_path / "missing.yaml"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("scenarios:\n  - {id: a, family: faq\n", "line"),
        ("scenarios:\n  - {id: a, family: nope, tenant: shop, turns: [{text: hi}]}\n", "family"),
        ("scenarios:\n  - {id: a, family: faq, tenant: shop, turns: [{text: hi}], colour: red}\n", "colour"),
        (
            "scenarios:\n  - {id: a, family: faq, tenant: ghost, turns: [{text: hi}]}\n",
            "unknown tenant fixture 'ghost'",
        ),
        (
            "scenarios:\n  - {id: a, family: faq, tenant: shop, turns: [{}]}\n",
            "exactly one of 'text' or 'texts'",
        ),
        ("scenarios:\n  - {id: a, family: faq, tenant: shop}\n", "needs 'turns'"),
        ("scenarios:\n  - {id: a, family: window, tenant: shop, turns: [{text: hi}]}\n", "'window' block"),
        (
            "scenarios:\n  - {id: a, family: faq, tenant: shop, turns: [{text: hi}]}\n"
            "  - {id: a, family: faq, tenant: shop, turns: [{text: hi}]}\n",
            "used twice",
        ),
        (
            "scenarios:\n  - {id: a, family: faq, tenant: shop, other_tenants: [shop], turns: [{text: hi}]}\n",
            "share a slug",
        ),
        (
            "scenarios:\n  - {id: a, family: faq, tenant: shop, turns: [{text: hi}], simulator: {rules: [{reply: x}]}}\n",
            "pattern",
        ),
        ("- just a list\n", "expected a mapping"),
        ("scenarios: []\n", "no scenarios"),
    ],
)
def test_broken_suites_fail_with_a_clear_message(tmp_path, text, message):
    write(tmp_path, "bad", text)
    with pytest.raises(UserError, match=message) as info:
        load_suite("bad", tmp_path)
    assert "\n" not in str(info.value)


def test_unknown_suite_names_the_known_ones(tmp_path):
    write(tmp_path, "mini", "scenarios:\n  - {id: a, family: faq, tenant: shop, turns: [{text: hi}]}\n")
    with pytest.raises(UserError, match=r"unknown suite 'nope' \(known: mini\)"):
        load_suite("nope", tmp_path)
    with pytest.raises(UserError, match="unknown suite"):
        load_suite("_shared", tmp_path)


def test_select_by_id_prefix():
    suite = load_suite("smoke").select(["handoff-"])
    assert suite.scenarios and all(s.family == "handoff" for s in suite.scenarios)
    with pytest.raises(UserError, match="no scenario"):
        load_suite("smoke").select(["zzz"])
