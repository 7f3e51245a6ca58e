"""The Citus distribution plan (`deploy/citus/distribution.toml`): read it, check a
migrated database's catalog against it, and render its table for `docs/scaling.md`.

`tests/integration/test_citus_ready.py` runs the check. `python -m tests.citus_plan`
prints the generated part of the doc; `--write` puts it between the doc's markers.

The rules are Citus's own (what `create_distributed_table` and `create_reference_table`
refuse), stated once here:
- a distributed table has its distribution column, NOT NULL (Citus refuses a row with
  NULL in it), of its colocation group's type;
- every primary key, unique constraint, unique index and exclusion constraint of a
  distributed table has the distribution column among its plain key columns (an
  expression over it does not count);
- a foreign key between distributed tables joins two tables of one colocation group
  and pairs their distribution columns; distributed -> reference is fine; distributed
  -> local, reference -> distributed and local -> distributed are refused.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
PLAN_PATH = ROOT / "deploy" / "citus" / "distribution.toml"
DOC_PATH = ROOT / "docs" / "scaling.md"
BEGIN = "<!-- citus-plan:begin (generated from deploy/citus/distribution.toml) -->"
END = "<!-- citus-plan:end -->"

# Piccolo's bookkeeping table, which never leaves the coordinator and is not ours.
IGNORED = frozenset({"migration"})
KINDS = frozenset({"distributed", "reference", "local"})


@dataclass(frozen=True)
class Group:
    name: str
    type: str
    shard_count: int
    value: str


@dataclass(frozen=True)
class Declared:
    name: str
    kind: str
    column: str | None = None
    colocation: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Migration:
    id: str
    title: str
    change: str
    why_not_now: str
    fixes: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    groups: dict[str, Group]
    tables: dict[str, Declared]
    migrations: tuple[Migration, ...]

    def known(self) -> dict[str, str]:
        """Each declared exception with the migration that lists it."""
        return {fix: m.id for m in self.migrations for fix in m.fixes}

    def problems(self) -> list[str]:
        """What is wrong with the declaration itself, whatever the database says."""
        found: list[str] = []
        for t in self.tables.values():
            if t.kind not in KINDS:
                found.append(f"{t.name}: kind {t.kind!r} is none of {sorted(KINDS)}")
            elif t.kind == "distributed":
                if not t.column or t.colocation not in self.groups:
                    found.append(f"{t.name}: a distributed table needs a column and a group")
            elif t.column or t.colocation:
                found.append(f"{t.name}: only a distributed table has a column and a group")
            if t.kind == "local" and not t.note:
                found.append(f"{t.name}: a local table says why it may stay on one node")
        seen: dict[str, str] = {}
        for m in self.migrations:
            if not (m.title and m.change and m.why_not_now):
                found.append(f"{m.id}: a migration has a title, a change and why_not_now")
            for fix in m.fixes:
                if fix in seen:
                    found.append(f"{fix}: listed by both {seen[fix]} and {m.id}")
                seen[fix] = m.id
                if fix.split(".", 1)[0] not in self.tables:
                    found.append(f"{fix}: names a table the plan does not declare")
        return found


def load_plan(path: Path = PLAN_PATH) -> Plan:
    data = tomllib.loads(path.read_text())
    groups = {
        name: Group(name, g["type"], int(g["shard_count"]), " ".join(g["value"].split()))
        for name, g in data["colocation"].items()
    }
    tables = {
        name: Declared(
            name,
            t["kind"],
            t.get("column"),
            t.get("colocation"),
            " ".join(str(t.get("note") or t.get("reason") or "").split()),
        )
        for name, t in data["tables"].items()
    }
    migrations = tuple(
        Migration(
            m["id"],
            m["title"],
            " ".join(m["change"].split()),
            " ".join(m["why_not_now"].split()),
            tuple(m["fixes"]),
        )
        for m in data.get("migration", [])
    )
    return Plan(groups, tables, migrations)


# --- the catalog --------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """A primary key, unique constraint or index, or exclusion constraint; None stands
    for an expression among the key columns."""

    table: str
    name: str
    kind: str  # "primary key", "unique", "exclusion"
    columns: tuple[str | None, ...]


@dataclass(frozen=True)
class ForeignKey:
    table: str
    name: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass
class Catalog:
    # table -> column -> (type, nullable)
    columns: dict[str, dict[str, tuple[str, bool]]] = field(default_factory=dict)
    keys: list[Key] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)


# Ordinary and partitioned tables of `public`; a partition follows its parent (Citus
# distributes the parent and its partitions together), so partitions and the copies of
# the parent's constraints on them are left out.
TABLES_SQL = """
SELECT c.oid, c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""
COLUMNS_SQL = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
       NOT a.attnotnull AS nullable
  FROM pg_attribute a
 WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
"""
# Every unique index (those behind primary keys and unique constraints too, under the
# constraint's name) and every exclusion constraint; key columns only, not INCLUDE.
KEYS_SQL = """
SELECT x.indrelid AS relid, i.relname AS name,
       CASE WHEN x.indisprimary THEN 'primary key' ELSE 'unique' END AS kind,
       ARRAY(SELECT a.attname FROM unnest(x.indkey[0:x.indnkeyatts - 1]) WITH ORDINALITY k(n, o)
               LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n
              ORDER BY k.o) AS columns
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
 WHERE x.indrelid = ANY($1::oid[]) AND x.indisunique
UNION ALL
SELECT c.conrelid, c.conname, 'exclusion',
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
               LEFT JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
              ORDER BY k.o)
  FROM pg_constraint c
 WHERE c.conrelid = ANY($1::oid[]) AND c.contype = 'x'
"""
FOREIGN_KEYS_SQL = """
SELECT c.conrelid AS relid, c.conname AS name, c.confrelid::regclass::text AS ref_table,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
              ORDER BY k.o) AS columns,
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
               JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n
              ORDER BY k.o) AS ref_columns
  FROM pg_constraint c
 WHERE c.conrelid = ANY($1::oid[]) AND c.contype = 'f' AND c.conparentid = 0
"""


async def read_catalog(conn: asyncpg.Connection) -> Catalog:
    names = {r["oid"]: r["relname"] for r in await conn.fetch(TABLES_SQL)}
    oids = list(names)
    catalog = Catalog({name: {} for name in names.values()})
    for r in await conn.fetch(COLUMNS_SQL, oids):
        catalog.columns[names[r["attrelid"]]][r["attname"]] = (r["type"], r["nullable"])
    for r in await conn.fetch(KEYS_SQL, oids):
        catalog.keys.append(Key(names[r["relid"]], r["name"], r["kind"], tuple(r["columns"])))
    for r in await conn.fetch(FOREIGN_KEYS_SQL, oids):
        catalog.foreign_keys.append(
            ForeignKey(
                names[r["relid"]],
                r["name"],
                tuple(r["columns"]),
                r["ref_table"].removeprefix("public."),
                tuple(r["ref_columns"]),
            )
        )
    return catalog


# --- the check ----------------------------------------------------------------------


@dataclass(frozen=True)
class Findings:
    undeclared: tuple[str, ...]  # tables in the database the plan does not name
    stale: tuple[str, ...]  # tables the plan names that the database does not have
    breaches: Mapping[str, str]  # "table.constraint" or "table.column" -> what is wrong


def _fk_breach(plan: Plan, fk: ForeignKey) -> str | None:
    src, ref = plan.tables.get(fk.table), plan.tables.get(fk.ref_table)
    if src is None or ref is None:
        return None  # reported as undeclared
    target = f"{fk.ref_table}({', '.join(fk.ref_columns)})"
    if src.kind == "distributed":
        if ref.kind == "reference":
            return None
        if ref.kind == "local":
            return f"foreign key from a distributed table to the local table {target}"
        if src.colocation != ref.colocation:
            return f"foreign key to {target}, in another colocation group ({ref.colocation})"
        if any(
            c == src.column and r == ref.column
            for c, r in zip(fk.columns, fk.ref_columns, strict=True)
        ):
            return None
        return (
            f"foreign key ({', '.join(fk.columns)}) -> {target} does not pair "
            f"{src.column} with {ref.column}: it may cross shards"
        )
    if ref.kind == "distributed":
        return f"foreign key from a {src.kind} table to the distributed table {target}"
    return None


def check(plan: Plan, catalog: Catalog) -> Findings:
    present = set(catalog.columns) - IGNORED
    breaches: dict[str, str] = {}
    for name in sorted(present & set(plan.tables)):
        t = plan.tables[name]
        if t.kind != "distributed":
            continue
        assert t.column is not None and t.colocation is not None
        column = catalog.columns[name].get(t.column)
        if column is None:
            breaches[f"{name}.{t.column}"] = f"no distribution column {t.column}"
        else:
            type_, nullable = column
            want = plan.groups[t.colocation].type
            if type_ != want:
                breaches[f"{name}.{t.column}"] = f"{t.column} is {type_}, group wants {want}"
            elif nullable:
                breaches[f"{name}.{t.column}"] = f"{t.column} may be NULL"
    for key in catalog.keys:
        owner = plan.tables.get(key.table)
        if owner is None or owner.kind != "distributed" or owner.column in key.columns:
            continue
        shown = ", ".join(c or "<expression>" for c in key.columns)
        breaches[f"{key.table}.{key.name}"] = f"{key.kind} ({shown}) lacks {owner.column}"
    for fk in catalog.foreign_keys:
        why = _fk_breach(plan, fk)
        if why is not None:
            breaches[f"{fk.table}.{fk.name}"] = why
    return Findings(
        undeclared=tuple(sorted(present - set(plan.tables))),
        stale=tuple(sorted(set(plan.tables) - present)),
        breaches=dict(sorted(breaches.items())),
    )


# --- the doc ------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(plan: Plan) -> str:
    """The generated part of docs/scaling.md: every table's place, then the known
    exceptions by migration."""
    lines = [BEGIN, "", "| table | distribution | colocation | note |", "|---|---|---|---|"]
    order = {"distributed": 0, "reference": 1, "local": 2}
    for t in sorted(plan.tables.values(), key=lambda t: (order.get(t.kind, 3), t.name)):
        if t.kind == "distributed":
            how, group = f"by `{t.column}`", f"`{t.colocation}`"
        else:
            how, group = t.kind, ""
        lines.append(f"| `{t.name}` | {how} | {group} | {_cell(t.note)} |")
    lines += ["", "Colocation groups:", ""]
    for g in plan.groups.values():
        lines.append(f"- `{g.name}`: {g.type}, {g.shard_count} shards; the value is {g.value}.")
    lines += ["", "Known exceptions, by the migration that removes them:", ""]
    for m in plan.migrations:
        lines.append(f"**{m.id}. {m.title}** ({len(m.fixes)})")
        lines.append("")
        lines.append(f"- Change: {m.change}")
        lines.append(f"- Not now: {m.why_not_now}")
        lines.append(f"- Fixes: {', '.join(f'`{f}`' for f in m.fixes)}")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def generated_part(doc: str) -> str | None:
    start, end = doc.find(BEGIN), doc.find(END)
    if start < 0 or end < start:
        return None
    return doc[start : end + len(END)]


def write_doc(plan: Plan, path: Path = DOC_PATH) -> None:
    doc = path.read_text()
    current = generated_part(doc)
    if current is None:
        raise SystemExit(f"{path} has no {BEGIN!r} ... {END!r} block")
    path.write_text(doc.replace(current, render(plan)))


def main(argv: list[str]) -> None:
    plan = load_plan()
    if "--write" in argv:
        write_doc(plan)
    else:
        print(render(plan))


if __name__ == "__main__":
    main(sys.argv[1:])
