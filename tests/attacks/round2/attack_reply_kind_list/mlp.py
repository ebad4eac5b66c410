"""ATTACK: worker replies whose fields have the wrong JSON types (a value's kind that is a list).

At import this module wraps the worker's own write_frame: the reply to every MLP.forward call
says its y_hat is of kind ["array"] (a list, not a string). A grader that looks a kind up in a
set or dict raises `unhashable type` and loses the whole report, the other part's points too.
Everything else is the honest key (`_key.py`).
Expected: mlp.forward scores 0 with `crash` (a broken protocol); theory.py (another part) keeps
every point, and the report renders in every format.
"""

import __main__

from _key import MLP, bce_loss, mse_loss  # noqa: F401 - honest parts

_wire = __main__.protocol
_real_read, _real_write = _wire.read_frame, _wire.write_frame
_last = {}


def _read(fd, *args, **kwargs):
    header, arrays = _real_read(fd, *args, **kwargs)
    _last["header"] = header
    return header, arrays


def _write(fd, header, arrays=None, *args, **kwargs):
    request = _last.get("header", {})
    if request.get("op") == "call" and request.get("task") == "mlp.forward" and header.get("status") == "ok":
        header = dict(header, result=dict(header["result"], y_hat={"t": ["array"], "i": 0}))
    return _real_write(fd, header, arrays, *args, **kwargs)


_wire.read_frame = _read
_wire.write_frame = _write
