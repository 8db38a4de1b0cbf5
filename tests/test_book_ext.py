"""The local Sphinx extensions in book/_ext (no build needed)."""
import asyncio
import sys
from pathlib import Path
from queue import Empty

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "book/_ext"))

import book_html      # noqa: E402
import nbclient_poll  # noqa: E402


class _Script(str):
    """Like Sphinx 7's _JavaScript: a str with filename and attributes."""
    def __new__(cls, filename, **attributes):
        self = str.__new__(cls, filename)
        self.filename, self.attributes = filename, attributes
        return self


def test_duplicate_inline_script_dropped():
    body = {"body": "const THEBE_JS_URL = 1", "priority": 500}
    first, again = _Script(None, **body), _Script("", **body)
    other = _Script("", body="const x = 2", priority=500)
    context = {"script_files": [first, _Script("a.js"), again, other]}
    book_html.drop_duplicate_scripts(None, "p", "t", context, None)
    assert context["script_files"] == [first, "a.js", other]


class _Channel:
    """get_msg that misses `misses` polls before it sees the reply."""
    def __init__(self, misses):
        self.misses, self.timeouts = misses, []

    async def get_msg(self, timeout=None):
        self.timeouts.append(timeout)
        if len(self.timeouts) <= self.misses:
            raise Empty
        return {"msg": "reply"}


def test_get_msg_polls_in_slices_until_the_reply():
    chan = _Channel(misses=3)
    get = nbclient_poll._sliced(_Channel.get_msg)
    assert asyncio.run(get(chan, timeout=1800)) == {"msg": "reply"}
    assert chan.timeouts == [nbclient_poll.SLICE] * 4
    assert asyncio.run(get(_Channel(0), timeout=None)) == {"msg": "reply"}


def test_get_msg_still_times_out_at_the_deadline(monkeypatch):
    clock = [0.0]                       # a fake clock: no sleeping, no timing
    monkeypatch.setattr(nbclient_poll.time, "monotonic", lambda: clock[0])
    chan = _Channel(misses=10**9)

    async def waits(self, timeout=None):
        clock[0] += timeout              # each poll uses up its slice
        return await _Channel.get_msg(self, timeout)
    get = nbclient_poll._sliced(waits)
    try:
        asyncio.run(get(chan, timeout=3.5))
    except Empty:
        pass
    else:
        raise AssertionError("no Empty at the deadline")
    assert chan.timeouts == [1.0, 1.0, 1.0, 0.5]
    assert clock[0] == 3.5
    chan = _Channel(misses=10**9)
    try:
        asyncio.run(get(chan, timeout=0))
    except Empty:
        assert chan.timeouts == [0.0]
    else:
        raise AssertionError("no Empty for timeout=0")


def test_patch_slices_the_real_channel_once():
    from jupyter_client.channels import AsyncZMQSocketChannel
    nbclient_poll.patch()
    first = AsyncZMQSocketChannel.get_msg
    nbclient_poll.patch()                          # idempotent: not wrapped twice
    assert getattr(first, "sliced", False) and AsyncZMQSocketChannel.get_msg is first
