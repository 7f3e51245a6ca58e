"""Throughput of the Citus plan at 4, 16 and 64 nodes, from bench/README.md's figures.

    python deploy/citus/estimate.py [--batch 32] [--p2p-share 1.0] [--async-halves]

Arithmetic only (docs/scaling.md, "Throughput estimate", explains each term); every
input is a measured figure from bench/README.md or a stated assumption below.
"""

from __future__ import annotations

import argparse
import math

# Measured (bench/README.md, issue 15, "plans, batch sharing and the request path",
# 2026-12-06): one 2-core machine, PostgreSQL 15 and the Python client on it, 64 clients.
SERVICE_SENDS = 1851.0  # service layer, random pairs, batching on (0.81x pgbench)
FLOOR_ONE = 1475.0  # a send's writes only, one send per transaction (pgbench)
FLOOR_BATCHED = 2490.0  # the same, 32 sends per transaction
FLOOR_BATCH = 32

# Derived: machine time per send (ms) = 1000 / rate; the floor's two rates split it into a
# per-transaction part (commit: WAL flush, deferred checks) and a per-send part (rows).
C_LOCAL = 1000.0 / SERVICE_SENDS
T_TX = (1000.0 / FLOOR_ONE - 1000.0 / FLOOR_BATCHED) / (1 - 1 / FLOOR_BATCH)
T_ROW = 1000.0 / FLOOR_BATCHED - T_TX / FLOOR_BATCH

# Assumptions (docs/scaling.md states why).
EXTRA_ROWS = 0.5  # a cross-shard send writes ~7 rows more than its ~13: x T_ROW
STATEMENT_MS = 0.05  # fixed cost of one statement on a server (bench: "0.05 ms or less each")
REMOTE_STATEMENTS = 4  # per remote participant and batch: lock/read, post half, party rows, events
RECORD = 0.1  # the coordinating node's 2PC record per participant, x T_TX
OUTBOX_ROW = 0.1  # --async-halves: the half's outbox row on the sender's shard, x T_ROW


def distinct_nodes(others: int, sends: float) -> float:
    """Expected number of distinct other nodes that `sends` uniformly random recipients
    (each on another node) fall on."""
    if others == 0 or sends <= 0:
        return 0.0
    return others * (1.0 - float((1.0 - 1.0 / others) ** sends))


def per_send_ms(
    nodes: int, batch: int, p2p_share: float, async_halves: bool = False
) -> tuple[float, float, float]:
    """(cross-shard share, machine ms per cross-shard send, mean machine ms per command).

    Commands other than P2P sends cost C_LOCAL (single-shard, like a send to oneself's
    shard); a P2P send on more than one node also routes its recipient lookup (by
    username, phone or email) to the handle table's shard; a cross-shard one adds its
    second half and, with 2PC, its share of the batch's remote participants."""
    cross = p2p_share * (nodes - 1) / nodes
    same = p2p_share - cross
    handle = STATEMENT_MS if nodes > 1 else 0.0
    crossing = batch * cross  # cross-shard sends in a batch
    if crossing == 0:
        c_cross = C_LOCAL + handle
    elif async_halves:
        # No 2PC: the sender's shard commits its half and an outbox row; the recipient's
        # node applies incoming halves `batch` at a time, one commit each.
        apply = (T_TX + REMOTE_STATEMENTS * STATEMENT_MS) / batch
        c_cross = C_LOCAL + handle + (EXTRA_ROWS + OUTBOX_ROW) * T_ROW + apply
    else:
        remote = distinct_nodes(nodes - 1, crossing)
        participant = 2 * T_TX + RECORD * T_TX + 2 * REMOTE_STATEMENTS * STATEMENT_MS
        per_batch = T_TX * (1 + RECORD) + remote * participant
        c_cross = C_LOCAL + handle + EXTRA_ROWS * T_ROW + per_batch / crossing
    mean = (1 - p2p_share) * C_LOCAL + same * (C_LOCAL + handle) + cross * c_cross
    return cross, c_cross, mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=32, help="sends per batch (per node)")
    parser.add_argument(
        "--p2p-share", type=float, default=1.0, help="share of commands that are P2P sends"
    )
    parser.add_argument(
        "--async-halves",
        action="store_true",
        help="the recipient's half applied from an outbox instead of in a 2PC",
    )
    args = parser.parse_args()
    print(f"c_local {C_LOCAL:.3f} ms, T_tx {T_TX:.3f} ms, T_row {T_ROW:.3f} ms")
    print("nodes  cross  remote  ms/x-send  ms/command  per node  cluster  x one node")
    for nodes in (1, 4, 16, 64):
        cross, c_cross, mean = per_send_ms(nodes, args.batch, args.p2p_share, args.async_halves)
        remote = 0.0 if args.async_halves else distinct_nodes(nodes - 1, args.batch * cross)
        rate = 1000.0 / mean
        print(
            f"{nodes:5d}  {cross:5.3f}  {remote:6.2f}  {c_cross:9.3f}  {mean:10.3f}  "
            f"{rate:8.0f}  {rate * nodes:7.0f}  {rate * nodes / SERVICE_SENDS:10.1f}"
        )
    assert math.isclose(per_send_ms(1, args.batch, 1.0)[2], C_LOCAL)


if __name__ == "__main__":
    main()
