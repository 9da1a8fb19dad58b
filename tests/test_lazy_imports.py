"""What loads when: ``seqgan-gym --help`` and ``import agents`` without torch; SB3 learns "GeneratorPolicy" either way.

Each check runs in a fresh interpreter, since this one has long since imported torch.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from agents.cli import COMMANDS


def _python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.parametrize("module", ["seqgan_gym", "agents", "agents.cli", "agents.experiment.config"])
def test_importing_the_packages_and_the_config_leaves_torch_unloaded(module: str) -> None:
    assert _python(f"import sys, {module}; print('torch' in sys.modules)") == "False"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_builds_its_parser_and_prints_help_without_torch(command: str) -> None:
    code = (
        "import contextlib, io, sys\n"
        "from agents.cli import run\n"
        "with contextlib.redirect_stdout(io.StringIO()) as text, contextlib.suppress(SystemExit):\n"
        f"    run([{command!r}, '--help'])\n"
        "print('usage:' in text.getvalue(), 'torch' in sys.modules)"
    )
    assert _python(code) == "True False"


def test_a_public_name_loads_its_module_on_first_use() -> None:
    code = (
        "import sys, seqgan_gym, agents\n"
        "from seqgan_gym import Discriminator\n"
        "from agents import REINFORCE\n"
        "print(Discriminator.__module__, REINFORCE.__module__, 'torch' in sys.modules)"
    )
    assert _python(code) == "seqgan_gym.discriminator agents.reinforce True"


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    import agents
    import seqgan_gym

    with pytest.raises(AttributeError, match="'seqgan_gym' has no attribute 'Discriminatr'"):
        seqgan_gym.Discriminatr  # noqa: B018
    with pytest.raises(AttributeError, match="'agents' has no attribute 'PPO'"):
        agents.PPO  # noqa: B018


@pytest.mark.parametrize(
    "code",
    [
        "import agents\nfrom stable_baselines3 import A2C, PPO",  # agents first: registered when SB3 loads
        "from stable_baselines3 import A2C, PPO\nimport agents",  # SB3 first: registered at once
        "import agents\nfrom sb3_contrib import TRPO\nfrom stable_baselines3 import A2C, PPO",  # via sb3-contrib
        "import agents.policies\nfrom stable_baselines3 import A2C, PPO",  # the module that defines the policy
    ],
)
def test_sb3_takes_generator_policy_by_name_whatever_the_import_order(code: str) -> None:
    check = (
        f"{code}\n"
        "from sb3_contrib import TRPO\n"
        "from agents.policies import GeneratorPolicy\n"
        "print(all(a.policy_aliases.get('GeneratorPolicy') is GeneratorPolicy for a in (A2C, PPO, TRPO)))"
    )
    assert _python(check) == "True"


def test_sb3_imported_after_agents_keeps_its_loader_api() -> None:
    """The import hook wraps SB3's loader: what tools ask of it (sources, package files) still answers."""
    code = (
        "import agents, importlib.resources, inspect, stable_baselines3\n"
        "print('def ' in inspect.getsource(stable_baselines3) or 'import' in inspect.getsource(stable_baselines3),\n"
        "      importlib.resources.files('stable_baselines3').joinpath('version.txt').is_file())"
    )
    assert _python(code) == "True True"
