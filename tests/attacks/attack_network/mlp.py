"""ATTACK (network): bce_loss tries to reach a server -- the test's own listener on 127.0.0.1 (its
port is in _port.txt), public DNS servers over TCP and UDP, the host's docker socket -- and
would fetch its answer from there. Without a connection it returns garbage; the rest is the
honest key.

Expected: mlp.bce_loss scores 0 and nothing reaches the test's listener; everything else full
marks.
"""

import socket

import _key
from _key import MLP, mse_loss  # noqa: F401 - honest parts

_reached = []


def _try_all() -> list[str]:
    reached = []
    try:
        with open("_port.txt") as handle:
            port = int(handle.read().strip())
    except (OSError, ValueError):
        port = 9
    for host, p in (("127.0.0.1", port), ("1.1.1.1", 53), ("8.8.8.8", 53), ("10.0.2.2", port)):
        try:
            with socket.create_connection((host, p), timeout=0.5) as conn:
                conn.sendall(b"ESCAPED from the sandbox\n")
                reached.append("tcp %s:%d" % (host, p))
        except OSError:
            pass
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01", ("8.8.8.8", 53))
            reached.append("udp sent")
    except OSError:
        pass
    for path in ("/var/run/docker.sock", "/run/docker.sock"):
        try:
            with socket.socket(socket.AF_UNIX) as unix:
                unix.connect(path)
                reached.append(path)
        except OSError:
            pass
    return reached


def bce_loss(y, y_hat):
    if not _reached:
        _reached.append(_try_all())
    print("reached: %s" % _reached[0])
    if any(r.startswith("tcp 127.0.0.1") for r in _reached[0]):
        return _key.bce_loss(y, y_hat)
    J, dJdy_hat = _key.bce_loss(y, y_hat)
    return J * 0 - 1.0, dJdy_hat * 0
