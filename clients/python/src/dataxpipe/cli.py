"""The `dataxpipe` command. Exit codes: 0 done; 1 an error-severity check failed (or errored), so a CI
step fails on it; 2 bad usage, configuration, an API refusal or an unreachable server."""

import argparse
import json
import sys
from pathlib import Path

from dataxpipe import render
from dataxpipe.client import FINISHED_RUN_STATUSES, Client
from dataxpipe.errors import ApiError, DataXPipeError

EXIT_CHECK_FAILED = 1
EXIT_ERROR = 2


def _pipelines_register(client, args):
    try:
        spec = json.loads(Path(args.file).read_text())
    except (OSError, ValueError) as error:
        raise DataXPipeError(f"Cannot read a JSON pipeline spec from {args.file}: {error}") from None
    pipeline = client.register_pipeline(spec)
    return pipeline, f"registered {pipeline.get('name')} version {pipeline.get('version')}"


def _runs_start(client, args):
    run = client.start_run(args.pipeline, args.run_id)
    return run, run.get("run_id")  # alone on its line, so a shell can capture it: RUN=$(dataxpipe runs start p)


def _runs_finish(client, args):
    run = client.finish_run(args.run_id, args.status)
    return run, render.run_line(run)


def _checks_execute(client, args):
    try:
        sql = Path(args.sql_file).read_text() if args.sql_file else None
    except OSError as error:
        raise DataXPipeError(f"Cannot read {args.sql_file}: {error}") from None
    result = client.execute_check(
        args.check_id, connection_id=args.connection, sql=sql, run_id=args.run_id, pipeline=args.pipeline
    )
    return result, render.check_result_line(result)


def _checks_results(client, args):
    filters = {
        "pipeline": args.pipeline,
        "status": args.status,
        "run_id": args.run_id,
        "check_id": args.check_id,
        "severity": args.severity,
        "page_size": args.limit,
    }
    page = client.check_results(**filters)
    results = page.get("results", []) if isinstance(page, dict) else page
    return page, "\n".join(render.check_result_line(result) for result in results) or "no results"


def _lineage(client, args):
    graph = client.lineage(args.dataset, depth=args.depth, direction=args.direction)
    return graph, render.lineage_tree(graph)


def _whoami(client, args):
    me = client.organization_me()
    lines = [f"organization: {me.get('name') or me.get('slug')} ({me.get('slug')})", f"plan: {me.get('plan')}"]
    return me, "\n".join([*lines, f"role: {me.get('role')}"])


def is_breaking(result: dict) -> bool:
    return result.get("severity") == "error" and result.get("status") in ("fail", "error")


def build_parser() -> argparse.ArgumentParser:
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the API's JSON")
    parser = argparse.ArgumentParser(
        prog="dataxpipe",
        description="DataXPipe Catalog from the command line (DATAXPIPE_URL, DATAXPIPE_API_KEY, "
        "DATAXPIPE_TIMEOUT_SECONDS).",
    )
    parser.add_argument("--json", action="store_true", help="print the API's JSON (for machines)")
    commands = parser.add_subparsers(dest="command", required=True)

    pipelines = commands.add_parser("pipelines", help="pipeline metadata").add_subparsers(dest="action", required=True)
    register = pipelines.add_parser("register", parents=[json_flag], help="register a pipeline.json")
    register.add_argument("file")
    register.set_defaults(handler=_pipelines_register)

    runs = commands.add_parser("runs", help="run events").add_subparsers(dest="action", required=True)
    start = runs.add_parser("start", parents=[json_flag], help="start a run; prints its run id")
    start.add_argument("pipeline")
    start.add_argument("--run-id", help="your own run id (same id = same run); generated when omitted")
    start.set_defaults(handler=_runs_start)
    finish = runs.add_parser("finish", parents=[json_flag], help="finish a run")
    finish.add_argument("run_id")
    finish.add_argument("--status", required=True, choices=FINISHED_RUN_STATUSES)
    finish.set_defaults(handler=_runs_finish)

    checks = commands.add_parser("checks", help="data-quality checks").add_subparsers(dest="action", required=True)
    execute = checks.add_parser(
        "execute", parents=[json_flag], help="execute a check; exit 1 when an error-severity check fails"
    )
    execute.add_argument("--check-id", required=True)
    execute.add_argument("--connection", help="connection id (default: the check definition's)")
    execute.add_argument("--sql-file", help="file holding the check's SQL (default: the check definition's)")
    execute.add_argument("--run-id")
    execute.add_argument("--pipeline", help="the pipeline defining the check, when several define its id")
    execute.set_defaults(handler=_checks_execute)
    results = checks.add_parser("results", parents=[json_flag], help="recent check results, newest first")
    results.add_argument("--pipeline")
    results.add_argument("--status", choices=["pass", "fail", "error"])
    results.add_argument("--severity", choices=["error", "warn", "info"])
    results.add_argument("--run-id")
    results.add_argument("--check-id")
    results.add_argument("--limit", type=int, default=20)
    results.set_defaults(handler=_checks_results)

    lineage = commands.add_parser("lineage", parents=[json_flag], help="a dataset's upstream and downstream")
    lineage.add_argument("dataset")
    lineage.add_argument("--depth", type=int)
    lineage.add_argument("--direction", choices=["upstream", "downstream", "both"])
    lineage.set_defaults(handler=_lineage)

    whoami = commands.add_parser("whoami", parents=[json_flag], help="the key's organization and plan")
    whoami.set_defaults(handler=_whoami)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        client = Client.from_env()
        payload, text = args.handler(client, args)
    except ApiError as error:
        print(f"dataxpipe: {error.method} {error.path} answered {error.status}", file=sys.stderr)
        print(render.api_error(error.body), file=sys.stderr)
        return EXIT_ERROR
    except DataXPipeError as error:
        print(f"dataxpipe: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(json.dumps(payload, indent=2) if args.json else text)
    if args.handler is _checks_execute and is_breaking(payload):
        print(f"dataxpipe: error-severity check {payload.get('check_id')} {payload.get('status')}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
