"""Best-fit-decreasing packing and the resumable packer stream."""

from __future__ import annotations

import numpy as np
import pytest

from training.packing import Packer, PackerState, best_fit_decreasing, cut_to_budget


def _lengths(n: int, seq_len: int, seed: int = 0) -> list[int]:
    # Web-like lengths: many short documents, some cut at seq_len by the mixture build.
    rng = np.random.default_rng(seed)
    return [int(min(seq_len, max(2, x))) for x in rng.lognormal(np.log(seq_len / 4), 1.0, size=n)]


def test_best_fit_places_each_item_in_the_fullest_bin_that_fits():
    bins, left = best_fit_decreasing([(0, 6), (1, 5), (2, 4), (3, 3)], capacity=10, max_bins=2)
    # 6 -> bin0 (4 left), 5 -> bin1 (5 left), 4 -> bin0 (fullest that fits: 0 left), 3 -> bin1
    assert bins == [[0, 2], [1, 3]] and left == []


def test_best_fit_never_overfills_and_returns_what_does_not_fit():
    items = [(i, n) for i, n in enumerate(_lengths(300, 128))]
    bins, left = best_fit_decreasing(items, capacity=128, max_bins=40)
    lengths = dict(items)
    assert all(sum(lengths[k] for k in b) <= 128 for b in bins)
    placed = [k for b in bins for k in b]
    assert sorted(placed + left) == list(range(300)) and len(set(placed)) == len(placed)
    assert left == sorted(left)  # leftovers keep the mixture's order


def test_packer_feeds_every_piece_of_every_stage_exactly_once_in_stage_order():
    lengths = [_lengths(500, 64, 1), _lengths(200, 128, 2)]
    packer = Packer(lengths, [64, 128], rows=8, micro_batches=4)
    seen: dict[int, list[int]] = {0: [], 1: []}
    stages = []
    for plan in packer:
        stages.append(plan.stage)
        for row in plan.rows:
            assert sum(lengths[plan.stage][i] for i in row) <= plan.seq_len
            seen[plan.stage] += row
    assert stages == sorted(stages)  # stage 1 starts only once stage 0 is consumed
    assert sorted(seen[0]) == list(range(500)) and sorted(seen[1]) == list(range(200))


def test_packer_keeps_rows_near_the_mixture_order():
    lengths = [_lengths(2000, 256, 3)]
    worst = 0
    for plan in Packer(lengths, [256], rows=8, micro_batches=2, lookahead=1.5):
        # a piece is packed within a few global batches of its position in the mixture
        for row in plan.rows:
            for i in row:
                worst = max(worst, abs(i / (8 * 256 / np.mean(lengths[0])) - plan.step))
    assert worst < 4


def test_packer_fills_at_least_98_percent_of_rows_with_real_tokens():
    lengths = [_lengths(3000, 256, 4), _lengths(1500, 512, 5)]
    plans = list(Packer(lengths, [256, 512], rows=8, micro_batches=4))
    real = sum(p.tokens for p in plans)
    total = sum(len(p.rows) * p.seq_len for p in plans)
    assert real == sum(map(sum, lengths))
    assert real / total >= 0.98


def test_last_step_of_a_stage_keeps_a_multiple_of_micro_batches_rows():
    plans = list(Packer([[10] * 7], [64], rows=8, micro_batches=4))
    assert len(plans) == 1 and len(plans[0].rows) == 4  # 70 tokens need 2 rows, rounded up to 4
    assert sum(len(r) for r in plans[0].rows) == 7


def test_packer_resumed_from_its_state_replays_the_same_batches():
    lengths = [_lengths(400, 64, 6), _lengths(100, 128, 7)]
    full = [(p.stage, p.rows) for p in Packer(lengths, [64, 128], rows=4, micro_batches=2)]
    first = Packer(lengths, [64, 128], rows=4, micro_batches=2)
    head = [first.next_step() for _ in range(len(full) // 2)]
    state = PackerState.from_dict(first.state.to_dict())
    tail = list(Packer(lengths, [64, 128], rows=4, micro_batches=2, state=state))
    assert [(p.stage, p.rows) for p in head + tail] == full


def test_packer_refuses_a_piece_longer_than_the_row():
    with pytest.raises(ValueError, match="more than the row length"):
        list(Packer([[10, 70]], [64], rows=2, micro_batches=1))


def test_stage_budget_cut_stops_once_the_budget_is_reached():
    assert cut_to_budget([5, 5, 5, 5], 10) == 2
    assert cut_to_budget([5, 5, 5, 5], 11) == 3
    assert cut_to_budget([5, 5], 100) == 2
