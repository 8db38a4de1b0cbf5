"""Local Sphinx extension (listed in _config.yml): the book build must not
hang on a chapter with live widgets.

MyST-NB executes each chapter with nbclient, which waits for a cell's reply
with one long poll of the kernel's shell socket (jupyter_client's
AsyncZMQSocketChannel.get_msg, with the cell timeout of 1800 s). After cells
that drive ipywidgets (the explorers of chapters 1b and 6), that poll can miss
the reply that has already arrived and sleep for the whole timeout: the kernel
is idle, the build waits. This is nbclient issue 312 (open). Seen here once
in chapter 6: the kernel had run the explorer check and was idle, and the
build still waited after 7 minutes.

Here get_msg polls in slices of at most one second until the same deadline.
A new poll first checks the socket for queued messages, so a missed wake-up
costs at most a second; the timeout and everything else are unchanged.
"""
import time
from queue import Empty

SLICE = 1.0      # seconds


def _sliced(get_msg):
    async def get_msg_in_slices(self, timeout=None):
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if end is None else max(0.0, end - time.monotonic())
            try:
                return await get_msg(self, timeout=SLICE if left is None
                                     else min(SLICE, left))
            except Empty:
                if left is not None and left <= SLICE:
                    raise
    get_msg_in_slices.sliced = True
    return get_msg_in_slices


def patch():
    """Slice nbclient's shell-socket poll in this process (idempotent). Also used by
    tests/execute_chapters.py and tests/test_student_run.py, which run notebooks with nbclient
    outside the build."""
    from jupyter_client.channels import AsyncZMQSocketChannel
    if not getattr(AsyncZMQSocketChannel.get_msg, "sliced", False):
        AsyncZMQSocketChannel.get_msg = _sliced(AsyncZMQSocketChannel.get_msg)


def setup(app):
    patch()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
