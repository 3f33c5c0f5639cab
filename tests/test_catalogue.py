"""Tests of the EC2 instance-type catalogue (ecssim.model.catalogue)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecssim.errors import EcssimError
from ecssim.model.catalogue import (
    CATALOGUE,
    InstanceType,
    UnknownInstanceType,
    estimate_registered_memory_mib,
    get_instance_type,
    instance_types,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "instance-types.md"

REQUIRED_TYPES = (
    ["m4.large"]
    + [f"m5.{size}" for size in ("large", "xlarge", "2xlarge", "4xlarge", "24xlarge")]
    + ["m6i.large", "m6g.large", "c6g.large", "r5.large"]
    + [f"c5.{size}" for size in ("large", "2xlarge", "4xlarge", "12xlarge")]
    + [f"t3.{size}" for size in ("micro", "small", "medium", "large", "xlarge")]
    + ["g4dn.xlarge", "g4dn.12xlarge"]
)
REQUIRED_FAMILIES = {"m4", "m5", "m6i", "m6g", "c5", "c6g", "r5", "t3", "g4dn"}

# ECS-SEMANTICS section 1: awsvpc task slots (ENIs - 1) and trunk slots by size.
SLOTS_BY_SIZE = {"large": 2, "xlarge": 3, "2xlarge": 3, "4xlarge": 7, "24xlarge": 14}
TRUNK_BY_SIZE = {"large": 10, "xlarge": 20, "2xlarge": 40, "4xlarge": 60, "24xlarge": 120}
SLOT_FAMILIES = ("m5", "c5", "r5", "m6g", "c6g", "m6i")

# Registrations published for current ECS-optimized AMIs (docs/instance-types.md).
PUBLISHED_REGISTRATIONS = [
    (8192, 7821),  # m6i.large, aws/amazon-ecs-ami#597
    (32768, 31603),  # r6idn.xlarge, ASFHyP3/hyp3#1900
    (32768, 31517),  # r6id.xlarge, ASFHyP3/hyp3#1900
    (131072, 126722),  # r6id.4xlarge, ASFHyP3/hyp3#1900
    (524288, 507821),  # trn1.32xlarge, meta-pytorch/torchx#795
]


def test_catalogue_has_at_least_28_types():
    assert len(CATALOGUE) >= 28


def test_required_families_and_sizes_are_present():
    assert {t.family for t in CATALOGUE.values()} >= REQUIRED_FAMILIES
    missing = [name for name in REQUIRED_TYPES if name not in CATALOGUE]
    assert missing == []


def test_keys_names_and_families_agree():
    for key, itype in CATALOGUE.items():
        assert key == itype.name
        assert itype.name.split(".")[0] == itype.family


def test_instance_types_lists_the_catalogue_in_order():
    names = instance_types()
    assert names == list(CATALOGUE)
    assert len(set(names)) == len(names)
    names.append("x1.large")  # a copy: changing it leaves the catalogue alone
    assert "x1.large" not in instance_types()


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_registered_cpu_is_vcpu_times_1024(name):
    itype = CATALOGUE[name]
    assert itype.registered_cpu == itype.vcpu * 1024


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_registered_memory_is_below_nominal(name):
    itype = CATALOGUE[name]
    assert 0 < itype.registered_memory_mib < itype.memory_mib
    # The OS keeps a few percent, never most of the memory.
    assert itype.registered_memory_mib > 0.85 * itype.memory_mib


def test_documented_m4_large_registration():
    m4 = get_instance_type("m4.large")
    assert (m4.memory_mib, m4.registered_memory_mib) == (8192, 7985)


def test_full_nominal_memory_never_fits_an_8_gib_instance():
    eight_gib = [t for t in CATALOGUE.values() if t.memory_mib == 8192]
    assert eight_gib
    assert all(t.registered_memory_mib < 8192 for t in eight_gib)


@pytest.mark.parametrize(
    ("family", "size"),
    [
        (family, size)
        for family in SLOT_FAMILIES
        for size in SLOTS_BY_SIZE
        # Graviton2 m6g and c6g stop at 16xlarge; the ECS table lists 24xlarge for the others.
        if not (size == "24xlarge" and family in ("m6g", "c6g"))
    ],
)
def test_awsvpc_and_trunk_slots_match_ecs_table(family, size):
    name = f"{family}.{size}"
    assert name in CATALOGUE
    itype = CATALOGUE[name]
    assert itype.awsvpc_slots == SLOTS_BY_SIZE[size]
    assert itype.awsvpc_slots == itype.enis - 1
    assert itype.trunk_enis == TRUNK_BY_SIZE[size]


def test_c5_large_holds_two_awsvpc_tasks_or_ten_with_trunking():
    c5 = get_instance_type("c5.large")
    assert (c5.enis, c5.awsvpc_slots, c5.trunk_enis) == (3, 2, 10)


@pytest.mark.parametrize("name", ["g4dn.xlarge", "g4dn.12xlarge", "t3.micro", "m4.large"])
def test_types_without_trunking(name):
    assert get_instance_type(name).trunk_enis is None


@pytest.mark.parametrize(
    ("name", "enis"),
    [("t3.micro", 2), ("t3.small", 3), ("t3.xlarge", 4), ("m4.large", 2), ("g4dn.12xlarge", 8)],
)
def test_eni_limits_of_types_outside_the_trunking_table(name, enis):
    assert get_instance_type(name).enis == enis


def test_architecture():
    for itype in CATALOGUE.values():
        expected = "arm64" if itype.family in ("m6g", "c6g") else "x86_64"
        assert itype.architecture == expected, itype.name


def test_gpus():
    assert get_instance_type("g4dn.xlarge").gpus == 1
    assert get_instance_type("g4dn.12xlarge").gpus == 4
    assert all(t.gpus == 0 for t in CATALOGUE.values() if t.family != "g4dn")


@pytest.mark.parametrize(
    ("name", "price"),
    [
        ("m5.large", 0.096),
        ("c5.large", 0.085),
        ("r5.large", 0.126),
        ("c5.xlarge", 0.17),
        ("m5.xlarge", 0.192),
        ("m5.2xlarge", 0.384),
        ("c5.2xlarge", 0.34),
        ("c5.4xlarge", 0.68),
        ("c5.12xlarge", 2.04),
    ],
)
def test_prices_from_ecs_semantics(name, price):
    assert get_instance_type(name).hourly_price == pytest.approx(price)


@pytest.mark.parametrize("family", ["m5", "m6i", "m6g", "c5", "c6g", "r5", "t3"])
def test_price_is_linear_in_size_within_a_family(family):
    # On-demand list prices double with each size step; t3 sizes share 2 vCPUs, so compare per GiB.
    members = [t for t in CATALOGUE.values() if t.family == family]
    per_gib = {round(t.hourly_price / (t.memory_mib / 1024), 6) for t in members}
    assert len(per_gib) == 1, per_gib


def test_unknown_type_suggests_the_close_match():
    with pytest.raises(UnknownInstanceType) as caught:
        get_instance_type("m5.lage")
    err = caught.value
    assert str(err) == "unknown instance type 'm5.lage'; did you mean m5.large?"
    assert err.suggestions == ("m5.large",)
    assert isinstance(err, KeyError)
    assert isinstance(err, EcssimError)


def test_unknown_type_suggestion_ignores_case():
    with pytest.raises(KeyError, match=r"did you mean m5\.large\?"):
        get_instance_type("M5.LARGE")


def test_unknown_type_without_a_close_match_lists_known_types():
    with pytest.raises(UnknownInstanceType) as caught:
        get_instance_type("zz")
    assert caught.value.suggestions == ()
    assert "known types: m4.large, m5.large" in str(caught.value)


def test_catalogue_is_read_only():
    with pytest.raises(TypeError):
        CATALOGUE["x1.large"] = CATALOGUE["m5.large"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        CATALOGUE["m5.large"].vcpu = 4  # type: ignore[misc]


def test_invalid_instance_type_is_rejected():
    good = dataclasses.asdict(get_instance_type("m5.large"))
    with pytest.raises(ValueError, match="registered_memory_mib"):
        InstanceType(**{**good, "registered_memory_mib": 8192})
    with pytest.raises(ValueError, match="architecture"):
        InstanceType(**{**good, "architecture": "aarch64"})
    with pytest.raises(ValueError, match="family"):
        InstanceType(**{**good, "family": "m6"})


def test_formula_matches_published_registrations():
    for nominal, registered in PUBLISHED_REGISTRATIONS:
        error = abs(estimate_registered_memory_mib(nominal) - registered)
        assert error <= 0.003 * nominal, (nominal, registered)
        if nominal <= 131072:
            assert error <= 90, (nominal, registered)


def test_formula_values():
    assert estimate_registered_memory_mib(8192) == 7826
    assert estimate_registered_memory_mib(1024) == 891
    with pytest.raises(ValueError, match="no memory"):
        estimate_registered_memory_mib(64)


@given(st.integers(min_value=512, max_value=4 * 1024 * 1024))
def test_formula_is_below_nominal_and_monotone(memory_mib):
    registered = estimate_registered_memory_mib(memory_mib)
    assert 0 < registered < memory_mib
    assert estimate_registered_memory_mib(memory_mib + 1) >= registered


def _doc_table() -> list[dict[str, str]]:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"\|\s*name\s*\|", line))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def test_doc_table_agrees_with_catalogue():
    rows = _doc_table()
    assert [row["name"] for row in rows] == instance_types()
    for row in rows:
        itype = CATALOGUE[row["name"]]
        for field in dataclasses.fields(InstanceType):
            value = getattr(itype, field.name)
            cell = row[field.name]
            if value is None:
                assert cell == "none", (itype.name, field.name)
            elif isinstance(value, float):
                assert float(cell) == pytest.approx(value), (itype.name, field.name)
            else:
                assert cell == str(value), (itype.name, field.name)
        assert int(row["registered_cpu"]) == itype.registered_cpu
        assert int(row["awsvpc_slots"]) == itype.awsvpc_slots


def test_doc_marks_the_source_of_registered_memory():
    sources = {row["name"]: row["memory_source"] for row in _doc_table()}
    assert sources["m4.large"] == "doc"
    assert sources["m6i.large"] == "obs"
    for name, source in sources.items():
        itype = CATALOGUE[name]
        if source == "formula":
            assert itype.registered_memory_mib == estimate_registered_memory_mib(itype.memory_mib)
