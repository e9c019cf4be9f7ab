"""``render_report``: the page holds every statistic it is given, escapes every value, draws one
bar per histogram bin with its count, says "not computed" for what a backend did not compute,
and allows itself no fetch and no script but its own."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from xinspector import (
    DataQuality,
    FieldStatistics,
    HistogramBin,
    InspectionResult,
    ValueCount,
    render_report,
)
from xinspector.report._format import display


class Page(HTMLParser):
    """The parsed page: every start tag with its attributes, the text, the script bodies."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.chunks: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.chunks).append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.tags
            if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def section_of(self, html: str, name: str) -> Page:
        """The parsed section of field ``name`` (sections are siblings: cut at the next)."""
        for i, (tag, attrs) in enumerate(self.tags):
            if tag == "section" and attrs.get("data-field") == name:
                index = sum(1 for t, a in self.tags[:i] if t == "section" and "data-field" in a)
                parts = re.split(r'(?=<section class="field[ "])', html)
                return Page(parts[index + 1].split("</section>")[0])
        raise AssertionError(f"no section for {name!r}")


def result_of(*fields: FieldStatistics, total: int | None = None) -> InspectionResult:
    return InspectionResult.build(
        model_name="Hostile",
        source="csv 'hostile.csv'",
        collection="hostile",
        schema={},
        total_count=total if total is not None else max((f.count for f in fields), default=0),
        fields={f.name: f for f in fields},
        sample_data=[],
        pushdown=False,
        duration_seconds=0.25,
    )


HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</td></tr></table><h1>x</h1>",
    "a & b &amp; c",
    "Zürich 東京 🚀 مرحبا",
    "tab\there",
    "  padded  ",
]


def test_hostile_names_and_values_render_as_text() -> None:
    fields = [
        FieldStatistics(
            name=name,
            type="str",
            count=10,
            unique_count=3,
            top_values=[ValueCount(value=v, count=3) for v in HOSTILE],
            min=name,
            max=HOSTILE[1],
        )
        for name in HOSTILE
    ]
    html = render_report(result_of(*fields), title="<b>title</b>")
    page = Page(html)
    # Only the page's own tags: no injected img, h1, b or second script.
    assert {t for t, _ in page.tags} <= {
        "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p", "span",
        "section", "ul", "li", "a", "table", "tr", "th", "td", "caption", "main", "input",
        "div", "dl", "dt", "dd", "figure", "figcaption", "svg", "rect", "text",
        "line", "footer", "script",
    }  # fmt: skip
    assert len(page.find("h1")) == 1
    assert not page.find("img")
    assert not page.find("b")
    assert len(page.find("script")) == 1
    # Each hostile text is in the page as text, once per place it belongs.
    for value in HOSTILE:
        assert value.strip() in page.text
    assert "<b>title</b>" in page.text
    assert [a["data-field"] for a in page.find("section")[1:]] == HOSTILE


def test_control_characters_and_lone_surrogates_are_visible_escapes() -> None:
    fs = FieldStatistics(
        name="raw\x00name",
        type="str",
        count=3,
        top_values=[ValueCount(value="nul\x00 bell\x07 esc\x1b[31m", count=2),
                    ValueCount(value="half \ud800 surrogate", count=1)],
    )  # fmt: skip
    html = render_report(result_of(fs))
    html.encode("utf-8")  # a lone surrogate would make the page unwritable
    text = Page(html).text
    assert "raw\\x00name" in text
    assert "nul\\x00 bell\\x07 esc\\x1b[31m" in text
    assert "half \\ud800 surrogate" in text
    assert "\x00" not in html
    assert "\x1b" not in html


def test_empty_and_blank_strings_and_nulls_are_named() -> None:
    fs = FieldStatistics(
        name="note",
        type="str",
        count=6,
        null_count=1,
        top_values=[
            ValueCount(value="", count=2),
            ValueCount(value="   ", count=2),
            ValueCount(value=None, count=1),
        ],
        min_length=0,
        max_length=3,
    )
    section = Page(render_report(result_of(fs)))
    assert "(empty string)" in section.text
    assert "(3 blank character(s))" in section.text
    assert "null" in section.text


def _bins(counts: list[int], lower: float = 0.0, width: float = 1.5) -> list[HistogramBin]:
    return [
        HistogramBin(lower=lower + i * width, upper=lower + (i + 1) * width, count=c)
        for i, c in enumerate(counts)
    ]


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=60))
def test_one_bar_per_bin_with_its_count(counts: list[int]) -> None:
    fs = FieldStatistics(
        name="amount", type="float", count=sum(counts), histogram=_bins(counts, -3.0)
    )
    html = render_report(result_of(fs))
    bars = Page(html).find("rect", **{"class": "bar"})
    assert [int(b["data-count"] or -1) for b in bars] == counts
    heights = [float(b["height"] or -1) for b in bars]
    peak = max(counts)
    # Heights are proportional to counts; the tallest bar fills the plot, empty bins are flat.
    for count, height in zip(counts, heights, strict=True):
        if peak == 0 or count == 0:
            assert height == 0
        else:
            assert height == pytest.approx(count / peak * max(heights), abs=0.11)
    assert float(bars[0]["data-lower"] or "nan") == -3.0
    assert float(bars[-1]["data-upper"] or "nan") == pytest.approx(-3.0 + 1.5 * len(counts))


def test_bar_tooltips_say_the_bin_and_its_count() -> None:
    fs = FieldStatistics(name="n", type="int", count=1_234_570, histogram=_bins([1_234_567, 3]))
    titles = re.findall(r"<rect[^>]*><title>([^<]*)</title>", render_report(result_of(fs)))
    assert titles == ["[0, 1.5): 1,234,567", "[1.5, 3]: 3"]


def test_temporal_quantiles_and_histogram() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    fs = FieldStatistics(
        name="at",
        type="datetime",
        count=5,
        min=start,
        max=datetime(2024, 12, 31, 23, 59, tzinfo=UTC),
        quantiles={"p5": start, "p25": "2024-03-01T00:00:00+00:00", "p50": date(2024, 6, 1),
                   "p75": "2024-09-01T00:00:00+00:00", "p95": "2024-12-01T00:00:00+00:00"},
        quantiles_exact=False,
        histogram=[HistogramBin(lower="2024-01-01T00:00:00+00:00",
                                upper="2024-07-01T00:00:00+00:00", count=3),
                   HistogramBin(lower="2024-07-01T00:00:00+00:00",
                                upper="2024-12-31T23:59:00+00:00", count=2)],
    )  # fmt: skip
    html = render_report(result_of(fs))
    page = Page(html)
    cells = {a["data-quantile"] for a in page.find("td") if a.get("data-quantile")}
    assert cells == {"p5", "p25", "p50", "p75", "p95"}
    assert "2024-01-01T00:00:00+00:00" in page.text
    assert "2024-06-01" in page.text
    assert "approximate" in page.text
    assert "2024-01-01 00:00" in page.text  # axis label shortened to the minute
    assert [b["data-count"] for b in page.find("rect", **{"class": "bar"})] == ["3", "2"]


def test_what_a_backend_did_not_compute_reads_not_computed() -> None:
    fields = [
        FieldStatistics(name="price", type="Decimal", count=4, mean=2.5),
        FieldStatistics(name="when", type="date | None", count=4),
        FieldStatistics(name="label", type="str", count=4, min_length=1, max_length=9),
        FieldStatistics(name="flag", type="bool", count=4),
    ]
    html = render_report(result_of(*fields))
    page = Page(html)
    missing = {}
    for fs in fields:
        section = page.section_of(html, fs.name)
        missing[fs.name] = sorted(
            a["data-missing"] or "" for a in section.find("p") if "data-missing" in a
        )
    assert missing == {
        "price": ["Histogram", "Quantiles"],
        "when": ["Histogram", "Quantiles"],
        "label": ["String lengths"],
        "flag": [],
    }
    assert not page.find("rect")


def test_every_statistic_is_on_the_page() -> None:
    fs = FieldStatistics(
        name="fare",
        type="Decimal",
        count=1000,
        null_count=250,
        unique_count=12,
        unique_exact=False,
        min=Decimal("-1E+40"),
        max=10**30,
        mean=1e-300,
        stddev=float("nan"),
        quantiles={"p5": -1.5, "p25": 0, "p50": Decimal("2.50"), "p75": 7, "p95": 1e21},
        histogram=_bins([1, 2, 3]),
        top_values=[ValueCount(value=Decimal("7.25"), count=43), ValueCount(value=8, count=1)],
        quality=DataQuality(completeness=0.75, uniqueness=0.016, validity=1.0, consistency=1.0),
    )
    page = Page(render_report(result_of(fs)))
    facts = dict(
        zip(
            [a["data-fact"] for a in page.find("dd")],
            re.findall(r'<dd data-fact="[^"]*">(.*?)</dd>', render_report(result_of(fs))),
            strict=True,
        )
    )
    assert facts["records"] == "1,000"
    assert facts["nulls"] == "250 (25.0%)"
    assert facts["distinct"] == "~12"  # estimated
    assert facts["min"] == "-1E+40"
    assert facts["max"] == "1000000000000000000000000000000"
    assert facts["mean"] == "1e-300"
    assert facts["std. dev."] == "NaN"
    for shown in ("-1.5", "2.50", "1e+21", "7.25", "43", "75.0%", "1.6%"):
        assert shown in page.text


def test_a_json_dump_renders_like_the_result() -> None:
    fs = FieldStatistics(
        name="at",
        type="datetime",
        count=2,
        min=datetime(2020, 1, 1, 12, 0),
        histogram=_bins([1, 1]),
        top_values=[ValueCount(value="x", count=1)],
    )
    result = result_of(fs)
    from_json = render_report(result.model_dump(mode="json", by_alias=True))
    direct = render_report(result)
    assert Page(from_json).text == Page(direct).text


@pytest.mark.parametrize(
    ("given", "error", "says"),
    [
        (None, TypeError, "got NoneType"),
        ("report.json", TypeError, "got str"),
        ({"source": "x"}, ValueError, "model_name"),
        ({"model_name": "M", "source": "s", "total_count": "many"}, ValueError, "total_count"),
        (
            {"model_name": "M", "source": "s", "field_statistics": {"a": {"count": 1}}},
            ValueError,
            "field_statistics.a.name",
        ),
    ],
)
def test_bad_input_is_named(given: Any, error: type[Exception], says: str) -> None:
    with pytest.raises(error, match=re.escape(says)):
        render_report(given)


def test_title_must_be_text() -> None:
    with pytest.raises(TypeError, match="title must be text"):
        render_report(result_of(), title=3)  # type: ignore[arg-type]


def test_the_page_fetches_nothing_and_runs_only_its_own_script() -> None:
    fs = FieldStatistics(
        name="url",
        type="str",
        count=2,
        top_values=[ValueCount(value="https://example.org/x.png", count=2)],
    )
    html = render_report(result_of(fs))
    page = Page(html)
    csp = next(a["content"] for a in page.find("meta") if a.get("http-equiv"))
    assert csp is not None
    assert "default-src 'none'" in csp
    script = "".join(page.scripts)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    # No attribute loads anything: links stay inside the page.
    for tag, attrs in page.tags:
        assert "src" not in attrs, tag
        if "href" in attrs:
            assert (attrs["href"] or "").startswith("#"), attrs
    assert "https://example.org/x.png" in page.text


def test_an_empty_inspection_renders_with_its_alert() -> None:
    page = Page(render_report(result_of(total=0)))
    assert [a["data-kind"] for a in page.find("li")] == ["no_rows"]
    assert "0 records" in page.text


def _secret_field(name: str) -> FieldStatistics:
    return FieldStatistics(
        name=name,
        type="str",
        count=40,
        null_count=2,
        unique_count=1,
        min="tok-SECRET-1",
        max="tok-SECRET-1",
        top_values=[ValueCount(value="tok-SECRET-1", count=38)],
        length_histogram=_bins([38]),
    )


@pytest.mark.parametrize("name", ["api_token", "db_password", "X-Api-Key", "session_key"])
def test_values_of_secret_looking_fields_are_masked(name: str) -> None:
    result = result_of(_secret_field(name), FieldStatistics(name="author", type="str", count=40))
    html = render_report(result)
    assert "tok-SECRET-1" not in html  # not in values, alerts ('constant') or tooltips
    page = Page(html)
    masked = page.section_of(html, name)
    assert "Values masked" in masked.text
    assert not masked.find("rect")
    facts = [a["data-fact"] for a in masked.find("dd")]
    assert facts == ["records", "nulls", "distinct"]
    assert "every value is the same" in masked.text  # the alert, without the value
    assert "Values masked" not in page.section_of(html, "author").text
    # Asked for, the values are there.
    assert "tok-SECRET-1" in render_report(result, mask_secrets=False)


def test_long_values_are_shortened_with_the_whole_value_in_the_tooltip() -> None:
    long = "Zürich " * 30
    fs = FieldStatistics(
        name="city", type="str", count=2, top_values=[ValueCount(value=long, count=2)]
    )
    html = render_report(result_of(fs))
    shown = re.search(r'<td class="value"><span title="([^"]*)">([^<]*)</span>', html)
    assert shown is not None
    assert shown[1] == long  # the whole value, its trailing space included
    assert len(shown[2]) == 80
    assert shown[2].endswith("…")


ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p", "span",
    "section", "ul", "li", "a", "table", "tr", "th", "td", "caption", "main", "input", "div",
    "dl", "dt", "dd", "figure", "figcaption", "svg", "rect", "text", "line", "footer", "script",
}  # fmt: skip
hostile_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("<>&\"'/=`;:!-[]{}()\\ \t\n\r\x00\x07\x1b\x85\u2028\ufeff")),
        st.characters(codec="utf-8"),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=80, deadline=None)
@given(
    names=st.lists(hostile_text, min_size=1, max_size=4, unique=True),
    values=st.lists(
        st.one_of(hostile_text, st.integers(), st.floats(allow_nan=True), st.none()), max_size=6
    ),
)
# Found: 48 characters whose display (control characters spelled out) passes the 80 shown.
@example(names=["n"], values=["0" * 37 + "\x1f" * 9 + "\x08" * 2])
def test_any_text_stays_text(names: list[str], values: list[Any]) -> None:  # fmt: skip
    fields = [
        FieldStatistics(
            name=name,
            type="str",
            count=len(values),
            top_values=[ValueCount(value=v, count=1) for v in values],
            length_histogram=_bins([1, 2]),
        )
        for name in names
    ]
    html = render_report(result_of(*fields), mask_secrets=False)
    page = Page(html)
    assert {t for t, _ in page.tags} <= ALLOWED_TAGS
    assert len(page.find("script")) == 1
    sections = [a for t, a in page.tags if t == "section" and "data-field" in a]
    assert [a["data-field"] for a in sections] == [display(n) for n in names]
    titles = {a.get("title") for _, a in page.tags}
    for value in values:
        if isinstance(value, str) and not value.strip():
            continue
        shown = display(value)
        if len(shown) <= 80:
            assert shown in page.text
        else:  # shortened (control characters spelled out lengthen it): whole in the tooltip
            assert shown[:79] + "…" in page.text
            assert shown in titles
