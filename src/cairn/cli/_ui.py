"""``cairn ui``: serve the workspace's pages on this machine until Ctrl-C."""

from __future__ import annotations

import click

__all__ = ["ui_command"]


@click.command(name="ui", short_help="Browse the workspace in a web browser.")
@click.option("--workspace", "-w", metavar="DIR|URL", help="Where outputs live.")
@click.option("--port", "-p", type=int, default=8765, show_default=True,
              help="Port to serve on (0: any free port).")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but 127.0.0.1 lets other machines in.")  # fmt: skip
def ui_command(workspace: str | None, port: int, host: str) -> int:
    """Serve the workspace in a browser: families and their runs (sort, filter, compare
    two), each task's record, log, failure and outputs, graphs, and builds live as they
    run. Nothing is loaded from the network; stop with Ctrl-C.
    """
    from rich.text import Text

    from cairn.running.build import open_workspace
    from cairn.ui.server import make_server

    state = click.get_current_context().find_root().obj
    store = open_workspace(workspace, None, state.config)
    server = make_server(store, host, port)
    state.err.print(Text(f"cairn ui: serving {store.url} at {server.url} (Ctrl-C stops)"))
    if host not in ("127.0.0.1", "localhost", "::1"):
        state.err.print(Text(f"warning: bound to {host}: other machines can read this workspace"))
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        state.err.print(Text("cairn ui: stopped"))
    finally:
        server.server_close()
    return 0
