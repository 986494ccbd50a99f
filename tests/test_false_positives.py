"""Controlled false-positive pairs (``TrainConfig.false_positives``): validation, the draws, the views,
p = 0 leaves runs bit-identical, resume stays bit-exact, the command-line flags, and plans.pair_mass."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from gca_lab.__main__ import build_parser, main
from gca_lab.plans import pair_mass
from gca_lab.train import FalsePositives, TrainConfig, train


def _small(**fields) -> TrainConfig:
    base = dict(dataset="digits", model="mlp", epochs=2, batch_size=128, progress=False, probe=False)
    base.update(fields)
    return TrainConfig(**base)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("p", [1.0, 1.5, -0.1, math.nan, math.inf])
def test_fraction_outside_zero_one_is_rejected_naming_the_field_and_range(p: float) -> None:
    with pytest.raises(ValueError, match=r"false_positives must be in \[0, 1\)"):
        _small(false_positives=p).validate()


@pytest.mark.parametrize("p", [True, "0.2", None])
def test_fraction_of_the_wrong_type_is_a_type_error(p: object) -> None:
    with pytest.raises(TypeError, match="false_positives"):
        _small(false_positives=p).validate()


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="false_positive_mode"):
        _small(false_positives=0.2, false_positive_mode="sometimes").validate()


def test_zero_builds_nothing_and_leaves_the_run_bit_identical() -> None:
    assert FalsePositives.for_run(_small(), 1000) is None
    assert FalsePositives.for_run(_small(false_positive_mode="fresh"), 1000) is None
    default = train(_small(method="gca_uot"))
    explicit = train(_small(method="gca_uot", false_positives=0.0, false_positive_mode="fresh"))
    assert _same_weights(default.model, explicit.model)
    assert default.history["step_loss"] == explicit.history["step_loss"]


def test_persistent_map_marks_round_p_n_samples_with_a_fixed_other_partner() -> None:
    n = 1000
    fp = FalsePositives.for_run(_small(false_positives=0.3, seed=4), n)
    again = FalsePositives.for_run(_small(false_positives=0.3, seed=4), n)
    other_seed = FalsePositives.for_run(_small(false_positives=0.3, seed=5), n)
    assert fp is not None and again is not None and other_seed is not None
    assert int(fp.marked.sum()) == 300
    assert bool((fp.partner != torch.arange(n)).all()) and int(fp.partner.min()) >= 0 and int(fp.partner.max()) < n
    assert torch.equal(fp.marked, again.marked) and torch.equal(fp.partner, again.partner)  # from the seed alone
    assert not torch.equal(fp.marked, other_seed.marked)
    # every epoch the same rows meet the same partners, and nothing is drawn from the run's generator
    gen = torch.Generator().manual_seed(0)
    state = gen.get_state()
    rows = torch.randperm(n)[:256]
    pos1, partner1 = fp.draw(rows, gen)
    pos2, partner2 = fp.draw(rows, gen)
    assert torch.equal(pos1, pos2) and torch.equal(partner1, partner2)
    assert torch.equal(gen.get_state(), state)
    assert torch.equal(pos1, fp.marked[rows].nonzero().flatten())
    assert torch.equal(partner1, fp.partner[rows[pos1]])


def test_fresh_draws_exactly_round_p_b_per_batch_from_the_generator() -> None:
    n = 1000
    fp = FalsePositives.for_run(_small(false_positives=0.4, false_positive_mode="fresh"), n)
    assert fp is not None and fp.marked is None
    rows = torch.arange(100, 356)
    gen = torch.Generator().manual_seed(1)
    pos1, partner1 = fp.draw(rows, gen)
    pos2, partner2 = fp.draw(rows, gen)
    assert pos1.shape == partner1.shape == (round(0.4 * 256),)
    assert len(set(pos1.tolist())) == pos1.numel()  # distinct positions
    assert bool((partner1 != rows[pos1]).all()) and bool((partner2 != rows[pos2]).all())
    assert not torch.equal(pos1, pos2)  # redrawn every step
    replay = torch.Generator().manual_seed(1)
    pos3, partner3 = fp.draw(rows, replay)
    assert torch.equal(pos1, pos3) and torch.equal(partner1, partner3)  # deterministic from the generator


def test_partners_cover_every_other_sample_uniformly() -> None:
    fp = FalsePositives.for_run(_small(false_positives=0.5, false_positive_mode="fresh"), 5)
    gen = torch.Generator().manual_seed(0)
    counts = torch.zeros(5)
    for _ in range(2000):
        _, partner = fp.draw(torch.tensor([0, 0]), gen)
        counts += torch.bincount(partner, minlength=5)
    assert counts[0] == 0
    assert bool(((counts[1:] / counts[1:].sum() - 0.25).abs() < 0.03).all())


def test_views_replace_only_the_second_view_of_the_drawn_positions() -> None:
    x = torch.arange(50, dtype=torch.float32).view(50, 1) * 10
    fp = FalsePositives.for_run(_small(false_positives=0.5, false_positive_mode="fresh"), 50)
    rows = torch.arange(10, 30)
    gen = torch.Generator().manual_seed(3)
    pos, partner = fp.draw(rows, torch.Generator().manual_seed(3))

    def views(v: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return v + 0.25, v + 0.5  # a first and a second "view" told apart by their offset

    x1, x2 = fp.views(views, x, rows, gen)
    assert x1.shape == x2.shape == (20, 1)
    assert torch.equal(x1, x[rows] + 0.25)
    expected = x[rows] + 0.5
    expected[pos] = x[partner] + 0.5
    assert torch.equal(x2, expected)
    assert int((x2 != x[rows] + 0.5).sum()) == 10


def test_false_positives_change_training_and_the_modes_differ() -> None:
    clean = train(_small(method="ince", epochs=1))
    persistent = train(_small(method="ince", epochs=1, false_positives=0.4))
    fresh = train(_small(method="ince", epochs=1, false_positives=0.4, false_positive_mode="fresh"))
    assert clean.history["step_loss"][0] != persistent.history["step_loss"][0]
    assert persistent.history["step_loss"] != fresh.history["step_loss"]
    # wrong pairs are harder to align: the loss of the first step is higher with them
    assert persistent.history["step_loss"][0] > clean.history["step_loss"][0]


class _Interrupt(Exception):
    pass


@pytest.mark.parametrize("mode", ["persistent", "fresh"])
def test_resume_with_false_positives_is_bit_exact(tmp_path: Path, mode: str) -> None:
    fields = dict(method="gca_uot", epochs=3, false_positives=0.3, false_positive_mode=mode)
    reference = train(_small(**fields))
    config = _small(**fields, checkpoint_dir=str(tmp_path), checkpoint_every=1)

    def stop(epoch: int, state: dict) -> None:
        if epoch == 2:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        train(config, on_epoch_end=stop)
    resumed = train(config)
    assert _same_weights(reference.model, resumed.model)
    assert resumed.history["step_loss"] == reference.history["step_loss"]


def test_command_line_flags_reach_the_config(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["train", "--false-positives", "0.3", "--false-positive-mode", "fresh"])
    assert args.false_positives == 0.3 and args.false_positive_mode == "fresh"
    defaults = build_parser().parse_args(["train"])
    assert defaults.false_positives == 0.0 and defaults.false_positive_mode == "persistent"
    assert main(["train", "--false-positives", "1.2", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "false_positives" in err and "[0, 1)" in err


# ---- plans.pair_mass ---------------------------------------------------------------------------------


def test_pair_mass_of_a_plan_that_sheds_the_false_rows() -> None:
    n = 4
    plan = torch.eye(n) / n
    plan[0] *= 0.5  # row 0 (false) keeps half the mass of a clean row, all on its pair
    plan[1, 1], plan[1, 2] = 0.125, 0.125  # row 1 (false) splits its mass between its pair and another
    marked = torch.tensor([True, True, False, False])
    out = pair_mass(plan.double(), marked)
    total = 0.125 + 0.25 + 0.25 + 0.25
    assert out["n_marked"] == 2
    assert out["pair_share_marked"] == pytest.approx((1.0 + 0.5) / 2)
    assert out["pair_share_clean"] == pytest.approx(1.0)
    assert out["row_mass_marked"] == pytest.approx(n * (0.125 + 0.25) / 2 / total)
    assert out["row_mass_clean"] == pytest.approx(n * 0.25 / total)
    assert out["pair_mass_marked"] == pytest.approx(n * (0.125 + 0.125) / 2 / total)
    assert out["marked_ratio"] == pytest.approx(0.125 / 0.25)


def test_pair_mass_without_false_rows_leaves_them_undefined() -> None:
    out = pair_mass(torch.full((3, 3), 1 / 9), torch.zeros(3, dtype=torch.bool))
    assert out["pair_share_marked"] is None and out["marked_ratio"] is None
    assert out["pair_share_clean"] == pytest.approx(1 / 3) and out["row_mass_clean"] == pytest.approx(1.0)


@pytest.mark.parametrize("plan, marked, match", [
    (torch.ones(2, 3), torch.zeros(2, dtype=torch.bool), "square"),
    (torch.ones(3, 3), torch.zeros(2, dtype=torch.bool), "marked"),
    (torch.ones(3, 3), torch.zeros(3), "marked"),
    (torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.zeros(2, dtype=torch.bool), "zero mass"),
    (torch.tensor([[1.0, math.nan], [0.0, 1.0]]), torch.zeros(2, dtype=torch.bool), "plan"),
])
def test_pair_mass_rejects_bad_input(plan: torch.Tensor, marked: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pair_mass(plan, marked)
