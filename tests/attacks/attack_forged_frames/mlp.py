"""ATTACK (patching the worker's own protocol functions to send made-up frames).

The worker runs as __main__; at import this module wraps its protocol's read_frame (to see every request)
and write_frame (to rewrite every reply). For MLP.forward it sends a made-up reply: status ok,
y_hat all zeros of the right shape, x_after a copy of the x it was sent, autograd_calls 0 -- a
perfectly well-formed frame that a grader trusting the worker's verdicts would accept. Before
each bce_loss reply it slips in an extra frame numbered for the next request, so that the
grader's next question would find its answer waiting. Everything else is the honest key.

Expected: mlp.forward and mlp.bce_loss score 0 (made-up values are wrong; a frame out of turn
breaks the protocol, which is a crash); every other question full marks.
"""

import __main__

import numpy as np

from _key import MLP, bce_loss, mse_loss  # noqa: F401 - honest parts

_wire = __main__.protocol  # the worker runtime's own protocol module
_real_read, _real_write = _wire.read_frame, _wire.write_frame
_last = {}


def _read(fd, *args, **kwargs):
    header, arrays = _real_read(fd, *args, **kwargs)
    _last.update(header=header, arrays=arrays)
    return header, arrays


def _write(fd, header, arrays=None, *args, **kwargs):
    request = _last.get("header", {})
    task = request.get("task")
    if request.get("op") == "call" and task == "mlp.forward":
        given = request["args"]
        x = _last["arrays"][given["x"]["$a"]]
        made_up = {"id": header.get("id"), "status": "ok", "output": "", "output_dropped": 0,
                   "autograd_calls": 0, "elapsed_s": 0.001,
                   "result": {"y_hat": {"t": "array", "i": 0}, "x_after": {"t": "array", "i": 1}}}
        return _real_write(fd, made_up, [np.zeros((x.shape[0], given["K"])), x.copy()])
    if request.get("op") == "call" and task == "mlp.loss" and request["args"].get("function") == "bce_loss":
        early = {"id": header.get("id", 0) + 1, "status": "ok", "output": "", "autograd_calls": 0,
                 "result": {"out": {"t": "none"}, "y_after": {"t": "none"}, "y_hat_after": {"t": "none"}}}
        _real_write(fd, early, [])
    return _real_write(fd, header, arrays, *args, **kwargs)


_wire.read_frame = _read
_wire.write_frame = _write
