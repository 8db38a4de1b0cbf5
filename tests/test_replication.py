"""cae_lib.replication: chapter 5b's configurations and its choice on the validation split."""
import pytest

from cae_lib import replication as rep
from cae_lib.widgets import sweep_configs


def test_choose_takes_the_best_mean_validation_accuracy_of_the_family():
    val = {("CAE", 1e-3): [0.90, 0.91, 0.92], ("CAE", 1e-2): [0.95, 0.80, 0.80],
           ("DAE", 0.7): [0.99, 0.99, 0.99]}
    assert rep.choose(val, "CAE") == 1e-3            # the mean, not the best single run
    assert rep.choose(val, "DAE") == 0.7
    tie = {("CAE", 5e-5): [0.9], ("CAE", 1e-3): [0.9]}
    assert rep.choose(tie, "CAE") == 5e-5            # a tie: the first listed
    with pytest.raises(ValueError, match="no candidates of family 'AE\\+wd'"):
        rep.choose(val, "AE+wd")


def test_table1_shares_chapter_6s_models_and_adds_only_ae_wd_and_cae_h():
    for r in (0, 1, 2):
        cands = rep.table1_candidates(r)
        sweep = set(sweep_configs(replicate=r).values())
        for (fam, value), cfg in cands.items():
            assert cfg.seed == r and cfg.hidden_dims == () and cfg.tied and cfg.loss == "bce"
            assert (cfg in sweep) == (fam in ("AE", "DAE", "CAE")), (fam, value)
        assert {v for f, v in cands if f == "DAE"} == set(rep.DAE_GRID)
        assert {v for f, v in cands if f == "CAE"} == set(rep.CAE_GRID)
        assert cands["AE+wd", rep.WD].weight_decay == rep.WD and rep.WD in rep.WD_PILOT
        h = rep.pilot_cae_h(r)                       # the pilot's choice, in the table
        assert h.gamma == rep.GAMMA and h.lam == 1e-3 and rep.GAMMA in rep.GAMMA_PILOT
        assert h.gamma_noise_std == rep.GAMMA_NOISE_STD and h.weight_decay == 0
        assert h.seed == r and cands["CAE+H", rep.GAMMA] == h
        assert [f for f, _ in cands if f == "CAE+H"] == ["CAE+H"]
        fts = rep.table1_finetunes(r)
        assert set(fts) == set(cands) | {("MLP", 0.0)}
        assert not fts["MLP", 0.0].pretrained and all(
            ft.n_labels == rep.N_LABELS and ft.seed == r for ft in fts.values())


def test_the_mtc_compares_like_with_like():
    m = rep.mtc_finetunes(1)
    assert m["MTC"].encoder == m["CAE"].encoder == m["MLP"].encoder     # one architecture
    assert m["MTC"].n_tangents == rep.N_TANGENTS and m["CAE"].n_tangents == 0
    assert not m["MLP"].pretrained and m["AE"].encoder.lam == 0
    names = [name for name, _ in rep.all_finetunes()]
    assert len(names) == len(set(names)) == 3 * (len(rep.table1_finetunes()) + 4)


def test_the_pilot_script_runs_chapter_5bs_configurations():
    """benchmarks/replication_pilot.py builds its runs from this module, so what it prints is
    what chapter 5b computes, CAE+H included."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "replication_pilot.py"
    spec = importlib.util.spec_from_file_location("replication_pilot", path)
    pilot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pilot)
    for r in (0, 1, 2):
        runs = pilot.table1_runs(r, rep.WD, rep.GAMMA, rep.GAMMA_NOISE_STD, rep.N_LABELS)
        book = set(rep.table1_finetunes(r).values())
        assert all(ft in book for ft in runs.values()), runs
        assert runs["CAE+H"].encoder == rep.pilot_cae_h(r)
        assert runs["DAE"].encoder.noise_std == 0.7 and runs["CAE"].encoder.lam == 1e-3
