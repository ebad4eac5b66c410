"""Shared body of the three baseline scripts (test1.py, test2.py, test3.py).

Each baseline script mimics the course's own hand-run test: in a fresh Python process,
import torch and the submission's mlp.py, build ONE fixed network (batch 10, 2 -> 20 -> 5),
run clear_grad_and_cache, forward, the student's loss and backward, rebuild the same
network with torch.nn (parameters copied in), let autograd compute the gradients, and
print whether each of the four gradients is within 1e-3 (norm of the difference).

Usage (from one of the scripts): python bench/course_tests/testN.py SUBMISSION_DIR
"""

import os
import sys

# Never leave a __pycache__ behind in the submission folder.
sys.dont_write_bytecode = True

N_IN, N_HIDDEN, N_OUT, BATCH = 2, 20, 5, 10


def _import_submission():
    if len(sys.argv) != 2:
        sys.exit("usage: %s SUBMISSION_DIR" % os.path.basename(sys.argv[0]))
    folder = os.path.abspath(sys.argv[1])
    sys.path.insert(0, folder)
    import mlp  # the student's module

    return mlp


def run(f_name, g_name, loss_name):
    import torch
    from torch import nn

    mlp = _import_submission()
    torch.manual_seed(0)

    net = mlp.MLP(
        linear_1_in_features=N_IN,
        linear_1_out_features=N_HIDDEN,
        f_function=f_name,
        linear_2_in_features=N_HIDDEN,
        linear_2_out_features=N_OUT,
        g_function=g_name,
    )
    x = torch.randn(BATCH, N_IN)
    if loss_name == "bce":
        y = (torch.rand(BATCH, N_OUT) > 0.5).float()
        student_loss, torch_loss = mlp.bce_loss, nn.BCELoss()
    else:
        y = torch.randn(BATCH, N_OUT)
        student_loss, torch_loss = mlp.mse_loss, nn.MSELoss()

    net.clear_grad_and_cache()
    y_hat = net.forward(x)
    _, dJdy_hat = student_loss(y, y_hat)
    net.backward(dJdy_hat)

    layers = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "identity": nn.Identity}
    first, second = nn.Linear(N_IN, N_HIDDEN), nn.Linear(N_HIDDEN, N_OUT)
    with torch.no_grad():
        first.weight.copy_(net.parameters["W1"])
        first.bias.copy_(net.parameters["b1"])
        second.weight.copy_(net.parameters["W2"])
        second.bias.copy_(net.parameters["b2"])
    model = nn.Sequential(first, layers[f_name](), second, layers[g_name]())
    model.zero_grad()
    torch_loss(model(x), y).backward()

    pairs = [
        ("dJdW1", first.weight.grad),
        ("dJdb1", first.bias.grad),
        ("dJdW2", second.weight.grad),
        ("dJdb2", second.bias.grad),
    ]
    for name, truth in pairs:
        ok = bool((net.grads[name] - truth).norm() < 1e-3)
        print("%s %s" % (name, ok))
