"""openFDA's drug labels as RDF: the current US label of each product in the graph, and the risks
its boxed warning names.

openFDA serves every structured product label (SPL) as JSON, one object per label version with its
sections as text (https://open.fda.gov/apis/drug/label/): an API reply or a bulk download file is
`{"meta": {"last_updated": ...}, "results": [label, ...]}`. `read_records` takes such files (JSON,
or the zipped bulk files), keeps the labels of products in the graph — found by the brand and
generic names of the label's `openfda` block, else by the names its product data elements list —
and turns each into the quads of its own graph `src:openfda-label-tisagenlecleucel`: the label as a
regulatory document (the product's prescribing information, dated by its effective time), and a
`tkg:boxedWarning` for each risk the boxed warning's heading names ("WARNING: CYTOKINE RELEASE
SYNDROME, NEUROLOGIC TOXICITIES ...") that the catalogue knows as an adverse event. Curated sources
state the same property, so the two meet in `kg show` and `kg compare`.

A label without a boxed warning states nothing about one: a reply cut short or a label's missing
section is not evidence of its absence. Indication and warning texts are FDA's prose and are not
copied.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg.ctgov import InterventionMatcher
from kg.graph import iri
from kg.ingest import Problem
from kg.regdata import DATE, Quads, Record, iso_date, match_product
from kg.therapy import normalise

HOME = "https://open.fda.gov/apis/drug/label/"
_CONNECTIVES = {"and", "or", "including", "with", "of", "in", "for", "after"}  # lower case inside a heading
_SPLIT = re.compile(r",|\bincluding\b", re.IGNORECASE)

Label = dict[str, Any]


def read_records(
    paths: Iterable[Path], matcher: InterventionMatcher, products: set[str], events: Mapping[str, str]
) -> Iterator[Record | Problem]:
    """Records of the newest label of each of `products` (IRIs) in openFDA label files (JSON or zip,
    or folders of them): the one from the latest data, then with the latest effective time. A record
    is dated by openFDA's data date, so a later download replaces it. `events` maps normalised
    adverse-event names to the catalogue's IRIs. A file that is not an openFDA label reply is a
    Problem."""
    newest: dict[str, tuple[tuple[str, str], Label]] = {}  # product -> ((data date, effective date or ""), label)
    for path in _files(paths):
        try:
            labels, updated = _read(path)
        except ValueError as error:
            yield Problem(str(path), str(error))
            continue
        for index, label in enumerate(labels):
            product = _product(label, matcher, products)
            if product is None:
                continue
            try:
                dates = (updated, _effective(label) or "")
            except ValueError as error:
                yield Problem(f"{path}#results[{index}]", str(error))
                continue
            if product not in newest or dates > newest[product][0]:
                newest[product] = (dates, label)
    for product, ((updated, effective), label) in sorted(newest.items()):
        yield _convert(product, label, updated, effective, events)


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in (".json", ".zip") and p.is_file())
        else:
            yield path


def _read(path: Path) -> tuple[list[Label], str]:
    """The labels of one reply or bulk file and the date its data were last updated; ValueError
    saying why it is not an openFDA label reply."""
    try:
        if path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.lower().endswith(".json")]
                if len(names) != 1:
                    raise ValueError(f"a bulk label file holds one JSON file, this zip holds {len(names)}")
                text = archive.read(names[0]).decode("utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        reply = json.loads(text)
    except (OSError, UnicodeDecodeError, zipfile.BadZipFile) as error:
        raise ValueError(f"cannot be read: {error}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(reply, dict) or not isinstance(reply.get("results"), list):
        raise ValueError(f"not an openFDA label reply: no results list ({HOME})")
    updated = reply.get("meta", {}).get("last_updated") if isinstance(reply.get("meta"), dict) else None
    if not isinstance(updated, str):
        raise ValueError("not an openFDA label reply: no meta.last_updated date")
    return [label for label in reply["results"] if isinstance(label, dict)], iso_date(updated)


def _texts(label: Label, *keys: str) -> list[str]:
    """The strings at `keys` (a field of the label, or of its `openfda` block)."""
    value: Any = label
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _product(label: Label, matcher: InterventionMatcher, products: set[str]) -> str | None:
    names = [*_texts(label, "openfda", "brand_name"), *_texts(label, "openfda", "generic_name")]
    return match_product([*names, *_texts(label, "spl_product_data_elements")[:1]], matcher, products)


def _brand(label: Label) -> str | None:
    """The label's brand name: the `openfda` block's, else the first word its product data elements list."""
    brands = _texts(label, "openfda", "brand_name")
    words = " ".join(_texts(label, "spl_product_data_elements")[:1]).split()
    return brands[0] if brands else words[0] if words else None


def _effective(label: Label) -> str | None:
    """The label version's effective date (openFDA's `YYYYMMDD`) as YYYY-MM-DD; None if not given."""
    value = label.get("effective_time")
    if value is None:
        return None
    try:
        return iso_date(str(value), ("%Y%m%d",))
    except ValueError:
        raise ValueError(f"effective_time: not a date: {value!r}") from None


def boxed_warning_risks(text: str) -> list[str]:
    """The risks a boxed warning's heading names, in its words: "WARNING: CYTOKINE RELEASE SYNDROME,
    PROLONGED and RECURRENT CYTOPENIA and SECONDARY ... Cytokine Release Syndrome (CRS) occurred ..."
    gives the heading's three risks (an "and" joins two risks only between two several-word names)."""
    words = re.sub(r"^\s*(BOXED\s+)?WARNING\s*:", "", text).split()
    heading = []
    for word in words:
        if any(c.islower() for c in word) and word.lower() not in _CONNECTIVES:
            break
        heading.append(word)
    risks = []
    for part in _SPLIT.split(" ".join(heading)):
        part = re.sub(r"^\s*(and|or)\s+|\s+(and|or|including)\s*$", "", part.strip(), flags=re.IGNORECASE)
        left, sep, right = part.partition(" and ")
        risks += [left, right] if sep and len(left.split()) > 1 else [part]
    return [risk for risk in risks if risk]


def _event(risk: str, events: Mapping[str, str]) -> str | None:
    """The catalogue's adverse event a heading's risk names, the last word also tried in the singular."""
    singular = re.sub(r"ies$", "y", risk, flags=re.IGNORECASE) if risk.lower().endswith("ies") else risk.rstrip("sS")
    return events.get(normalise(risk)) or events.get(normalise(singular))


def _convert(product: str, label: Label, updated: str, effective: str, events: Mapping[str, str]) -> Record:
    slug = product.rsplit("/", 1)[-1]
    name = _brand(label) or slug
    set_id, version = label.get("set_id"), label.get("version")
    version_text = ", ".join(
        part
        for part in (
            f"set id {set_id}" if isinstance(set_id, str) else "",
            f"version {version}" if isinstance(version, str) else "",
            f"effective {effective}" if effective else "",
        )
        if part
    )
    out = Quads(iri(f"src:openfda-label-{slug}"))
    out.describe_source(
        f"openFDA drug label: {name}",
        f"US Food and Drug Administration. openFDA drug label record for {name}"
        f"{f' ({version_text})' if version_text else ''}; openFDA data last updated {updated}.",
        f"https://api.fda.gov/drug/label.json?search=set_id:{set_id}" if isinstance(set_id, str) else HOME,
        updated,
    )
    source, therapy = out.graph, ox.NamedNode(product)
    out.add(source, "tkg:prescribingInformationOf", therapy)
    if effective:
        out.add(source, "dcterms:issued", ox.Literal(effective, datatype=DATE))
    unknown = []
    for risk in boxed_warning_risks(next(iter(_texts(label, "boxed_warning")), "")):
        event = _event(risk, events)
        if event is None:
            unknown.append(risk)
        else:
            out.add(therapy, "tkg:boxedWarning", ox.NamedNode(event))
    if unknown:
        out.add(source, "rdfs:comment", f"The boxed warning also names: {'; '.join(unknown)}.")
    return Record(f"openfda-label:{slug}", updated, out.graph.value, list(dict.fromkeys(out.quads)), unknown)
