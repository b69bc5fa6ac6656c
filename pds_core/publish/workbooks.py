"""Several models as the sheets of ONE xlsx workbook: exports that name the same .xlsx path.

The planner turns such a group into one Workbook node: it runs after every member's model and every
gating check of every member, so the workbook is written only when all its sheets may be published;
if one is held back the old workbook stays as it was (a workbook with a sheet missing is never
written). The node carries the first member's unique id (by name), so `pds retry` and `pds publish
-s <model>` find it, and it always writes every member: a workbook is replaced whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pds_core.publish.exports import Export, workbook_key


@dataclass
class Workbook(Export):
    """One xlsx file written from several exports, each a sheet (in the order of their names)."""

    members: list[Export] = field(default_factory=list)

    @classmethod
    def of(cls, members: list[Export]) -> Workbook:
        first = members[0]
        fields = {f.name: getattr(first, f.name) for f in dataclasses.fields(Export)}
        return cls(**fields, members=list(members))

    @property
    def sheets(self) -> list[str]:
        return [str(getattr(m.spec, "sheet", "") or m.model) for m in self.members]

    def to_manifest(self) -> dict[str, Any]:  # pragma: no cover - workbooks live in plans, not the manifest
        return self.members[0].to_manifest()


def group_workbooks(chosen: dict[str, Export], everything: Iterable[Export]) -> dict[str, Export]:
    """`chosen` with each xlsx export that shares its path with others replaced by one Workbook holding
    all of them (also those not chosen: a workbook is always written whole)."""
    groups: dict[str, list[Export]] = {}
    for export in everything:
        key = workbook_key(export)
        if key is not None:
            groups.setdefault(key, []).append(export)
    out: dict[str, Export] = {}
    for uid, export in chosen.items():
        key = workbook_key(export)
        members = sorted(groups.get(key, []), key=lambda e: e.name) if key is not None else []
        if len(members) < 2:
            out[uid] = export
            continue
        first = members[0]
        if first.unique_id not in out:
            out[first.unique_id] = Workbook.of(members)
    return out


def members_of(export: Export) -> list[Export]:
    """The exports a node writes: a workbook's members, or the export itself."""
    return export.members if isinstance(export, Workbook) else [export]


def write_workbook(destination: Any, workbook: Workbook, chunks: Callable[[Export], Iterator[Any]]
                   ) -> list[tuple[Export, int, list[str]]]:
    """Write every member's rows as a sheet of one workbook, atomically (the file destination's temporary
    name and rename); returns (member, rows, notes) per sheet."""
    from pds_core.publish.xlsx import Sheet, write_xlsx

    written: list[Any] = []

    def writer(handle: Any) -> int:
        sheets = [Sheet(name, chunks(member)) for member, name in zip(workbook.members, workbook.sheets, strict=True)]
        written.extend(write_xlsx(handle, sheets))
        return sum(s.rows for s in written)

    destination.write_with(writer)
    return [(member, sheet.rows, sheet.notes) for member, sheet in zip(workbook.members, written, strict=True)]
