"""ATTACK: a table of answers recorded from the public grader, keyed by a hash of the inputs.

Recording: with a file `_record_to.txt` beside it, every function answers with the correct key
(`_tkey.py`, standing in for a friend's solution) and appends {input hash: answer} to the file
that `_record_to.txt` names (the student runs the public grader at home, `--sandbox none`).
Replaying: without it, every function looks its inputs up in `_table.jsonl` and answers garbage
(0.0) when they are not there; it prints every input's hash, to learn the private ones.
Expected: high marks on the public examples (the table holds every input the public grader
uses); about nothing under a grading secret, whose examples no recording holds.
"""

import hashlib
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RECORD = os.path.join(HERE, "_record_to.txt")


def _key(name, kwargs):
    digest = hashlib.sha256(name.encode())
    for key in sorted(kwargs):
        value = kwargs[key]
        digest.update(key.encode())
        if isinstance(value, np.ndarray):
            digest.update(repr(value.shape).encode())
            digest.update(np.ascontiguousarray(value, dtype=np.float64).tobytes())
        else:
            digest.update(repr(value).encode())
    return digest.hexdigest()


def _plain(value):
    if isinstance(value, dict):
        return {"dict": {k: _plain(v) for k, v in value.items()}}
    if isinstance(value, np.ndarray):
        return {"array": value.tolist()}
    return {"float": float(value)}


def _back(value):
    if "dict" in value:
        return {k: _back(v) for k, v in value["dict"].items()}
    if "array" in value:
        return np.array(value["array"], dtype=np.float64)
    return value["float"]


def _load_table():
    table = {}
    path = os.path.join(HERE, "_table.jsonl")
    if os.path.exists(path):
        with open(path) as lines:
            for line in lines:
                entry = json.loads(line)
                table[entry["key"]] = entry["value"]
    return table


TABLE = {} if os.path.exists(RECORD) else _load_table()


def _answer(name, kwargs):
    key = _key(name, kwargs)
    if os.path.exists(RECORD):
        import _tkey

        value = getattr(_tkey, name)(**{k: v.copy() if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})
        with open(RECORD) as named, open(named.read().strip(), "a") as out:
            out.write(json.dumps({"key": key, "value": _plain(value)}) + "\n")
        return value
    print("input %s" % key)  # what a student would print to learn private inputs
    if key in TABLE:
        return _back(TABLE[key])
    return 0.0


def forward(**kwargs):
    return _answer("forward", kwargs)


def loss(**kwargs):
    return _answer("loss", kwargs)


def jacobians(**kwargs):
    return _answer("jacobians", kwargs)


def backward(**kwargs):
    return _answer("backward", kwargs)


def sgd_step(**kwargs):
    return _answer("sgd_step", kwargs)
