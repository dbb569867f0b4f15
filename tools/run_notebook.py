#!/usr/bin/python3
"""Execute one notebook with the Deno kernel through nbclient; write the executed notebook and an
HTML export. Called by tools/runner.ts; parameters reach the kernel in the KDLAB_PARAMS variable.

Exit codes: 0 ok, 1 a cell failed (the failing cell and its traceback go to stderr), 2 bad usage.
"""
import argparse
import os
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.util import ensure_async
from nbclient.exceptions import (
    CellExecutionComplete,
    CellExecutionError,
    CellTimeoutError,
    DeadKernelError,
)
from nbconvert import HTMLExporter


SENTINEL_ID = "kdlab-sentinel"


class LateOutputClient(NotebookClient):
    """A NotebookClient that keeps outputs arriving after their cell's `idle` status.

    The Deno kernel can publish a cell's last stream/display messages after it reports `idle`;
    stock nbclient stops listening at `idle` and drops them. Here every iopub message is routed to
    the cell whose request it answers (by parent msg_id), whenever it arrives. A no-op sentinel
    cell appended at the end gives the last real cell's stragglers time to land.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cells_by_msg_id = {}
        self.late_messages = 0

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        self.cells_by_msg_id[parent_msg_id] = (cell, cell_index)
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            msg_id = msg["parent_header"].get("msg_id")
            if msg_id == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    return
            elif msg_id in self.cells_by_msg_id and msg["msg_type"] != "status":
                self.late_messages += 1
                earlier, earlier_index = self.cells_by_msg_id[msg_id]
                try:
                    self.process_message(msg, earlier, earlier_index)
                except CellExecutionComplete:
                    pass


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("notebook")
    parser.add_argument("--ipynb", required=True)
    parser.add_argument("--html", required=True)
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--kernel", default="deno")
    args = parser.parse_args()

    nb = nbformat.read(args.notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("await new Promise((r) => setTimeout(r, 300));"))
    nb.cells[-1].id = SENTINEL_ID
    workdir = os.path.dirname(os.path.abspath(args.notebook))
    client = LateOutputClient(
        nb,
        kernel_name=args.kernel,
        timeout=args.timeout,
        startup_timeout=180,
        resources={"metadata": {"path": workdir}},
    )
    status = 0
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        status = 1
        sys.stderr.write(f"\nnotebook {args.notebook} failed:\n{error}\n")
    finally:
        if nb.cells and nb.cells[-1].get("id") == SENTINEL_ID:
            nb.cells.pop()
        if client.late_messages and os.environ.get("KDLAB_DEBUG"):
            sys.stderr.write(f"[kdlab] kept {client.late_messages} late output message(s)\n")
        nbformat.write(nb, args.ipynb)
        body, _ = HTMLExporter().from_notebook_node(nb)
        with open(args.html, "w", encoding="utf-8") as out:
            out.write(body)
    return status


if __name__ == "__main__":
    sys.exit(main())
