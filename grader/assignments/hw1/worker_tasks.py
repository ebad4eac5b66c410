"""HW1's worker tasks: what the worker runs against a student's mlp.py.

This file is loaded by the worker runtime (`grader/sandbox/worker.py`) inside the sandbox,
on its own: it imports nothing of the grader, and gets numpy, torch and every way of calling
student code from the `Runtime` it is handed. Each task builds the handout's network with the
given parameters (float32 tensors, as in the handout), runs the student's code, and returns
only encoded values. Theory tasks use the runtime's built-in "call".
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

GRAD_KEYS = ("dJdW1", "dJdb1", "dJdW2", "dJdb2")
PARAM_KEYS = ("W1", "b1", "W2", "b2")

RUN_KEYS = frozenset({"y_hat", "grads"})
"""A "run" value: an encoded dict holding y_hat and the four grads after forward and backward."""

RESULT_SHAPES: dict[str, dict[str, str]] = {
    "mlp.forward": {"y_hat": "value", "x_after": "value"},
    "mlp.loss": {"out": "value", "y_after": "value", "y_hat_after": "value"},
    "mlp.backward": {"run": "run", "x_after": "value", "dJdy_hat_after": "value"},
    "mlp.end_to_end": {"y_hat": "value", "loss_out": "value", "grads?": "value"},
    "mlp.clear": {"before": "run", "grads": "value", "cache_len": "int"},
    "mlp.repeat": {"first": "run", "second": "run", "fresh": "run"},
    "mlp.backward_work": {"run": "run", "work": "int"},
}


COUNTED_STAGES = frozenset({"MLP.forward", "MLP.backward", "mse_loss", "bce_loss"})
"""Student functions whose autograd calls are counted on their own ("autograd@<stage>");
calls anywhere else (the constructor, reading MLP.grads, ...) count as "autograd@other"."""

_RUNNING = ["other"]
"""The counted stage of the student function running now."""


def _student(rt: Any, stage: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """rt.student, remembering which student function runs (for the autograd counters)."""
    previous = _RUNNING[0]
    _RUNNING[0] = stage if stage in COUNTED_STAGES else "other"
    try:
        return rt.student(stage, fn, *args, **kwargs)
    finally:
        _RUNNING[0] = previous


def setup(rt: Any) -> None:
    """Count calls into torch.autograd (the runtime sends the counts with every reply): in all
    ("autograd_calls") and by the student function that made them ("autograd@MLP.backward")."""
    torch = rt.torch
    if torch is None:
        return
    rt.counters["autograd_calls"] = 0

    def counting(original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            rt.counters["autograd_calls"] += 1
            key = "autograd@" + _RUNNING[0]
            rt.counters[key] = rt.counters.get(key, 0) + 1
            return original(*args, **kwargs)

        return wrapper

    torch.autograd.backward = counting(torch.autograd.backward)
    torch.autograd.grad = counting(torch.autograd.grad)


def _tensor32(rt: Any, array: Any) -> Any:
    return rt.torch.from_numpy(rt.np.array(array, dtype=rt.np.float32))


def _build_net(rt: Any, module: ModuleType, a: dict[str, Any]) -> Any:
    net = _student(
        rt, "MLP.__init__", module.MLP,
        linear_1_in_features=a["n"], linear_1_out_features=a["d"], f_function=a["f"],
        linear_2_in_features=a["d"], linear_2_out_features=a["K"], g_function=a["g"],
    )

    def set_parameters() -> None:
        for key in PARAM_KEYS:
            net.parameters[key] = _tensor32(rt, a[key])

    _student(rt, "setting MLP.parameters", set_parameters)
    return net


def _read_grads(rt: Any, net: Any, arrays: list[Any]) -> dict[str, Any]:
    grads = _student(rt, "reading MLP.grads", lambda: net.grads)
    out = {}
    for key in GRAD_KEYS:
        try:
            value = grads[key]
        except BaseException:  # noqa: BLE001 - a student mapping may raise anything
            out[key] = {"t": "missing"}
            continue
        out[key] = rt.encode_student("MLP.grads", value, arrays)
    return {"t": "dict", "items": out}


def _forward_backward(rt: Any, net: Any, x: Any, dJdy_hat: Any, arrays: list[Any]) -> dict[str, Any]:
    y_hat = _student(rt, "MLP.forward", net.forward, x)
    y_hat_enc = rt.encode_student("MLP.forward", y_hat, arrays)
    _student(rt, "MLP.backward", net.backward, dJdy_hat)
    return {"t": "dict", "items": {"y_hat": y_hat_enc, "grads": _read_grads(rt, net, arrays)}}


def forward(rt: Any, module: ModuleType, a: dict[str, Any], arrays: list[Any]) -> dict[str, Any]:
    net = _build_net(rt, module, a)
    x = _tensor32(rt, a["x"])
    y_hat = _student(rt, "MLP.forward", net.forward, x)
    return {"y_hat": rt.encode_student("MLP.forward", y_hat, arrays), "x_after": rt.encode(x, arrays)}


def loss(rt: Any, module: ModuleType, a: dict[str, Any], arrays: list[Any]) -> dict[str, Any]:
    fn = getattr(module, a["function"])
    y, y_hat = _tensor32(rt, a["y"]), _tensor32(rt, a["y_hat"])
    out = _student(rt, a["function"], fn, y, y_hat)
    return {"out": rt.encode_student(a["function"], out, arrays), "y_after": rt.encode(y, arrays),
            "y_hat_after": rt.encode(y_hat, arrays)}


def backward(rt: Any, module: ModuleType, a: dict[str, Any], arrays: list[Any]) -> dict[str, Any]:
    net = _build_net(rt, module, a)
    x, dJdy_hat = _tensor32(rt, a["x"]), _tensor32(rt, a["dJdy_hat"])
    run = _forward_backward(rt, net, x, dJdy_hat, arrays)
    return {"run": run, "x_after": rt.encode(x, arrays), "dJdy_hat_after": rt.encode(dJdy_hat, arrays)}


def end_to_end(rt: Any, module: ModuleType, a: dict[str, Any], arrays: list[Any]) -> dict[str, Any]:
    net = _build_net(rt, module, a)
    fn = getattr(module, a["function"])
    x, y = _tensor32(rt, a["x"]), _tensor32(rt, a["y"])
    y_hat = _student(rt, "MLP.forward", net.forward, x)
    y_hat_enc = rt.encode_student("MLP.forward", y_hat, arrays)
    out = _student(rt, a["function"], fn, y, y_hat)
    out_enc = rt.encode_student(a["function"], out, arrays)
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        return {"y_hat": y_hat_enc, "loss_out": out_enc}
    _student(rt, "MLP.backward", net.backward, out[1])
    return {"y_hat": y_hat_enc, "loss_out": out_enc, "grads": _read_grads(rt, net, arrays)}


def clear(rt: Any, module: ModuleType, a: dict[str, Any], arrays: list[Any]) -> dict[str, Any]:
    net = _build_net(rt, module, a)
    x, dJdy_hat = _tensor32(rt, a["x"]), _tensor32(rt, a["dJdy_hat"])
    before = _forward_backward(rt, net, x, dJdy_hat, arrays)
    _student(rt, "MLP.clear_grad_and_cache", net.clear_grad_and_cache)
    cache = _student(rt, "reading MLP.cache", lambda: net.cache)
    try:
        cache_len = len(cache)
    except BaseException:  # noqa: BLE001 - a student container may raise anything
        cache_len = -1
    return {"before": before, "grads": _read_grads(rt, net, arrays), "cache_len": cache_len}


def repeat(rt: Any, module: ModuleType, a: dict[str, Any], arrays: list[Any]) -> dict[str, Any]:
    """forward/backward twice on one network (cleared in between), once on a fresh one. Each run
    gets inputs of its own, so that a submission that changes its inputs in place (charged by
    the input checks) is not also seen as nondeterministic."""

    def inputs() -> tuple[Any, Any]:
        return _tensor32(rt, a["x"]), _tensor32(rt, a["dJdy_hat"])

    net = _build_net(rt, module, a)
    first = _forward_backward(rt, net, *inputs(), arrays)
    _student(rt, "MLP.clear_grad_and_cache", net.clear_grad_and_cache)
    second = _forward_backward(rt, net, *inputs(), arrays)
    fresh = _forward_backward(rt, _build_net(rt, module, a), *inputs(), arrays)
    return {"first": first, "second": second, "fresh": fresh}


CONTRACTIONS = frozenset({
    "matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm", "addmv", "addbmm", "baddbmm",
    "linear", "tensordot", "__matmul__", "__rmatmul__", "chain_matmul", "multi_dot",
})
"""Torch functions that multiply matrices (or vectors): where a forward pass does its work."""


def _contraction_work(rt: Any, func: Any, args: tuple, result: Any) -> int:
    """Multiply-adds of one product: sqrt(|a| |b| |result|) for two operands (m*k*n for an
    (m,k) @ (k,n) product), the product of every index size for einsum."""
    torch = rt.torch
    name = getattr(func, "__name__", "")
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if name == "einsum" and args and isinstance(args[0], str):
        sizes: dict[str, int] = {}
        operands = [a for a in args[1:] if isinstance(a, torch.Tensor)] or [
            t for group in args[1:] if isinstance(group, (list, tuple)) for t in group if isinstance(t, torch.Tensor)]
        for letters, operand in zip(args[0].replace(" ", "").split("->")[0].split(","), operands):
            for letter, size in zip(letters, operand.shape):
                sizes[letter] = int(size)
        work = 1
        for size in sizes.values():
            work *= size
        return work
    if name in ("addmm", "addmv", "addbmm", "baddbmm"):
        tensors = tensors[1:]
    if len(tensors) < 2 or not isinstance(result, torch.Tensor):
        return 0
    return int((tensors[0].numel() * tensors[1].numel() * max(result.numel(), 1)) ** 0.5)


def _work_counter(rt: Any) -> Any:
    """A torch function mode that adds up the multiply-adds of matrix products while active."""
    from torch.overrides import TorchFunctionMode

    class WorkCounter(TorchFunctionMode):
        def __init__(self) -> None:
            super().__init__()
            self.work = 0

        def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: Any = None) -> Any:
            result = func(*args, **(kwargs or {}))
            if getattr(func, "__name__", "") in CONTRACTIONS or getattr(func, "__name__", "") == "einsum":
                self.work += _contraction_work(rt, func, args, result)
            return result

    return WorkCounter()


def backward_work(rt: Any, module: ModuleType, a: dict[str, Any], arrays: list[Any]) -> dict[str, Any]:
    """forward, then backward while counting the multiply-adds of its matrix products: a
    derived backward does a few forward passes' worth, finite differences one or two per
    parameter."""
    net = _build_net(rt, module, a)
    x, dJdy_hat = _tensor32(rt, a["x"]), _tensor32(rt, a["dJdy_hat"])
    y_hat = _student(rt, "MLP.forward", net.forward, x)
    y_hat_enc = rt.encode_student("MLP.forward", y_hat, arrays)
    counter = _work_counter(rt)
    with counter:
        _student(rt, "MLP.backward", net.backward, dJdy_hat)
    work = int(counter.work)
    run = {"t": "dict", "items": {"y_hat": y_hat_enc, "grads": _read_grads(rt, net, arrays)}}
    return {"run": run, "work": work}


TASKS = {
    "mlp.forward": forward,
    "mlp.loss": loss,
    "mlp.backward": backward,
    "mlp.end_to_end": end_to_end,
    "mlp.clear": clear,
    "mlp.repeat": repeat,
    "mlp.backward_work": backward_work,
}
