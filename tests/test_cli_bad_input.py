"""Bad input at the command line: every example script, random option values.

Each value goes to one option (as ``--option=value``, so values that start with ``-`` are values).
The property: the parser accepts exactly the values the option's rule allows; anything else exits
with status 2 and one line on stderr that names the option, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import oracle_demo
import pytest
import swap_algorithms
import table1
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agents.cli import train_oracle, train_text
from agents.experiment.seqgan import PRESETS, resolve_device
from seqgan_gym._checks import MAX_N_SEQUENCES
from seqgan_gym.text import BUILTIN_CORPORA

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Values: random text, numbers of every kind written as text, and the usual suspects.
values = st.one_of(
    st.text(max_size=12),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(
        [
            *("", " ", "-1", "0", "1", "2", "1e3", "0x10", "1_0", " 7 ", "nan", "inf", "-inf", "1.5", "true", "None"),
            *("4294967295", "4294967296", str(2**64)),
            *(
                "cpu",
                "cuda",
                "cuda:0",
                "auto",
                "gpu",
                "quick",
                "fast",
                "paper",
                "coco",
                "poems",
                "REINFORCE",
                "PPO,A2C",
            ),
            *("/", "/nonexistent/x", "a" * 300, "x\ny", "\x00", "..", "~"),
        ]
    ),
)


def _int(minimum: int, maximum: float = math.inf) -> Callable[[str], bool]:
    def valid(text: str) -> bool:
        try:
            return minimum <= int(text) <= maximum
        except ValueError:
            return False

    return valid


_seed = _int(0, 2**32 - 1)  # numpy's seeds: every script's --seed


def _non_negative_number(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and value >= 0


def _device(text: str) -> bool:
    try:
        resolve_device(text)
    except ValueError:
        return False
    return True


def _folder(text: str) -> bool:
    if not text.strip() or "\0" in text:
        return False
    path = Path(text)
    try:
        first = next((p for p in (path, *path.parents) if p.exists()), None)
    except OSError:
        return False
    return first is None or first.is_dir()


def _new_folder(text: str) -> bool:
    """A folder for results written over what is there: it must be new or empty (a run's lock file aside)."""
    if not _folder(text):
        return False
    path = Path(text)
    try:
        return not path.is_dir() or not [p for p in path.iterdir() if p.name != ".lock"]
    except OSError:
        return False


def _file(text: str) -> bool:
    try:
        return "\0" not in text and Path(text).is_file()
    except OSError:
        return False


def _algorithms(text: str) -> bool:
    names = [n.strip() for n in text.split(",") if n.strip()]
    return bool(names) and all(n in swap_algorithms.ALGORITHMS for n in names)


#: script -> (parse, {option: rule}); a rule says which values are valid.
SCRIPTS: dict[str, tuple[Callable[[list[str]], argparse.Namespace], dict[str, Callable[[str], bool]]]] = {
    "train_oracle": (
        train_oracle.parse_args,
        {
            "--preset": lambda v: v in PRESETS,
            "--out": _folder,
            "--oracle-file": lambda v: False,  # a random name is no oracle file (see the JSON test for --config)
            "--config": lambda v: False,
            "--seed": _seed,
            "--device": _device,
            "--checkpoint-every": _non_negative_number,
            "--mle-epochs": _int(0),
            "--d-pretrain-rounds": _int(0),
            "--adversarial-epochs": _int(0),
            "--n-eval": _int(1, MAX_N_SEQUENCES),
            "--eval-every": _int(1),
            "--resume": lambda v: False,
        },
    ),
    "train_text": (
        train_text.parse_args,
        {
            "--corpus": lambda v: v in BUILTIN_CORPORA,
            "--test-corpus": lambda v: False,  # only with a corpus file, and random text names none
            "--out": _folder,
            "--mle-epochs": _int(0),
            "--d-pretrain-rounds": _int(0),
            "--adversarial-epochs": _int(0),
            "--n-rollouts": _int(1),
            "--n-negatives": _int(1, MAX_N_SEQUENCES),
            "--n-eval": _int(2, MAX_N_SEQUENCES),
            "--seed": _seed,
        },
    ),
    "table1": (
        table1.parse_args,
        {"--preset": lambda v: v in PRESETS, "--out": _folder, "--seed": _seed, "--n-eval": _int(2)},
    ),
    "swap_algorithms": (
        swap_algorithms.parse_args,
        {
            "--out": _new_folder,
            "--algorithms": _algorithms,
            "--mle-epochs": _int(0),
            "--d-pretrain-rounds": _int(0),
            "--updates": _int(1),
            "--n-rollouts": _int(1),
            "--n-negatives": _int(1),
            "--eval-every": _int(1),
            "--n-eval": _int(1),
            "--seeds": _seed,
            "--oracle-file": lambda v: False,  # a random name is no oracle file
            "--kl-coef": _non_negative_number,
        },
    ),
    "oracle_demo": (
        oracle_demo.parse_args,
        {
            "--out": _new_folder,
            "--num-envs": _int(1),
            "--n-rollouts": _int(1),
            "--episodes": _int(1),
            "--n-real": _int(1),
            "--n-eval": _int(1),
            "--seed": _seed,
        },
    ),
}
OPTIONS = [(script, option) for script, (_, rules) in SCRIPTS.items() for option in rules]


def _check(script: str, argv: list[str], option: str, valid: bool | None, capsys: pytest.CaptureFixture) -> None:
    """``valid=None``: either outcome is allowed, but a refusal must be a clean one."""
    parse = SCRIPTS[script][0]
    try:
        parse(argv)
    except SystemExit as exit_info:
        err = capsys.readouterr().err
        assert exit_info.code == 2, (argv, err)
        assert err.count("\n") == 1 and err.endswith("\n"), (argv, err)
        assert option in err and "Traceback" not in err, (argv, err)
        assert valid is not True, f"{argv} was refused: {err}"
    else:
        assert valid is not False, f"{argv} was accepted"


@pytest.mark.parametrize(("script", "option"), OPTIONS, ids=[f"{s}{o}" for s, o in OPTIONS])
@SETTINGS
@given(value=values)
@example(value="-5")
@example(value="")
def test_random_values_are_accepted_exactly_when_valid(script: str, option: str, value: str, capsys) -> None:
    _check(script, [f"{option}={value}"], option, SCRIPTS[script][1][option](value), capsys)


@SETTINGS
@given(
    script=st.sampled_from(sorted(SCRIPTS)),
    data=st.data(),
)
def test_random_values_as_separate_arguments(script: str, data: st.DataObject, capsys) -> None:
    """``--option value``: a value like ``-x`` then reads as a missing value, still one clean line."""
    option = data.draw(st.sampled_from(sorted(SCRIPTS[script][1])))
    value = data.draw(values)
    _check(script, [option, value], option, None, capsys)


@SETTINGS
@given(
    payload=st.one_of(
        st.dictionaries(
            st.sampled_from(["vocab_size", "seq_len", "batch_size", "method", "n_rollouts", "seed", "bogus"]),
            st.one_of(st.integers(-3, 30), st.floats(allow_nan=True), st.text(max_size=4), st.none(), st.booleans()),
            max_size=3,
        ),
        st.lists(st.integers(), max_size=2),
        st.integers(),
        st.text(max_size=5),
    )
)
def test_config_files_with_random_json(tmp_path_factory, payload: object, capsys) -> None:
    """--config: a JSON object of valid SeqGANConfig fields is accepted and makes a config; anything else exits 2."""
    path = tmp_path_factory.mktemp("config") / "config.json"
    path.write_text(json.dumps(payload))
    try:
        args = train_oracle.parse_args([f"--config={path}"])
    except SystemExit as exit_info:
        err = capsys.readouterr().err
        assert exit_info.code == 2 and err.count("\n") == 1 and "--config" in err, err
    else:
        config = train_oracle.make_config(args)  # accepted: it makes a run's configuration
        assert isinstance(payload, dict) and all(getattr(config, k) == v for k, v in payload.items())


def test_bad_files_for_file_options(tmp_path: Path, capsys) -> None:
    """Files that exist but are wrong: each refused at once, naming the option."""
    empty, binary, latin = tmp_path / "empty.txt", tmp_path / "binary.txt", tmp_path / "latin.txt"
    empty.write_text("")
    binary.write_bytes(b"\x00\x01\x02\n")
    latin.write_bytes("caf\xe9\n".encode("latin-1"))
    folder_file = tmp_path / "file"
    folder_file.write_text("x")
    cases = [
        ("train_text", ["--corpus", str(empty)], "--corpus"),
        ("train_text", ["--corpus", str(binary)], "--corpus"),
        ("train_text", ["--corpus", str(latin)], "--corpus"),
        ("train_text", ["--corpus", "coco", "--test-corpus", "poems"], "--test-corpus"),
        ("train_oracle", ["--config", str(binary)], "--config"),
        ("train_oracle", ["--config", str(tmp_path)], "--config"),
        ("train_oracle", ["--resume", str(tmp_path)], "--resume"),
        ("train_oracle", ["--out", str(folder_file / "run")], "--out"),
        ("table1", ["--out", str(folder_file)], "--out"),
    ]
    for script, argv, option in cases:
        _check(script, argv, option, False, capsys)


@pytest.mark.parametrize(
    ("script", "argv", "option"),
    [("train_oracle.py", ["--seed=-1"], "--seed"), ("table1.py", ["--n-eval", "1"], "--n-eval")],
)
def test_real_command_lines_exit_2_with_one_line(script: str, argv: list[str], option: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and option in done.stderr and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize(("script", "option"), OPTIONS, ids=[f"{s}{o}" for s, o in OPTIONS])
def test_a_lone_double_dash_is_no_value(script: str, option: str, capsys: pytest.CaptureFixture) -> None:
    # Python before 3.12 turns "--option=--" into an empty list that no type checks.
    _check(script, [f"{option}=--"], option, False, capsys)
