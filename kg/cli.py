"""The `kg` command: a thin typer layer over the library. Each command parses options, makes one
library call and formats the result; errors a user can cause become a message and an exit code
(0 ok, 1 failure or findings, 2 usage error), never a traceback.

Annotations here are evaluated when the module loads (no `from __future__ import annotations`):
typer reads every command's signature on every run, and string annotations cost it an eval each.
"""

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from kg.errors import KgError, UsageError
from kg.formats import COMPARE_FORMATS, VIEW_FORMATS, format_for
from kg.results import FORMATS as RESULT_FORMATS


class _Group(TyperGroup):
    """Reports KgError as `Error: ...` on stderr with the error's exit code, and a failure of the file
    system (a full disk, a read-only or missing folder, no permission) as one line with exit 1: the
    writes are atomic, so what was there before is still there."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KgError as error:
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(error.exit_code) from None
        except OSError as error:
            where = f": {error.filename}" if error.filename else ""
            typer.echo(f"Error: {error.strerror or error}{where}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Group,
    help="Compare cancer immunotherapies in a sourced knowledge graph.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Format(str, Enum):
    table = "table"
    json = "json"


CompareFormat = Enum("CompareFormat", {name: name for name in COMPARE_FORMATS}, type=str)  # type: ignore[misc]


class ListType(str, Enum):
    modality = "modality"
    product = "product"
    trial = "trial"
    approval = "approval"
    award = "award"
    source = "source"


StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        envvar="THERAPY_KG_STORE",
        help="Directory of the on-disk store (default: the user cache directory).",
        show_default=False,
    ),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def _version(value: bool) -> None:
    """`kg --version`: the package, the bundled data (file count and fingerprint) and the store's build."""
    if not value:
        return
    import datetime as dt

    import kg
    from kg import resources, sources
    from kg import store as stores

    files = sources.input_files()
    origin = "" if resources.data_dir() == resources.DATA_DIR else f", from {resources.data_dir()}"
    typer.echo(f"therapy-kg {kg.__version__}")
    typer.echo(
        f"data: {sources.data_version()} ({len(files)} files, fingerprint {sources.fingerprint(files)[:12]}{origin})"
    )
    root = stores.default_location()
    build = stores.current_build(root)
    built = dt.datetime.fromtimestamp(build.stat().st_mtime).isoformat(timespec="seconds") if build else None
    typer.echo(f"store: {root} ({f'built {built}' if built else 'not built yet'})")
    raise typer.Exit()


@app.callback()
def _options(
    ctx: typer.Context,
    store: StoreOption = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Show the version of the package, the data and the store, and exit.",
        ),
    ] = False,
) -> None:
    """Compare cancer immunotherapies in a sourced knowledge graph.

    Example: kg show car-nk
    """
    ctx.obj = store


def _graph(ctx: typer.Context) -> Any:
    """Open the graph, saying so on stderr when it has to be built first."""
    import kg
    from kg import store as stores

    root = ctx.obj
    if not stores.is_current(root):
        typer.echo("Building the knowledge graph (first use, or the ontology or data changed)...", err=True)
    return kg.open_graph(root)


EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint", help="Run against this SPARQL 1.1 endpoint instead of the local store.", show_default=False
    ),
]


def _source(ctx: typer.Context, endpoint: str | None) -> Any:
    """The local graph, or a graph over a remote SPARQL endpoint."""
    if endpoint:
        from kg.remote import remote_graph

        return remote_graph(endpoint)
    return _graph(ctx)


@contextmanager
def _paged(pager: bool) -> Iterator[Any]:
    """A console whose output goes through the user's pager when it is a terminal and paging is wanted
    (piped output and --no-pager print directly)."""
    console = _console()
    if pager and console.is_terminal:
        with console.pager(styles=True):
            yield console
    else:
        yield console


def _console() -> Any:
    from rich.console import Console

    return Console(soft_wrap=False)


@app.command()
def build(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the store is current.")] = False,
) -> None:
    """Parse, validate (SHACL) and load the ontology and data into the on-disk store.

    A failed build leaves the previous store untouched. Example: kg build --force
    """
    import kg

    result = kg.build(ctx.obj, force=force)
    if result.rebuilt:
        typer.echo(f"Built {result.quads} triples from {result.files} files into {result.location}")
    else:
        typer.echo(f"Store is current: {result.location}")


@app.command()
def validate() -> None:
    """Check the ontology and data against the SHACL shapes and provenance rules; exit 1 on findings.

    Example: kg validate
    """
    import kg

    findings = kg.validate()
    for finding in findings:
        typer.echo(str(finding))
    if findings:
        typer.echo(f"{len(findings)} finding(s).", err=True)
        raise typer.Exit(1)
    typer.echo("Ontology and data are valid.")


@app.command()
def stats(ctx: typer.Context, output: FormatOption = Format.table) -> None:
    """Counts of triples, named graphs, sources and resources by class.

    Example: kg stats --format json
    """
    from kg import render

    numbers = _graph(ctx).stats()
    if output is Format.json:
        typer.echo(render.dumps(numbers))
        return
    from rich.table import Table

    console = _console()
    console.print(
        f"{numbers['triples']} triples in {numbers['named_graphs']} named graphs ({numbers['sources']} sources)"
    )
    table = Table("Class", "Count")
    for label, count in numbers["classes"].items():
        table.add_row(label, str(count))
    console.print(table)


@app.command()
def coverage(
    ctx: typer.Context,
    therapy: Annotated[
        str | None, typer.Argument(help="Only the products under this therapy, e.g. pd-1-inhibitor.")
    ] = None,
    output: FormatOption = Format.table,
) -> None:
    """How complete the regulatory record is, per product: approvals by agency with the latest date
    and withdrawn indications, how many approvals state their pivotal trial, line of therapy and
    setting, FDA actions loaded from Drugs@FDA, and sources by claim kind with the
    share that are primary or official documents. A product with few approvals here may have more
    in reality: the graph records only what its sources were checked for.

    Example: kg coverage car-t
    """
    from kg import render
    from kg.coverage import coverage as measure
    from kg.coverage import official_sources

    graph = _graph(ctx)
    products, official = measure(graph, therapy), official_sources(graph)
    if output is Format.json:
        typer.echo(render.dumps(render.coverage_json(products, official)))
    else:
        render.print_coverage(products, official, _console())


@app.command("list")
def list_items(
    ctx: typer.Context,
    kind: Annotated[ListType | None, typer.Option("--type", "-t", help="Only this kind of item.")] = None,
    output: FormatOption = Format.table,
) -> None:
    """List therapies, trials, approvals, awards or sources.

    Example: kg list --type product
    """
    from kg import render

    items = _graph(ctx).catalogue(kind.value if kind else None)
    if output is Format.json:
        typer.echo(render.dumps(items))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table("Type", "Id", "Label")
    for item in items:
        table.add_row(item["type"], escape(item["id"]), escape(item["label"]))
    _console().print(table)


@app.command()
def show(
    ctx: typer.Context,
    therapy: Annotated[str, typer.Argument(help="Therapy id or any of its names, e.g. car-nk, Kymriah, CTL019.")],
    output: FormatOption = Format.table,
    sources: Annotated[bool, typer.Option("--sources/--no-sources", help="Show citations.")] = True,
    endpoint: EndpointOption = None,
) -> None:
    """Everything known about one therapy: properties (inherited values marked), approvals, trials,
    adverse-event observations, each with its sources.

    Example: kg show kymriah --format json
    """
    from kg import render

    description = _source(ctx, endpoint).describe(therapy)
    if output is Format.json:
        typer.echo(render.dumps(render.description_json(description)))
    else:
        render.print_description(description, _console(), sources=sources)


@app.command()
def compare(
    ctx: typer.Context,
    therapies: Annotated[list[str], typer.Argument(help="Two or more therapies: modalities, products or a mix.")],
    output: Annotated[
        CompareFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format (default: from -o's extension, else table): "
            + "; ".join(f"{f.name}: {f.summary}" for f in COMPARE_FORMATS.values())
            + ".",
            show_default=False,
        ),
    ] = None,
    only_differences: Annotated[bool, typer.Option("--only-differences", help="Hide rows where all agree.")] = False,
    sources: Annotated[bool, typer.Option("--sources/--no-sources", help="Show citations.")] = True,
    group: Annotated[str | None, typer.Option("--group", help="Only this group, e.g. safety.")] = None,
    evidence: Annotated[
        str | None,
        typer.Option(
            "--evidence",
            help="Only values a source of this kind or a stronger one states: primary, regulatory, registry, review, popular.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    summary: Annotated[
        bool,
        typer.Option(
            "--summary",
            help="Collapse each therapy's evidence into one value with the range and counts (42–95 % · 7 products · 9 trials).",
        ),
    ] = False,
    pager: Annotated[
        bool,
        typer.Option("--pager/--no-pager", help="Page a table longer than the terminal (only on a terminal; $PAGER)."),
    ] = True,
    endpoint: EndpointOption = None,
) -> None:
    """Compare therapies side by side; every value with its sources, differing rows highlighted.

    Groups: manufacturing, safety, mechanism, targets, regulatory, evidence. Each source is shown with
    its kind of claim and date; --evidence primary keeps only values primary evidence supports.
    Example: kg compare car-t car-nk --format markdown
    """
    from kg import report
    from kg.compare import compare as run_compare
    from kg.compare import summarised

    chosen = output.value if output is not None else (format_for(out) if out is not None else None) or "table"
    if out is not None and chosen == "table":
        raise UsageError(
            f"Cannot tell a format from '{out.name}': name the file .md, .csv, .json, .html, .xlsx or "
            ".parquet, or give --format."
        )
    if COMPARE_FORMATS[chosen].binary and out is None:
        raise UsageError(f"--format {chosen} writes a file: give -o FILE{COMPARE_FORMATS[chosen].extension}.")
    comparison = run_compare(
        _source(ctx, endpoint), therapies, group=group, only_differences=only_differences, evidence=evidence
    )
    if summary:
        comparison = summarised(comparison)
    if chosen == "table":
        with _paged(pager) as console:
            report.print_table(comparison, console, sources=sources)
        return
    content = report.WRITERS[chosen](comparison, sources=sources)
    if out is None:
        typer.echo(content, nl=False)
    else:
        from kg.atomic import write_file

        write_file(out, content)
        typer.echo(f"Wrote {out}", err=True)


QueryFormat = Enum("QueryFormat", {"table": "table", **{f.name: f.name for f in RESULT_FORMATS}}, type=str)  # type: ignore[misc]


@app.command()
def query(
    ctx: typer.Context,
    sparql: Annotated[
        str | None, typer.Argument(help="The query text (or use --file / --named).", show_default=False)
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Read the query from a .rq file.", show_default=False)
    ] = None,
    name: Annotated[
        str | None, typer.Option("--named", help="Run a named query (see kg queries).", show_default=False)
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE, bound as a value.", show_default=False)
    ] = None,
    output: Annotated[
        QueryFormat, typer.Option("--format", "-f", help="table, or a W3C results / RDF format.")
    ] = QueryFormat("table"),
    endpoint: EndpointOption = None,
) -> None:
    """Run a read-only SPARQL query: inline, from a file or by name, with parameters bound as values.

    The project prefixes are predeclared (kg prefixes), relative IRIs resolve against
    https://w3id.org/therapy-kg/resource/, and the default graph is the merge of the named graphs
    (each triple once); GRAPH ?source { ... } names the source of each fact.
    Example: kg query --named fact-sources --param therapy=car-nk --format csv
    """
    from kg import query as queries
    from kg import results

    chosen = [x for x in (sparql, file, name) if x is not None]
    if len(chosen) != 1:
        raise typer.BadParameter("Give exactly one of: a query, --file FILE, --named NAME.")
    named = queries.named(name) if name else None
    if named:
        text = named.text
    elif file:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as error:
            raise typer.BadParameter(f"Cannot read {file}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise typer.BadParameter(f"{file} is not UTF-8 text; give a file holding a SPARQL query.") from None
    else:
        text = sparql or ""
    graph = _source(ctx, endpoint)
    values = queries.bindings(graph, named, queries.parse_params(param or []))
    result = results.read(queries.run(graph, text, values))
    if output.value == "table":
        _print_result_table(result)
    else:
        sys.stdout.buffer.write(results.serialize(result, output.value))
        sys.stdout.flush()


def _print_result_table(result: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    from kg import results, vocab

    if result.kind == "graph":
        sys.stdout.buffer.write(results.serialize(result, "turtle"))
        return
    header, rows = results.table_rows(result, vocab.compact)
    table = Table(*header)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    console = _console()
    console.print(table)
    console.print(f"{len(rows)} row(s)")


@app.command("queries")
def list_queries(output: FormatOption = Format.table) -> None:
    """List the named queries with a one-line summary and their parameters.

    Example: kg queries --format json
    """
    from kg import render
    from kg.query import named_queries

    items: list[dict[str, Any]] = [
        {
            "name": q.name,
            "summary": q.summary,
            "parameters": [
                {"name": p.name, "kind": p.kind, "required": p.required, "description": p.description}
                for p in q.parameters
            ],
        }
        for q in named_queries().values()
    ]
    if output is Format.json:
        typer.echo(render.dumps(items))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table("Summary", "Parameters")
    table.add_column("Name", no_wrap=True, min_width=max(len(item["name"]) for item in items))  # names are copied whole
    table.columns.insert(0, table.columns.pop())
    for item in items:
        params = ", ".join(
            f"{p['name']} ({p['kind']}{'' if p['required'] else ', optional'})" for p in item["parameters"]
        )
        table.add_row(item["name"], escape(item["summary"]), params)
    _console().print(table)


@app.command()
def prefixes(output: FormatOption = Format.table) -> None:
    """The prefixes predeclared in every query (kg query, kg serve).

    Example: kg prefixes
    """
    from kg import render, vocab

    if output is Format.json:
        typer.echo(render.dumps(vocab.PREFIXES))
        return
    for prefix, namespace in vocab.PREFIXES.items():
        typer.echo(f"PREFIX {prefix}: <{namespace}>")


@app.command()
def push(
    ctx: typer.Context,
    endpoint: Annotated[str, typer.Option("--endpoint", help="Server base URL or its Graph Store Protocol URL.")],
    query: Annotated[
        str | None, typer.Option("--query", help="The store's SPARQL query URL, for the check (if not implied).")
    ] = None,
    update: Annotated[
        str | None, typer.Option("--update", help="The store's SPARQL update URL, for batched pushes (if not implied).")
    ] = None,
) -> None:
    """Upload the built graph to a SPARQL 1.1 store and check it arrived: every named graph, and their
    merge as the default graph. Pushing again leaves the same data; graphs the build no longer has
    are dropped. A bare server address means Oxigraph (/store, /query, /update), a Virtuoso
    /sparql-graph-crud URL implies its /sparql; any other URL is a Graph Store URL, with --query and
    --update where the store has them.

    Example: kg push --endpoint http://127.0.0.1:7878
    """
    from kg.push import push as upload

    graph = _graph(ctx)
    shown = [-1]

    def progress(sent: int, total: int) -> None:
        tenth = sent * 10 // max(total, 1)
        if tenth > shown[0]:
            shown[0] = tenth
            typer.echo(f"  {sent} of {total} triples sent", err=True)

    result = upload(graph.location, endpoint, query=query, update=update, progress=progress)
    where = (
        "the default graph"
        if result.default_graph == "default"
        else f"the named graph <{result.default_graph}> (the store has no separate default graph; kg queries use it as one)"
    )
    checked = "; every graph holds as many triples as in the build" if result.checked else " (not checked: no --query)"
    typer.echo(
        f"Pushed {result.triples} triples in {result.graphs} named graphs to {result.endpoint} "
        f"({result.method}, {result.requests} requests); their merge went to {where}{checked}."
    )


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0 picks a free one).")] = 7070,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds a query may run.")] = 10.0,
    max_rows: Annotated[int, typer.Option("--max-rows", help="Most result rows returned.")] = 10000,
    max_bytes: Annotated[int, typer.Option("--max-bytes", help="Largest result in bytes.")] = 50_000_000,
    max_memory: Annotated[int, typer.Option("--max-memory", help="MB of memory a query worker may use.")] = 1024,
    cors: Annotated[
        str | None, typer.Option("--cors", help="Allowed origin for browser clients, e.g. '*'.", show_default=False)
    ] = None,
    workers: Annotated[int, typer.Option("--workers", help="Query worker processes.")] = 2,
) -> None:
    """Serve the graph as a read-only SPARQL 1.1 Protocol endpoint at /sparql, with a front page at /.

    Updates and SERVICE are refused; queries have a timeout, a memory cap and caps on rows and bytes.
    A newer build (kg build, kg ingest) is served from the first request after it is complete.
    Example: kg serve --port 7070
    """
    from kg import store as stores
    from kg.server import ServerConfig, run_server

    config = ServerConfig(
        host=host,
        port=port,
        timeout=timeout,
        max_rows=max_rows,
        max_bytes=max_bytes,
        max_memory=max_memory,
        cors=cors,
        workers=workers,
    )
    root = ctx.obj or stores.default_location()
    if not stores.is_current(root):
        typer.echo("Building the knowledge graph (first use, or the ontology or data changed)...", err=True)
        stores.build(root)
    run_server(root, config, announce=lambda url: typer.echo(f"SPARQL endpoint: {url}sparql  (Ctrl-C stops)", err=True))


@app.command()
def view(
    ctx: typer.Context,
    therapies: Annotated[
        list[str] | None,
        typer.Argument(help="Two or more therapies: modalities, products or a mix.", show_default=False),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write (default: NAME.html or NAME.svg, e.g. car-t-vs-car-nk.html).",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="html (the page: graph, evidence, approvals, table) or svg (the graph, for slides); default from -o's extension, else html.",
            show_default=False,
        ),
    ] = None,
    all_therapies: Annotated[
        bool, typer.Option("--all", help="Every modality, with its products, as an overview.")
    ] = False,
    endpoint: EndpointOption = None,
) -> None:
    """Write a comparison as one offline HTML page, or its graph as SVG.

    The page has four tabs: the comparison graph (rows are properties, shared values in the middle,
    evidence summarised per therapy and opening on click), the observed rates with 95 % intervals,
    the approval timeline, and the comparison table. Example: kg view car-t car-nk -o car-t-vs-car-nk.html
    """
    from kg.view import comparison_view, overview_view, render_html, render_svg, write_view

    chosen = output_format or (format_for(out, VIEW_FORMATS) if out else None) or "html"
    if chosen not in VIEW_FORMATS:
        raise UsageError(f"Unknown view format '{chosen}'. Formats: {', '.join(VIEW_FORMATS)}.")
    graph = _source(ctx, endpoint)
    if all_therapies:
        if therapies:
            raise UsageError("--all draws every therapy; give either therapies or --all.")
        drawn = overview_view(graph)
    else:
        drawn = comparison_view(graph, therapies or [])
    path = out or Path(f"{drawn.name}.{chosen}")
    write_view(path, render_svg(drawn) if chosen == "svg" else render_html(drawn))
    typer.echo(f"Wrote {path}", err=True)


@app.command("diff")
def diff_command(
    old: Annotated[Path, typer.Argument(help="The older data folder (catalogue/ and sources/) or store folder.")],
    new: Annotated[Path, typer.Argument(help="The newer one.")],
    output: FormatOption = Format.table,
) -> None:
    """List the curated facts added, removed and changed between two versions of the data, by source
    and by what they are about. Exit status 1 when they differ, as diff does.

    Example: kg diff data-0.1.0/ data/
    """
    from kg import render
    from kg.diff import diff

    result = diff(old, new)
    if output is Format.json:
        typer.echo(
            render.dumps({"old": result.old, "new": result.new, "counts": result.counts(), "changes": result.changes})
        )
    else:
        from rich.markup import escape
        from rich.table import Table

        table = Table("Source", "About", "Property", "Change")
        for change in result.changes:
            what = {
                "added": f"+ {', '.join(change.new)}",
                "removed": f"- {', '.join(change.old)}",
                "changed": f"{', '.join(change.old)} → {', '.join(change.new)}",
            }[change.kind]
            table.add_row(escape(change.source), escape(change.subject), escape(change.predicate), escape(what))
        console = _console()
        if result.changes:
            console.print(table)
        counts = result.counts()
        console.print(f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed.")
    if result.changes:
        raise typer.Exit(1)


ingest_app = typer.Typer(help="Add registry records and regulators' data files to the graph.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")


@ingest_app.command("ctgov")
def ingest_ctgov(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help='Study JSON files, {"studies": [...]} pages, JSON Lines files or directories.'),
    ] = None,
    term: Annotated[str | None, typer.Option("--term", help="Fetch the studies the API finds for these words.")] = None,
    condition: Annotated[str | None, typer.Option("--condition", help="Fetch studies of this condition.")] = None,
    intervention: Annotated[
        str | None, typer.Option("--intervention", help="Fetch studies of this intervention.")
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="Only studies of this overall status (RECRUITING, COMPLETED, ...); repeatable."),
    ] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Fetch the ingested studies again; newer versions replace them.")
    ] = False,
    api: Annotated[
        str | None,
        typer.Option("--api", help="The API's base URL (default https://clinicaltrials.gov/api/v2), e.g. a mirror."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print how many studies match; fetch nothing.")] = False,
) -> None:
    """Add ClinicalTrials.gov API v2 study records, read from files or fetched by a search: trials,
    status, phases, enrolment, sponsors, conditions, interventions linked to known therapies,
    countries and results' adverse events. Each record is a named graph; a newer record replaces the
    older one. Bad records are reported and skipped. A search (kg ingest ctgov --intervention CAR-NK
    --status RECRUITING) fetches every page from the API; the pages are kept under the store's
    fetched/ folder.

    Example: kg --store /data/therapy-kg ingest ctgov studies/
    """
    from kg import fetch
    from kg import store as stores
    from kg.registry import ingest_ctgov as run_ingest
    from kg.registry import ingested_trials

    root = ctx.obj or stores.default_location()
    searches = []
    if term or condition or intervention:
        searches.append(fetch.Search(term, condition, intervention, tuple(s.upper() for s in status or ())))
    elif status:
        raise UsageError("--status narrows a search: give --term, --condition or --intervention too.")
    if refresh:
        searches += fetch.refresh_searches(ingested_trials(root))
    if not paths and not searches:
        if refresh:
            typer.echo("No ClinicalTrials.gov record has been ingested yet: nothing to refresh.")
            return
        raise UsageError("Give files or folders to read, or a search to fetch (--term, --condition, --intervention).")
    client = fetch.Client(api=api or fetch.API)
    if dry_run:
        if not searches:
            raise UsageError("--dry-run counts the studies a search finds: give --term, --condition or --intervention.")
        typer.echo(f"{sum(fetch.count(client, search) for search in searches)} studies match.")
        return
    inputs = list(paths or [])
    if searches:
        with _fetch_progress() as fetched:
            folder = fetch.fetch(client, searches, root, progress=fetched)
        pages = sorted(folder.glob("page-*.json"))
        typer.echo(f"Fetched {len(pages)} pages into {folder}", err=True)
        inputs += pages
    report = _ingest(
        ctx, "records", lambda root, tick: run_ingest(root, inputs, progress=tick, waiting=_wait_for_other_ingest)
    )
    if report.unmatched:
        top = sorted(report.unmatched.items(), key=lambda item: (-item[1], item[0]))
        shown = ", ".join(f"{name} ({count})" for name, count in top[:10])
        more = f" and {len(top) - 10} more" if len(top) > 10 else ""
        typer.echo(f"Interventions not linked to a known therapy (kept as text): {shown}{more}")
    if report.unattributed:
        groups = [f"{key} {title!r}" for key, titles in sorted(report.unattributed.items()) for title in titles]
        more = f" and {len(groups) - 5} more" if len(groups) > 5 else ""
        typer.echo(
            f"Results groups tied to no arm or therapy, their adverse events left out: {len(groups)} in"
            f" {len(report.unattributed)} records ({'; '.join(groups[:5])}{more})"
        )
    _report_problems(report)


@ingest_app.command("drugsatfda")
def ingest_drugsatfda(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The Drugs@FDA zip (drugsatfda*.zip) or the folder it unpacks to.")],
) -> None:
    """Add FDA's approval actions from the Drugs@FDA data files for the products in the graph: each
    application (e.g. BLA 125514) is a named graph with every approved submission — original,
    efficacy, labeling, manufacturing, REMS — its date, class, priority and FDA's letters and labels.
    A newer export replaces an application's older graph. Download the zip from
    https://www.fda.gov/drugs/drug-approvals-and-databases/drugsfda-data-files.

    Example: kg ingest drugsatfda drugsatfda20251201.zip
    """
    from kg.registry import ingest_drugsatfda as run_ingest

    _report_problems(
        _ingest(
            ctx,
            "applications",
            lambda root, tick: run_ingest(root, path, progress=tick, waiting=_wait_for_other_ingest),
        )
    )


@ingest_app.command("ema")
def ingest_ema(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(
            help="EMA's medicines table (Medicines_output_european_public_assessment_reports.xlsx) or a CSV of it."
        ),
    ],
) -> None:
    """Add EU marketing authorisations from EMA's medicines table for the products in the graph:
    each medicine (e.g. EMEA/H/C/003820) is a named graph with its holder, status, orphan flag and
    authorisation date (conditional where EMA says so). A later update of a medicine replaces it.
    Download the table from https://www.ema.europa.eu/en/medicines/download-medicine-data.

    Example: kg ingest ema Medicines_output_european_public_assessment_reports.xlsx
    """
    from kg.registry import ingest_ema as run_ingest

    _report_problems(
        _ingest(
            ctx, "medicines", lambda root, tick: run_ingest(root, path, progress=tick, waiting=_wait_for_other_ingest)
        )
    )


@ingest_app.command("openfda-label")
def ingest_openfda_label(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="openFDA drug label replies or bulk download files (.json, .json.zip), or folders of them."
        ),
    ],
) -> None:
    """Add the current US labels of the products in the graph from openFDA's drug label data: each
    product's newest label is a named graph, its prescribing information dated by its effective
    time, with the risks its boxed warning names linked to the catalogue's adverse events. A newer
    label replaces the older one. Get a label with
    curl -o kymriah.json 'https://api.fda.gov/drug/label.json?search=openfda.generic_name:"tisagenlecleucel"'
    or the bulk files from https://open.fda.gov/data/downloads/.

    Example: kg ingest openfda-label kymriah.json drug-label-0001-of-0013.json.zip
    """
    from kg.registry import ingest_openfda_labels as run_ingest

    report = _ingest(
        ctx, "labels", lambda root, tick: run_ingest(root, paths, progress=tick, waiting=_wait_for_other_ingest)
    )
    if report.unmatched:
        named = ", ".join(f"{name} ({count})" for name, count in sorted(report.unmatched.items()))
        typer.echo(f"Boxed-warning risks not in the catalogue (noted on the label as text): {named}")
    _report_problems(report)


def _ingest(ctx: typer.Context, noun: str, run: Callable[[Path, Callable[[int], None]], Any]) -> Any:
    """Run one ingest into the store with a progress bar and print its summary; the report."""
    from kg import store as stores

    with _progress(f"Reading {noun}") as tick:
        report = run(ctx.obj or stores.default_location(), tick)
    typer.echo(
        f"{len(report.ingested)} {noun} ingested, {len(report.updated)} updated, {len(report.unchanged)} unchanged,"
        f" {len(report.older)} older than kept, {len(report.problems)} skipped; {report.triples} triples written."
    )
    return report


def _wait_for_other_ingest() -> None:
    typer.echo("Another kg ingest is writing to this store; waiting for it to finish...", err=True)


def _report_problems(report: Any) -> None:
    """Name the first 50 skipped records on stderr; exit 1 if any was skipped."""
    for problem in report.problems[:50]:
        typer.echo(f"skipped {problem.where}: {problem.message}", err=True)
    if len(report.problems) > 50:
        typer.echo(f"... and {len(report.problems) - 50} more skipped records", err=True)
    for message, count in Counter(problem.message for problem in report.problems).most_common(10):
        if count > 1:  # files of one wrong kind, counted: "12 skipped: ClinicalTrials.gov's classic XML; ..."
            typer.echo(f"{count} skipped: {message}", err=True)
    if report.problems:
        raise typer.Exit(1)


@contextmanager
def _fetch_progress() -> Iterator[Callable[[Any], None]]:
    """Pages and studies fetched, of how many, and the time left, on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield lambda progress: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("Fetching: {task.fields[pages]} pages, {task.completed} of {task.fields[of]} studies"),
        BarColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as display:
        task = display.add_task("fetch", total=None, pages=0, of="?")

        def shown(progress: Any) -> None:
            known = progress.total is not None
            display.update(
                task,
                completed=progress.studies,
                total=progress.total,
                pages=progress.pages,
                of=progress.total if known else "?",
            )

        yield shown


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int], None]]:
    """A record counter on stderr when it is a terminal; silent otherwise."""
    if not sys.stderr.isatty():
        yield lambda count: None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}: {task.completed} records"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)
        yield lambda count: progress.update(task, completed=count) if count % 100 == 0 else None


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
