"""ATTACK (huge frames): replies that would make a naive reader allocate gigabytes.

At import it takes over the worker's write_frame and, depending on the request, sends:
  MLP.forward            a length prefix of 4 GiB - 1 for the header
  mse_loss               a valid JSON header of 1 MiB + 1 byte (just over the cap)
  bce_loss               a header announcing one 8192 x 8192 float64 array (512 MiB)
  MLP.backward           a header announcing 300 arrays (more than the grader accepts)
  clear_grad_and_cache   a header announcing a 9-dimensional array
and, whatever the request, first prints 1 MiB to its raw stdout. The rest is the honest key.

Expected: mlp.forward, mlp.mse_loss, mlp.bce_loss, mlp.backward (its checks of the network's
gradients) and hygiene[clear_grad_and_cache] score 0 with `crash`; the grader never allocates
what the frames announce and grades theory.py in full.
"""

import __main__

import json
import os
import struct

from _key import MLP, bce_loss, mse_loss  # noqa: F401 - honest parts

_wire = __main__.protocol  # the worker runtime's own protocol module
_real_read, _real_write = _wire.read_frame, _wire.write_frame
_last = {}


def _read(fd, *args, **kwargs):
    header, arrays = _real_read(fd, *args, **kwargs)
    _last["header"] = header
    return header, arrays


def _send(fd, header: dict) -> None:
    body = json.dumps(header).encode()
    os.write(fd, struct.pack("<I", len(body)) + body)


def _write(fd, header, arrays=None, *args, **kwargs):
    request = _last.get("header", {})
    task = request.get("task") if request.get("op") == "call" else None
    ident = header.get("id", 0)
    if task is not None:
        os.write(1, b"x" * (1 << 20))
    if task == "mlp.forward":
        return os.write(fd, struct.pack("<I", 0xFFFFFFFF) + b"{")
    if task == "mlp.loss" and request["args"].get("function") == "mse_loss":
        body = json.dumps({"id": ident, "status": "ok", "pad": ""}).encode()
        pad = (1 << 20) + 1 - len(body)
        return _send(fd, {"id": ident, "status": "ok", "pad": "p" * pad})
    if task == "mlp.loss":
        return _send(fd, {"id": ident, "status": "ok", "result": {}, "arrays": [[8192, 8192]]})
    if task == "mlp.backward":
        return _send(fd, {"id": ident, "status": "ok", "result": {}, "arrays": [[1]] * 300})
    if task == "mlp.clear":
        return _send(fd, {"id": ident, "status": "ok", "result": {}, "arrays": [[1] * 9]})
    return _real_write(fd, header, arrays, *args, **kwargs)


_wire.read_frame = _read
_wire.write_frame = _write
