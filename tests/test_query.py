"""Tests of the cluster query language (ecssim.placement.query)."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim.errors import EcssimError
from ecssim.placement.query import (
    MAX_EXPRESSION_LENGTH,
    Expression,
    QueryError,
    parse_expression,
)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


class FakeView:
    """An InstanceView over per-instance Python values (None = attribute absent).

    Values are interned in a deliberately scrambled order so that tests never depend on
    codes happening to equal positions.
    """

    def __init__(
        self,
        attributes: dict[str, list[str | None]],
        numeric: dict[str, list[float]] | None = None,
        tasks: list[list[str]] | None = None,
    ) -> None:
        self.raw = attributes
        self.n = len(next(iter(attributes.values())))
        self.columns: dict[str, tuple[np.ndarray, list[str]]] = {}
        for name, column in attributes.items():
            values = sorted({v for v in column if v is not None}, reverse=True)
            values.append("never-used")  # a value no instance holds
            codes = np.array([-1 if v is None else values.index(v) for v in column], np.int32)
            self.columns[name] = (codes, values)
        self.tasks = tasks if tasks is not None else [[] for _ in range(self.n)]
        self.numbers = {k: np.asarray(v, dtype=np.float64) for k, v in (numeric or {}).items()}
        self.numbers["runningTasksCount"] = np.array([len(t) for t in self.tasks], np.float64)
        self.calls: list[str] = []

    def attribute(self, name: str) -> tuple[np.ndarray, Sequence[str]]:
        self.calls.append(name)
        if name not in self.columns:
            return np.full(self.n, -1, np.int32), ()
        return self.columns[name]

    def numeric(self, subject: str) -> np.ndarray:
        self.calls.append(subject)
        return self.numbers[subject]

    def group_counts(self, group: str) -> np.ndarray:
        self.calls.append(f"group:{group}")
        return np.array([t.count(group) for t in self.tasks], dtype=np.int64)


# Six instances. Index:                 0              1              2
#                                       3              4              5
VIEW = FakeView(
    attributes={
        "ecs.instance-type": [
            "t2.small", "t2.medium", "g2.2xlarge", "m5.large", "t2.small", "g2.8xlarge",
        ],
        "ecs.availability-zone": [
            "us-east-1a", "us-east-1b", "us-east-1d", "us-east-1a", "us-east-1c", "us-east-1b",
        ],
        "stack": ["prod", "prod", "dev", None, "qa", None],
        "gpus": ["0", "1", "4", None, "10", "x"],
        "agentVersion": ["1.14.4", "1.14.5", "1.20.0", "1.9.1", "1.14.5", "1.14"],
        "ec2InstanceId": [
            "i-abcd1234", "i-0000aaaa", "i-wxyx7890", "i-1111bbbb", "i-2222cccc", "i-3333dddd",
        ],
    },
    numeric={
        "agentConnected": [1, 1, 0, 1, 1, 1],
        "registeredAt": [
            _epoch("2018-01-01T00:00:00"),
            _epoch("2018-02-12T23:59:59"),
            _epoch("2018-02-13T00:00:00"),
            _epoch("2018-06-18T22:28:28"),
            _epoch("2019-01-01T00:00:00"),
            _epoch("2017-05-05T12:00:00"),
        ],
    },
    tasks=[
        [],
        ["service:production"],
        ["service:production", "database", "database"],
        ["family:web"],
        ["database", "family:web"],
        [],
    ],
)  # fmt: skip


def where(text: str, view: FakeView = VIEW) -> list[int]:
    """Indexes of the instances the expression selects."""
    mask = parse_expression(text).evaluate(view)
    assert mask.dtype == np.bool_
    assert mask.shape == (view.n,)
    return [int(i) for i in np.flatnonzero(mask)]


# -- the examples of the AWS page "Cluster query language" (and its sibling pages) ------------


def test_doc_string_equality_attribute_ecs_instance_type_eq_t2_small() -> None:
    assert where("attribute:ecs.instance-type == t2.small") == [0, 4]


def test_doc_argument_list_availability_zone_in_us_east_1a_1b() -> None:
    assert where("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]") == [0, 1, 3, 5]


def test_doc_compound_g2_not_in_us_east_1d() -> None:
    text = "attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d"
    assert where(text) == [5]


def test_doc_task_affinity_task_group_eq_service_production() -> None:
    assert where("task:group == service:production") == [1, 2]


def test_doc_task_anti_affinity_not_task_group_eq_database() -> None:
    assert where("not(task:group == database)") == [0, 1, 3, 5]


def test_doc_running_tasks_count_eq_1() -> None:
    assert where("runningTasksCount == 1") == [1, 3]


def test_doc_agent_version_below_1_14_5() -> None:
    # versions compare numerically: 1.9.1 < 1.14 (= 1.14.0) < 1.14.4 < 1.14.5 < 1.20.0
    assert where("agentVersion < 1.14.5") == [0, 3, 5]


def test_doc_registered_before_february_13_2018() -> None:
    assert where("registeredAt < 2018-02-13") == [0, 1, 5]


def test_doc_ec2_instance_id_in_quoted_list() -> None:
    assert where("ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']") == [0, 2]


def test_doc_member_of_t2_instances_regex() -> None:
    # task-placement-constraints: "attribute:ecs.instance-type =~ t2.*"
    assert where("attribute:ecs.instance-type =~ t2.*") == [0, 1, 4]


def test_doc_member_of_databases_group() -> None:
    # task-placement-constraints: "task:group == databases" (no such group here -> nothing)
    assert where("task:group == databases") == []


def test_doc_filter_examples() -> None:
    # task-placement-constraints, "Filtering by attribute": list-container-instances --filter
    assert where("attribute:ecs.instance-type == g2.2xlarge") == [2]
    assert where("attribute:stack == prod") == [0, 1]
    # "the instances with the custom attribute stack unless the attribute value is prod"
    assert where("attribute:stack != prod") == [2, 4]
    assert where("attribute:ecs.instance-type in [t2.small, t2.medium]") == [0, 1, 4]
    text = "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone == us-east-1a"
    assert where(text) == [0]


def test_doc_precedence_example_shape() -> None:
    # "(expression1 or expression2) and expression3"
    text = "(attribute:stack == dev or attribute:stack == qa) and runningTasksCount > 2"
    assert where(text) == [2]


# -- every operator, both spellings ---------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "word"),
    [
        ("==", "equals"),
        ("!=", "not_equals"),
        (">", "greater_than"),
        (">=", "greater_than_equal"),
        ("<", "less_than"),
        ("<=", "less_than_equal"),
        ("=~", "matches"),
        ("!~", "not_matches"),
    ],
)
def test_operator_words_equal_symbols(symbol: str, word: str) -> None:
    value = "t2.*" if "~" in symbol else "prod"
    assert where(f"attribute:stack {symbol} {value}") == where(f"attribute:stack {word} {value}")


def test_string_equality_and_inequality() -> None:
    assert where("attribute:stack == prod") == [0, 1]
    assert where("attribute:stack equals dev") == [2]
    assert where("attribute:stack == nothing") == []
    assert where("attribute:stack == never-used") == []
    assert where("attribute:missing == prod") == []
    # != needs the attribute; not(==) does not
    assert where("attribute:stack != prod") == [2, 4]
    assert where("not attribute:stack == prod") == [2, 3, 4, 5]
    assert where("attribute:missing != prod") == []


def test_equality_is_literal_no_wildcards() -> None:
    assert where("attribute:ecs.instance-type == t2.*") == []
    assert where("attribute:ecs.instance-type == 't2.small'") == [0, 4]


def test_exists_and_not_exists() -> None:
    assert where("attribute:stack exists") == [0, 1, 2, 4]
    assert where("attribute:stack !exists") == [3, 5]
    assert where("attribute:stack not_exists") == [3, 5]
    assert where("attribute:missing exists") == []
    assert where("attribute:missing !exists") == [0, 1, 2, 3, 4, 5]


def test_in_and_not_in() -> None:
    assert where("attribute:stack in [prod, qa]") == [0, 1, 4]
    assert where("attribute:stack in [prod]") == [0, 1]
    assert where("attribute:stack in [nope, nada]") == []
    assert where("attribute:stack !in [prod, qa]") == [2]
    assert where("attribute:stack not_in [prod,qa]") == [2]
    assert where("attribute:stack in[ prod , 'qa' ]") == [0, 1, 4]


def test_matches_and_not_matches_are_whole_value() -> None:
    assert where("attribute:ecs.instance-type =~ t2") == []  # Java String.matches: full match
    assert where("attribute:ecs.instance-type =~ .*large") == [2, 3, 5]
    assert where("attribute:ecs.instance-type !~ t2.*") == [2, 3, 5]
    assert where("attribute:stack !~ pr.d") == [2, 4]  # absent never matches !~
    assert where("attribute:ecs.instance-type =~ [gm].*") == [2, 3, 5]
    assert where("attribute:ecs.instance-type =~ '(t2|m5)\\..*'") == [0, 1, 3, 4]


def test_attribute_ordering_numeric_when_argument_is_a_number() -> None:
    # gpus: "0", "1", "4", absent, "10", "x"
    assert where("attribute:gpus > 2") == [2, 4]
    assert where("attribute:gpus >= 1") == [1, 2, 4]
    assert where("attribute:gpus < 1") == [0]
    assert where("attribute:gpus <= 1.0") == [0, 1]
    # non-numeric argument: lexicographic
    assert where("attribute:stack > p") == [0, 1, 4]
    assert where("attribute:stack < e") == [2]


def test_agent_connected() -> None:
    assert where("agentConnected == true") == [0, 1, 3, 4, 5]
    assert where("agentConnected == false") == [2]
    assert where("agentConnected != true") == [2]
    assert where("agentConnected == TRUE") == [0, 1, 3, 4, 5]
    assert where("agentConnected in [true, false]") == [0, 1, 2, 3, 4, 5]
    assert where("agentConnected !in [true]") == [2]
    assert where("agentConnected =~ f.*") == [2]
    assert where("agentConnected !~ f.*") == [0, 1, 3, 4, 5]


def test_agent_version_compares_versions_not_strings() -> None:
    # 1.14.4, 1.14.5, 1.20.0, 1.9.1, 1.14.5, 1.14
    assert where("agentVersion == 1.14.5") == [1, 4]
    assert where("agentVersion == 1.14.0") == [5]
    assert where("agentVersion != 1.14.5") == [0, 2, 3, 5]
    assert where("agentVersion > 1.14.4") == [1, 2, 4]
    assert where("agentVersion >= 1.14.4") == [0, 1, 2, 4]
    assert where("agentVersion <= 1.9.1") == [3]
    assert where("agentVersion greater_than 1.10") == [0, 1, 2, 4, 5]


def test_ec2_instance_id() -> None:
    assert where("ec2InstanceId == i-wxyx7890") == [2]
    assert where("ec2InstanceId != i-wxyx7890") == [0, 1, 3, 4, 5]
    assert where("ec2InstanceId =~ i-[0-9]+[a-d]+") == [1, 3, 4, 5]
    assert where("ec2InstanceId !in ['i-abcd1234']") == [1, 2, 3, 4, 5]


def test_registered_at_formats() -> None:
    # 2018-01-01, 2018-02-12T23:59:59, 2018-02-13, 2018-06-18T22:28:28, 2019-01-01, 2017-05-05
    for moment in (
        "2018-06-18T22:28:28+00:00",
        "2018-06-18T22:28:28Z",
        "2018-06-18T22:28:28",
        repr(_epoch("2018-06-18T22:28:28")),
    ):
        assert where(f"registeredAt == {moment}") == [3], moment
        assert where(f"registeredAt >= {moment}") == [3, 4], moment
    assert where("registeredAt > 2018-02-13") == [3, 4]
    assert where("registeredAt >= 2018-02-13") == [2, 3, 4]
    assert where("registeredAt <= 2018-02-13T00:00:00") == [0, 1, 2, 5]
    assert where("registeredAt != 2018-02-13") == [0, 1, 3, 4, 5]
    # an explicit offset moves the instant: 01:00+01:00 is midnight UTC
    assert where("registeredAt < 2018-02-13T01:00:00+01:00") == [0, 1, 5]


def test_running_tasks_count() -> None:
    # counts: 0, 1, 3, 1, 2, 0
    assert where("runningTasksCount == 0") == [0, 5]
    assert where("runningTasksCount != 0") == [1, 2, 3, 4]
    assert where("runningTasksCount > 1") == [2, 4]
    assert where("runningTasksCount >= 2") == [2, 4]
    assert where("runningTasksCount < 1") == [0, 5]
    assert where("runningTasksCount <= 1") == [0, 1, 3, 5]
    assert where("runningTasksCount less_than 3") == [0, 1, 3, 4, 5]


def test_task_group_is_existential_over_the_tasks_on_an_instance() -> None:
    # tasks: [], [prod], [prod, db, db], [web], [db, web], []
    assert where("task:group == database") == [2, 4]
    assert where("task:group in [database, family:web]") == [2, 3, 4]
    # "hosts a task of another group": empty instances satisfy neither == nor !=
    assert where("task:group != database") == [1, 2, 3, 4]
    assert where("task:group !in [database, family:web]") == [1, 2]
    assert where("task:group exists") == [1, 2, 3, 4]
    assert where("task:group !exists") == [0, 5]
    assert where("not task:group == database") == [0, 1, 3, 5]


def test_task_group_with_a_colon_value_and_spaces_around() -> None:
    assert where("   task:group   ==   service:production   ") == [1, 2]
    assert where("task:group==service:production") == [1, 2]


# -- combination, precedence, parentheses, not ---------------------------------------------


def test_and_or_spellings() -> None:
    assert where("attribute:stack == prod and runningTasksCount == 1") == [1]
    assert where("attribute:stack == prod && runningTasksCount == 1") == [1]
    assert where("attribute:stack == dev or attribute:stack == qa") == [2, 4]
    assert where("attribute:stack == dev || attribute:stack == qa") == [2, 4]


def test_and_binds_tighter_than_or() -> None:
    # a or b and c  ==  a or (b and c)
    a, b, c = "attribute:stack == dev", "attribute:stack == prod", "runningTasksCount == 0"
    assert where(f"{a} or {b} and {c}") == [0, 2]
    assert where(f"{a} or ({b} and {c})") == [0, 2]
    assert where(f"({a} or {b}) and {c}") == [0]
    assert where(f"{b} and {c} or {a}") == [0, 2]


def test_not_binds_tighter_than_and() -> None:
    a, b = "attribute:stack == prod", "runningTasksCount == 0"
    # (not a) and b
    assert where(f"not {a} and {b}") == [5]
    assert where(f"! {a} and {b}") == [5]
    assert where(f"!{a} and {b}") == [5]
    assert where(f"not ({a} and {b})") == [1, 2, 3, 4, 5]
    assert where(f"not not {a}") == [0, 1]
    assert where(f"!(!({a}))") == [0, 1]


def test_nested_parentheses() -> None:
    text = (
        "((attribute:stack == prod or attribute:stack == qa) and "
        "(not (task:group == database))) or agentConnected == false"
    )
    assert where(text) == [0, 1, 2]


def test_keywords_need_a_boundary() -> None:
    # "notattribute:x" is not "not attribute:x"; the subject is unknown
    with pytest.raises(QueryError, match="unknown subject 'notattribute:stack'"):
        parse_expression("notattribute:stack exists")
    with pytest.raises(QueryError, match="expected 'and', 'or' or the end"):
        parse_expression("attribute:stack exists andattribute:x exists")


def test_quoted_values_may_hold_spaces_and_parentheses() -> None:
    view = FakeView({"team": ["a b", "c(d)", None, "a b"]})
    assert where("attribute:team == 'a b'", view) == [0, 3]
    assert where('attribute:team == "c(d)"', view) == [1]
    assert where("attribute:team in ['c(d)', \"a b\"]", view) == [0, 1, 3]
    assert where("attribute:team =~ 'c\\(.\\)'", view) == [1]


# -- the Expression object ------------------------------------------------------------------


def test_subjects() -> None:
    expr = parse_expression(
        "attribute:tier == web and not(task:group == database) or agentVersion < 1.2"
    )
    assert expr.subjects() == {"attribute:tier", "task:group", "agentVersion"}
    assert expr.task_groups() == {"database"}
    assert parse_expression("task:group != x").subjects() == {"task:group", "runningTasksCount"}


def test_expression_compares_by_text_and_parses_on_construction() -> None:
    text = "attribute:stack == prod"
    assert Expression(text) == parse_expression(text)
    assert hash(Expression(text)) == hash(parse_expression(text))
    assert str(parse_expression(text)) == text
    with pytest.raises(QueryError):
        Expression("attribute:stack ==")


def test_expression_pickles() -> None:
    expr = parse_expression("attribute:ecs.instance-type =~ t2.* and agentVersion >= 1.14")
    clone = pickle.loads(pickle.dumps(expr))
    assert clone == expr
    assert np.array_equal(clone.evaluate(VIEW), expr.evaluate(VIEW))


def test_evaluate_reads_the_view_only_through_the_protocol_and_is_repeatable() -> None:
    expr = parse_expression("attribute:ecs.instance-type =~ t2.* or agentVersion > 1.14.4")
    first = expr.evaluate(VIEW)
    second = expr.evaluate(VIEW)  # memoised regex/version results give the same answer
    assert np.array_equal(first, second)
    assert [int(i) for i in np.flatnonzero(first)] == [0, 1, 2, 4]


def test_evaluate_on_an_empty_view() -> None:
    view = FakeView({"stack": []}, numeric={"agentConnected": [], "registeredAt": []}, tasks=[])
    for text in (
        "attribute:stack == a",
        "attribute:stack =~ a.*",
        "runningTasksCount > 1",
        "task:group != a",
        "not attribute:stack exists",
    ):
        mask = parse_expression(text).evaluate(view)
        assert mask.shape == (0,)
        assert mask.dtype == np.bool_


def test_values_seen_later_are_picked_up() -> None:
    # The memo is keyed by value, not code: a view whose value table grows stays correct.
    expr = parse_expression("attribute:stack =~ p.*")
    small = FakeView({"stack": ["prod", "dev"]})
    grown = FakeView({"stack": ["dev", "prod", "perf", "qa"]})
    assert [int(i) for i in np.flatnonzero(expr.evaluate(small))] == [0]
    assert [int(i) for i in np.flatnonzero(expr.evaluate(grown))] == [1, 2]


# -- malformed expressions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "empty expression", 0),
        ("   ", "empty expression", 0),
        ("attribute:tier", "expected an operator after 'attribute:tier' at position 14", 14),
        ("attribute:tier web", "expected an operator after 'attribute:tier', got 'web'", 15),
        ("attribute:tier => web", "unknown operator '=>' after 'attribute:tier'", 15),
        ("attribute:tier = web", "unknown operator '='", 15),
        ("attribute:tier ==", "expected a value after 'attribute:tier =='", 17),
        ("(attribute:tier ==)", "expected a value after 'attribute:tier =='", 18),
        ("attribute:tier in", "expected a list like [a, b]", 17),
        ("attribute:tier in (a, b)", "expected a list like [a, b]", 18),
        ("attribute:tier in []", "empty list", 18),
        ("attribute:tier in [a b]", "expected ',' or ']' in the list", 21),
        ("attribute:tier in [a,]", "expected a value in the list", 21),
        ("attribute:tier in [a, b", "unbalanced brackets: '[' is never closed", 18),
        ("attribute:tier == [a, b]", "takes one value; use 'in' for a list", 18),
        ("(attribute:tier == a", "unbalanced parentheses: '(' is never closed", 0),
        ("((attribute:tier == a)", "unbalanced parentheses: '(' is never closed", 0),
        ("attribute:tier == a)", "unbalanced parentheses: ')' has no matching '('", 19),
        ("()", "expected a subject after '(', got ')'", 1),
        ("attribute:tier == a b", "expected 'and', 'or' or the end after 'a', got 'b'", 20),
        ("(attribute:tier == a b)", "expected 'and', 'or' or ')' after 'a', got 'b'", 21),
        ("attribute:tier == a and", "expected a subject after 'and', got the end", 23),
        ("attribute:tier == a or or", "unknown subject 'or'", 23),
        ("not", "expected a subject after 'not', got the end", 3),
        ("== a", "expected a subject, got '=='", 0),
        ("tier == a", "unknown subject 'tier'", 0),
        ("attribute:tier == a and hostname == b", "unknown subject 'hostname'", 24),
        ("attribute: exists", "invalid attribute name ''", 0),
        ("attribute:" + "x" * 129 + " exists", "invalid attribute name", 0),
        ("attribute:tier == 'web", "unterminated quoted value", 18),
        ("attribute:tier =~ t2.(", "can't contain parentheses unless it is quoted", 21),
        ("attribute:tier =~ '('", "invalid regular expression '('", 18),
        ("agentConnected > 1", "operator '>' is not valid for agentConnected", 15),
        ("agentConnected exists", "operator 'exists' is not valid for agentConnected", 15),
        ("agentConnected == yes", "agentConnected takes true or false, got 'yes'", 18),
        ("agentVersion in [1.2]", "operator 'in' is not valid for agentVersion", 13),
        ("agentVersion < latest", "agentVersion needs a version like 1.14.5", 15),
        ("ec2InstanceId < i-1", "operator '<' is not valid for ec2InstanceId", 14),
        ("registeredAt < yesterday", "registeredAt needs a date", 15),
        ("registeredAt < 2018-13-45", "registeredAt needs a date", 15),
        ("runningTasksCount =~ 1", "not valid for runningTasksCount", 18),
        ("runningTasksCount > one", "runningTasksCount needs a whole number, got 'one'", 20),
        ("runningTasksCount > 1.5", "runningTasksCount needs a whole number", 20),
        ("task:group =~ service:.*", "operator '=~' is not valid for task:group", 11),
        ("task:group > a", "operator '>' is not valid for task:group", 11),
        # keywords are lowercase only
        (
            "attribute:tier exists AND attribute:x exists",
            "after 'attribute:tier exists', got 'AND'",
            22,
        ),
    ],
)
def test_malformed(text: str, message: str, position: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse_expression(text)
    err = caught.value
    assert message in str(err)
    assert "\n" not in str(err)
    assert err.position == position
    if err.position is not None and text.strip():
        assert str(err).endswith(f"at position {position}")


def test_length_limit() -> None:
    clause = "attribute:stack == prod"
    longest = " or ".join([clause] * 200)[:MAX_EXPRESSION_LENGTH]
    longest = longest[: longest.rfind(" or ")]
    longest += " " * (MAX_EXPRESSION_LENGTH - len(longest))
    assert len(longest) == MAX_EXPRESSION_LENGTH
    assert where(longest) == [0, 1]
    with pytest.raises(QueryError, match="2001 characters long; the maximum is 2000"):
        parse_expression(longest + " ")


def test_query_error_is_a_value_error_and_an_ecssim_error() -> None:
    with pytest.raises(ValueError, match="empty expression"):
        parse_expression("")
    assert issubclass(QueryError, EcssimError)


# -- property: vectorised evaluation equals a naive per-instance evaluation ------------------

_NAMES = ("tier", "zone", "rack")
_VALUES = ("a", "b", "c", "d-1", "e.f")

_values = st.sampled_from(_VALUES)
_leaf = st.one_of(
    st.tuples(st.sampled_from(_NAMES), st.sampled_from(("==", "!=")), _values),
    st.tuples(
        st.sampled_from(_NAMES),
        st.sampled_from(("in", "!in")),
        st.lists(_values, min_size=1, max_size=4).map(tuple),
    ),
    st.tuples(st.sampled_from(_NAMES), st.sampled_from(("exists", "!exists")), st.none()),
)
_trees = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.tuples(st.just("not"), inner),
        st.tuples(st.sampled_from(("and", "or")), inner, inner),
    ),
    max_leaves=6,
)
_PRECEDENCE = {"or": 1, "and": 2, "not": 3}


def _render(tree: tuple, parent: int = 0) -> str:
    """Write a tree with only the parentheses precedence needs, so the parser's precedence is
    exercised (a tree nested on the right still needs them: "or" is not re-associated)."""
    kind = tree[0]
    if kind == "not":
        return f"not {_render(tree[1], 3)}"
    if kind in ("and", "or"):
        level = _PRECEDENCE[kind]
        left = _render(tree[1], level)
        right = _render(tree[2], level + 1)  # left-associative: a right child at the same
        text = f"{left} {kind} {right}"  # level gets parentheses
        return f"({text})" if level < parent else text
    name, op, argument = tree
    if op in ("exists", "!exists"):
        return f"attribute:{name} {op}"
    if op in ("in", "!in"):
        return f"attribute:{name} {op} [{', '.join(argument)}]"
    return f"attribute:{name} {op} {argument}"


def _naive(tree: tuple, row: dict[str, str | None]) -> bool:
    kind = tree[0]
    if kind == "not":
        return not _naive(tree[1], row)
    if kind == "and":
        return _naive(tree[1], row) and _naive(tree[2], row)
    if kind == "or":
        return _naive(tree[1], row) or _naive(tree[2], row)
    name, op, argument = tree
    value = row[name]
    if op == "exists":
        return value is not None
    if op == "!exists":
        return value is None
    if value is None:  # ==, !=, in, !in all need the attribute
        return False
    if op == "==":
        return value == argument
    if op == "!=":
        return value != argument
    if op == "in":
        return value in argument
    return value not in argument


@settings(max_examples=300, deadline=None)
@given(
    columns=st.lists(
        st.fixed_dictionaries({n: st.one_of(st.none(), _values) for n in _NAMES}),
        min_size=1,
        max_size=8,
    ),
    tree=_trees,
)
def test_vectorised_equals_naive(columns: list[dict[str, str | None]], tree: tuple) -> None:
    view = FakeView({n: [row[n] for row in columns] for n in _NAMES})
    text = _render(tree)
    mask = parse_expression(text).evaluate(view)
    expected = [_naive(tree, row) for row in columns]
    assert mask.tolist() == expected, text
