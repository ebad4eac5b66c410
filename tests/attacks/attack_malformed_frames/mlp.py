"""ATTACK (malformed and truncated frames): the worker's replies are replaced by broken ones.

At import it takes over the worker's write_frame (the worker runs as __main__) and, depending on
the request being answered, sends instead:
  MLP.forward            a frame cut short (the length says 500 bytes, 10 follow), then exits
  mse_loss               a header that is not JSON (invalid UTF-8 bytes)
  bce_loss               a header that is JSON but not an object
  MLP.backward           a header nested 200000 levels deep (a naive json.loads recursion bomb)
  end to end             a well-formed frame whose result lacks the fields the grader reads
  clear_grad_and_cache   a header announcing an array whose bytes never come (then it hangs)
  forward/backward twice a header with a negative array shape
The rest of the code is the honest key.

Expected: every mlp.py question scores 0 with `crash` or `timeout`; the grader carries on and
grades theory.py in full.
"""

import __main__

import os
import struct
import time

from _key import MLP, bce_loss, mse_loss  # noqa: F401 - honest parts

_wire = __main__.protocol  # the worker runtime's own protocol module
_real_read, _real_write = _wire.read_frame, _wire.write_frame
_last = {}


def _read(fd, *args, **kwargs):
    header, arrays = _real_read(fd, *args, **kwargs)
    _last["header"] = header
    return header, arrays


def _send(fd, body: bytes) -> None:
    os.write(fd, struct.pack("<I", len(body)) + body)


def _write(fd, header, arrays=None, *args, **kwargs):
    request = _last.get("header", {})
    task = request.get("task") if request.get("op") == "call" else None
    ident = header.get("id", 0)
    if task == "mlp.forward":
        os.write(fd, struct.pack("<I", 500) + b'{"id": 1, "st')
        os._exit(0)
    if task == "mlp.loss" and request["args"].get("function") == "mse_loss":
        return _send(fd, b"\xff\xfe\xfd not json at all")
    if task == "mlp.loss":
        return _send(fd, b"[1, 2, 3]")
    if task == "mlp.backward":
        return _send(fd, b'{"id": %d, "status": "ok", "result": ' % ident + b"[" * 200000 + b"]" * 200000 + b"}")
    if task == "mlp.end_to_end":
        return _send(fd, b'{"id": %d, "status": "ok", "result": {"y_hat": {"t": "none"}}, "arrays": []}' % ident)
    if task == "mlp.clear":
        _send(fd, b'{"id": %d, "status": "ok", "result": {}, "arrays": [[1000]]}' % ident)
        time.sleep(3600)
    if task == "mlp.repeat":
        return _send(fd, b'{"id": %d, "status": "ok", "result": {}, "arrays": [[-5, 2]]}' % ident)
    return _real_write(fd, header, arrays, *args, **kwargs)


_wire.read_frame = _read
_wire.write_frame = _write
