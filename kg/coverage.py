"""How complete the regulatory record is, per product: what `kg coverage` reports.

Users cannot see what the graph lacks; a count per product of approvals by agency, withdrawn
indications, how many approvals state their pivotal trial, line of therapy and setting (what "approved
for first-line NSCLC, on which trial?" needs), FDA actions loaded from Drugs@FDA (the originals and
efficacy supplements among them are what curated FDA approvals should match), label versions read and
sources by claim kind, with the latest date of each, tells them where it is thin, and the share of
official or primary sources says how strong it is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kg.graph import iri

if TYPE_CHECKING:
    from kg.graph import TherapyGraph

OFFICIAL_KINDS = ("primary evidence", "regulatory document", "registry record")  # claim-kind labels
INDICATION_FIELDS = ("pivotal-trial", "line", "setting")  # coverage.rq's names for the structured fields counted


@dataclass
class Count:
    count: int
    latest: dt.date | str | None


@dataclass
class ProductCoverage:
    id: str
    label: str
    approvals: dict[str, Count] = field(default_factory=dict)  # by agency
    withdrawn: dict[str, Count] = field(default_factory=dict)
    # agency -> structured field (INDICATION_FIELDS) -> how many of its approvals state it
    indication_fields: dict[str, dict[str, int]] = field(default_factory=dict)
    fda_actions: Count | None = None
    fda_new_use: Count | None = None  # originals and efficacy supplements: what curated FDA approvals should match
    labels: Count | None = (
        None  # prescribing-information versions read; latest = the newest, as ISO text (a day or a month)
    )
    sources: dict[str, int] = field(default_factory=dict)  # by claim kind

    def stating(self, agency: str) -> tuple[int, ...]:
        """How many of the agency's approvals state each structured field, in `INDICATION_FIELDS` order."""
        stated = self.indication_fields.get(agency, {})
        return tuple(stated.get(name, 0) for name in INDICATION_FIELDS)

    @property
    def official_share(self) -> float | None:
        """The share of this product's sources that are primary, regulatory or registry documents."""
        total = sum(self.sources.values())
        return sum(self.sources.get(k, 0) for k in OFFICIAL_KINDS) / total if total else None


def coverage(graph: TherapyGraph, therapy: str | None = None) -> list[ProductCoverage]:
    """Coverage of every product (or those under `therapy`), sorted by label."""
    bindings = {"therapy": iri(graph.resolve(therapy).iri)} if therapy else {}
    products = {ref.iri: ProductCoverage(ref.id, ref.label) for ref in graph.therapies.all("product")}
    rows = graph.select_named("coverage", bindings)
    for row in rows:
        item = products.get(row["product"])
        if item is None:
            continue
        count = Count(row["count"], row["latest"] if isinstance(row["latest"], dt.date) else None)
        if row["measure"] == "approvals":
            item.approvals[row["key"]] = count
        elif row["measure"] == "withdrawn":
            item.withdrawn[row["key"]] = count
        elif row["measure"] in INDICATION_FIELDS:
            item.indication_fields.setdefault(row["key"], {})[row["measure"]] = row["count"]
        elif row["measure"] == "fda-actions":
            item.fda_actions = count
        elif row["measure"] == "fda-efficacy":
            item.fda_new_use = count
        elif row["measure"] == "label":
            item.labels = Count(row["count"], row["latest"])
        else:
            item.sources[row["key"]] = row["count"]
    listed = {row["product"] for row in rows} if therapy else set(products)
    return sorted((products[i] for i in listed if i in products), key=lambda p: p.label.casefold())


def official_sources(graph: TherapyGraph) -> tuple[int, int]:
    """(official or primary, all) sources other than bulk-ingested registry records; the goal is four in five."""
    kinds = [row["kind"] for row in graph.select_named("sources")]
    return sum(kind in OFFICIAL_KINDS for kind in kinds), len(kinds)
