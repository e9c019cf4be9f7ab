"""NamespaceIndex: registration, lookup, indirect keys, prefixes and fuzzy search."""

from __future__ import annotations

import math

import pytest

from xobj_prototype import (
    FuzzyField,
    FuzzyMatch,
    NamespaceIndex,
    XConflictError,
    XError,
    XNotFoundError,
    XObjPrototype,
    XValidationError,
    segment_for,
    validate_path,
)

# -- registration -----------------------------------------------------------------------------


def test_register_then_get_returns_the_same_object() -> None:
    idx: NamespaceIndex[object] = NamespaceIndex()
    value = object()
    idx.register("ns.things.one", value)
    assert idx.get("ns.things.one") is value
    assert "ns.things.one" in idx
    assert len(idx) == 1


def test_duplicate_registration_is_a_conflict_and_keeps_the_first_value() -> None:
    idx: NamespaceIndex[int] = NamespaceIndex()
    idx.register("ns.a.b", 1)
    with pytest.raises(XConflictError) as info:
        idx.register("ns.a.b", 2)
    assert "ns.a.b" in str(info.value)
    assert "override=True" in str(info.value)
    assert info.value.details == {"path": "ns.a.b"}
    assert idx.get("ns.a.b") == 1
    assert len(idx) == 1
    assert idx.glob("ns.*") == ["ns.a.b"]


def test_override_replaces_the_value_without_duplicating_the_path() -> None:
    idx: NamespaceIndex[int] = NamespaceIndex()
    idx.register("ns.a.b", 1)
    idx.register("ns.a.b", 2, override=True)
    assert idx.get("ns.a.b") == 2
    assert len(idx) == 1
    assert list(idx) == ["ns.a.b"]
    assert idx.glob("*.b") == ["ns.a.b"]
    assert idx.glob("ns.*.b") == ["ns.a.b"]


def test_override_on_a_new_path_just_registers() -> None:
    idx: NamespaceIndex[int] = NamespaceIndex()
    idx.register("ns.a", 1, override=True)
    assert idx.get("ns.a") == 1


def test_conflict_is_an_xerror_for_callers_that_catch_the_root() -> None:
    idx: NamespaceIndex[int] = NamespaceIndex()
    idx.register("ns.a", 1)
    with pytest.raises(XError):
        idx.register("ns.a", 1)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "ns..a",
        ".ns",
        "ns.",
        "ns a",
        "ns.a\u200bb",
        "ns.a·b",
        "ns.-a",
        "ns.a\tb",
        None,
        12,
        ("ns",),
    ],
)
def test_register_rejects_malformed_paths_and_stores_nothing(path: object) -> None:
    idx: NamespaceIndex[int] = NamespaceIndex()
    with pytest.raises(XValidationError):
        idx.register(path, 1)  # type: ignore[arg-type]
    assert len(idx) == 0
    assert idx.glob("*") == []


@pytest.mark.parametrize(
    "path", ["ns.models.Käufer", "ns.заказы.строки", "ns.表.列", "ns.ÉTÉ-2024", "ns.straße_1"]
)
def test_letters_of_any_script_make_a_segment(path: str) -> None:
    """Table and collection names are not ASCII everywhere; their models live in the index."""
    idx: NamespaceIndex[int] = NamespaceIndex()
    idx.register(path, 1)
    assert idx.get(path) == 1
    assert idx.glob(path.rsplit(".", 1)[0] + ".*") == [path]


@pytest.mark.parametrize(
    ("outside", "segment"),
    [
        ("order items", "order_items"),
        ("logs.2024", "logs_2024"),
        ("  Käufer (alt).csv ", "Käufer_alt_csv"),
        ("-leading", "_-leading"),
        ("...", "unnamed"),
        ("", "unnamed"),
        ("a\x00b\u200bc", "a_b_c"),
        ("заказы", "заказы"),
    ],
)
def test_segment_for_turns_outside_names_into_segments(outside: str, segment: str) -> None:
    assert segment_for(outside) == segment
    validate_path(f"ns.{segment_for(outside)}")


class _Broken:
    def get_fuzzy_text(self) -> str:
        raise RuntimeError("cannot describe myself")


def test_a_value_that_fails_to_describe_itself_leaves_the_index_untouched() -> None:
    idx: NamespaceIndex[object] = NamespaceIndex()
    with pytest.raises(RuntimeError, match="describe"):
        idx.register("ns.broken", _Broken())
    assert "ns.broken" not in idx
    assert len(idx) == 0
    assert idx.glob("*") == []
    assert idx.glob("ns.*.x") == []
    idx.register("ns.broken", "fine now")
    assert idx.glob("*") == ["ns.broken"]


def test_unregister_returns_the_value_and_forgets_the_path(index: NamespaceIndex[str]) -> None:
    before = len(index)
    assert index.unregister("ns.models.user.User") == "User"
    assert "ns.models.user.User" not in index
    assert len(index) == before - 1
    assert "ns.models.user.User" not in index.glob("ns.models.*")
    assert "ns.models.user.User" not in index.glob("ns.*.user.*")
    assert "ns.models.user.User" not in index.glob("*User")
    with pytest.raises(XNotFoundError):
        index.get("ns.models.user.User")
    # ...and it can be registered again.
    index.register("ns.models.user.User", "again")
    assert index.get("ns.models.user.User") == "again"


def test_unregister_keeps_shared_segments_of_other_paths(index: NamespaceIndex[str]) -> None:
    index.unregister("ns.models.users.User")
    assert index.glob("ns.*.User") == ["ns.models.user.User"]
    assert index.glob("ns.*.user.*") == ["ns.models.user.User"]


def test_unregister_of_a_missing_path_is_not_found(index: NamespaceIndex[str]) -> None:
    with pytest.raises(XNotFoundError):
        index.unregister("ns.models.nobody.Nobody")
    assert len(index) == 13


def test_unregister_rejects_malformed_paths(index: NamespaceIndex[str]) -> None:
    with pytest.raises(XValidationError):
        index.unregister("ns..models")


# -- indirect keys ----------------------------------------------------------------------------
def test_indirect_key_resolves_to_the_path_and_the_value(index: NamespaceIndex[str]) -> None:
    index.register_indirect("user-42", "ns.models.user.User")
    assert index.resolve("user-42") == "ns.models.user.User"
    assert index.get_by_key("user-42") == "User"


def test_unregister_removes_every_indirect_key_of_the_path(index: NamespaceIndex[str]) -> None:
    index.register_indirect("a", "ns.models.user.User")
    index.register_indirect("b", "ns.models.user.User")
    index.register_indirect("c", "ns.models.users.User")
    index.unregister("ns.models.user.User")
    for key in ("a", "b"):
        with pytest.raises(XNotFoundError, match=repr(key)):
            index.resolve(key)
    assert index.resolve("c") == "ns.models.users.User"


def test_indirect_key_can_be_repointed(index: NamespaceIndex[str]) -> None:
    index.register_indirect("current", "ns.models.user.User")
    index.register_indirect("current", "ns.models.users.User")
    assert index.resolve("current") == "ns.models.users.User"


def test_indirect_key_to_a_missing_path_is_not_found(index: NamespaceIndex[str]) -> None:
    with pytest.raises(XNotFoundError):
        index.register_indirect("k", "ns.models.nobody.Nobody")
    with pytest.raises(XNotFoundError):
        index.resolve("k")


@pytest.mark.parametrize("key", ["", "   ", None, 1, b"k"])
def test_indirect_key_must_be_a_non_empty_string(index: NamespaceIndex[str], key: object) -> None:
    with pytest.raises(XValidationError, match="indirect key"):
        index.register_indirect(key, "ns.models.user.User")  # type: ignore[arg-type]


def test_indirect_key_to_a_malformed_path_is_invalid(index: NamespaceIndex[str]) -> None:
    with pytest.raises(XValidationError):
        index.register_indirect("k", "ns..models")


def test_resolving_an_unknown_key_says_how_to_register_it(index: NamespaceIndex[str]) -> None:
    with pytest.raises(XNotFoundError, match="register_indirect") as info:
        index.get_by_key("nope")
    assert info.value.details == {"key": "nope"}


def test_resolve_rejects_non_string_keys(index: NamespaceIndex[str]) -> None:
    with pytest.raises(XValidationError):
        index.resolve(["k"])  # type: ignore[arg-type]


# -- lookup -----------------------------------------------------------------------------------
def test_not_found_suggests_close_siblings(index: NamespaceIndex[str]) -> None:
    with pytest.raises(XNotFoundError) as info:
        index.get("ns.functions.math.basic.ad")
    err = info.value
    assert "ns.functions.math.basic.ad" in str(err)
    assert "did you mean" in str(err)
    assert err.details["suggestions"][0] == "ns.functions.math.basic.add"
    assert err.details["path"] == "ns.functions.math.basic.ad"


def test_not_found_suggests_across_a_misspelled_parent(index: NamespaceIndex[str]) -> None:
    with pytest.raises(XNotFoundError) as info:
        index.get("ns.functions.mth.basic.add")
    assert "ns.functions.math.basic.add" in info.value.details["suggestions"]


def test_not_found_without_anything_similar_says_so() -> None:
    idx: NamespaceIndex[int] = NamespaceIndex()
    idx.register("ns.alpha", 1)
    with pytest.raises(XNotFoundError, match="nothing similar") as info:
        idx.get("zzzzzzzz")
    assert info.value.details["suggestions"] == []


def test_not_found_is_a_lookup_error(index: NamespaceIndex[str]) -> None:
    with pytest.raises(LookupError):
        index.get("ns.nothing.here")


@pytest.mark.parametrize("path", ["", "ns..x", "ns.x.", None, 5, ["ns"], {"a": 1}])
def test_get_rejects_malformed_paths(index: NamespaceIndex[str], path: object) -> None:
    with pytest.raises(XValidationError):
        index.get(path)  # type: ignore[arg-type]


def test_lookup_returns_the_default_for_a_missing_path(index: NamespaceIndex[str]) -> None:
    assert index.lookup("ns.models.user.User") == "User"
    assert index.lookup("ns.models.nobody.Nobody") is None
    assert index.lookup("ns.models.nobody.Nobody", "fallback") == "fallback"


@pytest.mark.parametrize("path", ["ns..x", "", None, 42, ["ns"], {"a": 1}])
def test_lookup_is_lenient_and_never_raises(index: NamespaceIndex[str], path: object) -> None:
    # Callers probe with whatever they were given (a bare name, user input); get() is strict.
    assert index.lookup(path, "fallback") == "fallback"  # type: ignore[arg-type]
    assert index.lookup(path) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("probe", [None, 1, ["ns"], {"ns": 1}, ("ns",), "ns..x"])
def test_contains_answers_false_for_anything_not_registered(
    index: NamespaceIndex[str], probe: object
) -> None:
    assert (probe in index) is False


def test_items_pairs_paths_with_values(index: NamespaceIndex[str]) -> None:
    assert index.items("ns.types.*") == [
        ("ns.types.geo.Coord", "Coord"),
        ("ns.types.geo.Zip", "Zip"),
    ]
    assert len(index.items()) == len(index)


def test_list_prefix_is_segment_aligned(index: NamespaceIndex[str]) -> None:
    assert index.list_prefix("ns.models.user") == ["ns.models.user.User"]
    assert index.list_prefix("ns.functions.math") == [
        "ns.functions.math.advanced.power",
        "ns.functions.math.basic.add",
        "ns.functions.math.basic.subtract",
    ]
    assert index.list_prefix("ns.models.user.User") == []  # the path itself is not "below"
    assert index.list_prefix("ns.nothing") == []


@pytest.mark.parametrize("prefix", ["", "ns.", "ns.*", None])
def test_list_prefix_rejects_malformed_prefixes(index: NamespaceIndex[str], prefix: object) -> None:
    with pytest.raises(XValidationError):
        index.list_prefix(prefix)  # type: ignore[arg-type]


def test_children_lists_distinct_next_segments(index: NamespaceIndex[str]) -> None:
    assert index.children("ns") == ["functions", "models", "types"]
    assert index.children("ns.functions.math") == ["advanced", "basic"]
    assert index.children("ns.types.geo") == ["Coord", "Zip"]
    assert index.children("ns.types.geo.Zip") == []
    index.register("ns.tables.order-items.Row", "Row")
    index.register("ns.tables.order.Row", "Row")
    assert index.children("ns.tables") == ["order", "order-items"]  # sorted by name, not by path
    with pytest.raises(XValidationError):
        index.children("ns..x")


def test_repr_shows_the_size_never_the_values() -> None:
    idx: NamespaceIndex[str] = NamespaceIndex()
    idx.register("ns.settings.db", "postgresql://app:hunter2@db/main")
    assert repr(idx) == "NamespaceIndex(1 entries)"
    assert "hunter2" not in repr(idx)


# -- fuzzy search -----------------------------------------------------------------------------
class Person(XObjPrototype):
    name: str = FuzzyField()
    email: str = FuzzyField()
    age: int = 0


@pytest.fixture
def people() -> NamespaceIndex[object]:
    idx: NamespaceIndex[object] = NamespaceIndex()
    idx.register("ns.fuzzy.users.u1", Person(name="John Doe", email="john@example.com", age=41))
    idx.register("ns.fuzzy.users.u2", Person(name="Jane Roe", email="jane@example.org"))
    idx.register("ns.fuzzy.users.u3", "Johanna Smith johanna@example.net")
    idx.register("ns.functions.text.format_date", len)
    idx.register("ns.models.Person", Person)  # a class: only its path is searched
    return idx


def test_fuzzy_substring_hits_score_one_and_sort_by_path(people: NamespaceIndex[object]) -> None:
    hits = people.fuzzy_search("example")
    assert [h.path for h in hits] == ["ns.fuzzy.users.u1", "ns.fuzzy.users.u2", "ns.fuzzy.users.u3"]
    assert all(h.score == 1.0 for h in hits)
    assert all(isinstance(h, FuzzyMatch) for h in hits)


def test_fuzzy_search_reads_fuzzy_fields_strings_and_paths(people: NamespaceIndex[object]) -> None:
    def exact(term: str) -> list[str]:
        return [h.path for h in people.fuzzy_search(term, cutoff=1.0)]

    assert exact("JOHN DOE") == ["ns.fuzzy.users.u1"]
    assert exact("johanna") == ["ns.fuzzy.users.u3"]
    assert exact("format_date") == ["ns.functions.text.format_date"]
    assert exact("person") == ["ns.models.Person"]
    # Below 1.0, "johanna" is also close to the word "john".
    assert [h.path for h in people.fuzzy_search("johanna")] == [
        "ns.fuzzy.users.u3",
        "ns.fuzzy.users.u1",
    ]
    # The age is not a fuzzy field.
    assert people.fuzzy_search("41", cutoff=1.0) == []


def test_fuzzy_search_ranks_close_words_below_exact_ones(people: NamespaceIndex[object]) -> None:
    hits = people.fuzzy_search("jonh", cutoff=0.5)
    assert hits, "a transposition must still be found"
    assert hits[0].path == "ns.fuzzy.users.u1"
    assert 0.5 <= hits[0].score < 1.0
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_fuzzy_cutoff_filters_weak_matches(people: NamespaceIndex[object]) -> None:
    loose = people.fuzzy_search("jonh", cutoff=0.3)
    strict = people.fuzzy_search("jonh", cutoff=0.95)
    assert len(loose) > len(strict)
    assert strict == []
    assert all(h.score >= 0.3 for h in loose)


def test_fuzzy_cutoff_zero_returns_everything_up_to_the_limit(
    people: NamespaceIndex[object],
) -> None:
    assert len(people.fuzzy_search("qqq", cutoff=0.0, limit=100)) == len(people)


def test_fuzzy_limit_truncates_after_sorting(people: NamespaceIndex[object]) -> None:
    hits = people.fuzzy_search("example", limit=2)
    assert [h.path for h in hits] == ["ns.fuzzy.users.u1", "ns.fuzzy.users.u2"]


def test_fuzzy_pattern_restricts_the_entries(people: NamespaceIndex[object]) -> None:
    assert [h.path for h in people.fuzzy_search("example", "ns.fuzzy.users.u?")] == [
        "ns.fuzzy.users.u1",
        "ns.fuzzy.users.u2",
        "ns.fuzzy.users.u3",
    ]
    assert people.fuzzy_search("example", "ns.models.*") == []


def test_fuzzy_term_is_trimmed(people: NamespaceIndex[object]) -> None:
    assert [h.path for h in people.fuzzy_search("  jane  ")] == ["ns.fuzzy.users.u2"]


def test_fuzzy_match_is_a_path_score_tuple() -> None:
    match = FuzzyMatch(("ns.a", 0.75))
    assert match.path == "ns.a"
    assert match.score == 0.75
    path, score = match
    assert (path, score) == ("ns.a", 0.75)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"term": ""}, "term"),
        ({"term": "   "}, "term"),
        ({"term": None}, "term"),
        ({"term": 3}, "term"),
        ({"term": "x", "limit": 0}, "limit"),
        ({"term": "x", "limit": -1}, "limit"),
        ({"term": "x", "limit": "5"}, "limit"),
        ({"term": "x", "limit": 2.5}, "limit"),
        ({"term": "x", "limit": True}, "limit"),
        ({"term": "x", "cutoff": 1.5}, "cutoff"),
        ({"term": "x", "cutoff": -0.1}, "cutoff"),
        ({"term": "x", "cutoff": math.nan}, "cutoff"),
        ({"term": "x", "cutoff": "0.5"}, "cutoff"),
        ({"term": "x", "pattern": ""}, "pattern"),
        ({"term": "x", "pattern": "ns. *"}, "pattern"),
    ],
)
def test_fuzzy_search_rejects_bad_arguments(
    people: NamespaceIndex[object], kwargs: dict[str, object], fragment: str
) -> None:
    with pytest.raises(XValidationError, match=fragment):
        people.fuzzy_search(**kwargs)  # type: ignore[arg-type]


def test_fuzzy_text_is_taken_at_registration(people: NamespaceIndex[object]) -> None:
    # The index stores what it read when the entry was registered; override=True refreshes it.
    person = Person(name="Old Name", email="old@example.com")
    people.register("ns.fuzzy.users.u9", person)
    person.name = "Brand New"
    assert people.fuzzy_search("brand") == []
    people.register("ns.fuzzy.users.u9", person, override=True)
    assert [h.path for h in people.fuzzy_search("brand")] == ["ns.fuzzy.users.u9"]
