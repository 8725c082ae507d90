"""``kling-desktop accounts``: the Kling accounts behind the token, with their credits."""

from __future__ import annotations

import argparse
import json

from kling_desktop.api import errors
from kling_desktop.cli import EXIT_FAILED, EXIT_OK
from kling_desktop.cli.common import UsageError, client_or_fail, fail_usage
from kling_desktop.context import CommandContext


def run(args: argparse.Namespace) -> int:
    ctx = CommandContext.load()
    try:
        client = client_or_fail(ctx)
    except UsageError as exc:
        return fail_usage(exc)
    with client:
        try:
            accounts = [client.get_account(a.email) for a in client.list_accounts()]
        except errors.ApiError as exc:
            print(f"kling-desktop: {exc}")
            return EXIT_FAILED
    rows = [
        {
            "email": a.email,
            "max_jobs": a.max_jobs,
            "session_expires": a.session.expire_time_utc or None,
            "credits": a.balance.total if a.balance else None,
            "error": a.error or None,
            "default": a.email == ctx.settings.default_email,
        }
        for a in accounts
    ]
    if args.json:
        print(json.dumps({"accounts": rows}, indent=2))
    elif not rows:
        print("No Kling account is configured behind this token.")
    else:
        for row in rows:
            mark = "*" if row["default"] else " "
            credits = "?" if row["credits"] is None else row["credits"]
            print(f"{mark} {row['email']}  maxJobs {row['max_jobs']}  credits {credits}")
    return EXIT_OK
