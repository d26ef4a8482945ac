"""jaxml.rl.agent_config: the generic typed-config constructor (types, ranges, choices, nested keys,
groups, cross-field checks), one-line errors naming the key, round trips, frozen + hashable, and
every agent's typed config built from its default config."""

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
import pytest

from jaxml.defaults.rl import (ddpg as ddpg_defaults, dqn as dqn_defaults, ppo as ppo_defaults,
                               qlearning as qlearning_defaults, reinforce as reinforce_defaults)
from jaxml.errors import JaxmlError
from jaxml.rl import ddpg, dqn, ppo, qlearning, reinforce
from jaxml.rl.agent_config import AgentConfig, param


@dataclasses.dataclass(frozen=True)
class Switches(AgentConfig):
    on: bool = param()
    delay: int = param(ge=1)


@dataclasses.dataclass(frozen=True)
class ToyConfig(AgentConfig):
    steps: int = param(ge=1)
    starts: int = param(ge=0)
    gamma: float = param(ge=0.0, le=1.0)
    lr: float = param(gt=0.0)
    tau: float = param(gt=0.0, le=1.0)
    below: float = param(lt=2.0)
    offset: float = param()
    hidden: tuple[int, ...] = param(ge=1)
    act: str = param(choices=("tanh", "relu"))
    name: str = param()
    devices: int = param(ge=1, key="parallel.num_devices")
    switches: Switches
    method: str | None = param(choices=("a", "b"), default=None)

    def check(self) -> None:
        self.check_at_most("starts", "steps")
        self.check_at_most("devices", "steps", "at least one step per device")


def toy(**changes) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.steps, c.starts, c.gamma, c.lr, c.tau, c.below, c.offset = 10, 0, 0.99, 1e-3, 1.0, -1.0, -3.5
    c.hidden, c.act, c.name, c.on, c.delay = (8, 4), "tanh", "x", True, 2
    c.parallel = ml_collections.ConfigDict({"num_devices": 1})
    c.unrelated = "ignored"   # runner keys and the like are not the agent's business
    with c.ignore_type():
        for k, v in changes.items():
            if k == "num_devices":
                c.parallel.num_devices = v
            else:
                c[k] = v
    return c


def error_of(config) -> str:
    with pytest.raises(JaxmlError) as e:
        ToyConfig.from_config(config)
    text = str(e.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize("change,message", [
    # wrong types
    ({"steps": 2.5}, "config.steps must be an int >= 1, got 2.5"),
    ({"steps": True}, "config.steps must be an int >= 1, got True"),
    ({"gamma": "0.9"}, "config.gamma must be a number in [0, 1], got '0.9'"),
    ({"gamma": float("nan")}, "config.gamma must be a number in [0, 1], got nan"),
    ({"offset": None}, "config.offset must be a number, got None"),
    ({"on": 1}, "config.on must be True or False, got 1"),
    ({"name": 3}, "config.name must be a string, got 3"),
    ({"hidden": "8,4"}, "config.hidden must be a non-empty tuple of ints >= 1, got '8,4'"),
    ({"hidden": (8, 2.0)}, "config.hidden must be a non-empty tuple of ints >= 1, got (8, 2.0)"),
    # out of range
    ({"steps": 0}, "config.steps must be an int >= 1, got 0"),
    ({"starts": -1}, "config.starts must be an int >= 0, got -1"),
    ({"gamma": 1.5}, "config.gamma must be a number in [0, 1], got 1.5"),
    ({"lr": 0.0}, "config.lr must be a number > 0, got 0.0"),
    ({"tau": 1.01}, "config.tau must be a number in (0, 1], got 1.01"),
    ({"below": 2.0}, "config.below must be a number < 2, got 2.0"),
    ({"hidden": ()}, "config.hidden must be a non-empty tuple of ints >= 1, got ()"),
    ({"hidden": (8, 0)}, "config.hidden must be a non-empty tuple of ints >= 1, got (8, 0)"),
    ({"num_devices": 0}, "config.parallel.num_devices must be an int >= 1, got 0"),
    ({"delay": 0}, "config.delay must be an int >= 1, got 0"),   # a field of the group
    # unknown choices
    ({"act": "gelu"}, "config.act='gelu' is not valid; choose one of tanh, relu"),
    ({"method": "c"}, "config.method='c' is not valid; choose one of a, b"),
    # cross-field
    ({"starts": 11}, "config.starts=11 exceeds config.steps=10"),
    ({"num_devices": 11}, "config.parallel.num_devices=11 exceeds config.steps=10: at least one step per device"),
])
def test_one_line_error_names_key_value_and_valid_range(change, message):
    assert error_of(toy(**change)) == message


def test_missing_key_is_named():
    c = toy()
    del c["gamma"]
    assert error_of(c) == "config.gamma is missing (ToyConfig needs it)"
    c = toy()
    del c["parallel"]
    assert error_of(c) == "config.parallel.num_devices is missing (ToyConfig needs it)"


def test_valid_config_round_trips():
    cfg = ToyConfig.from_config(toy(hidden=[8, 4], lr=1))
    assert cfg.hidden == (8, 4) and cfg.lr == 1.0 and isinstance(cfg.lr, float)   # list -> tuple, int -> float
    assert cfg.devices == 1 and cfg.switches == Switches(on=True, delay=2) and cfg.method is None
    assert ToyConfig.from_config(cfg) is cfg
    again = ToyConfig.from_config(cfg.to_config())
    assert again == cfg and hash(again) == hash(cfg)
    assert cfg.to_config().parallel.num_devices == 1 and cfg.to_config().delay == 2
    assert ToyConfig.from_config(toy(method="b")).method == "b"


def test_frozen_hashable_and_static_under_jit():
    cfg = ToyConfig.from_config(toy())
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.gamma = 0.5
    assert {cfg: 1}[ToyConfig.from_config(toy())] == 1
    assert ToyConfig.from_config(toy(gamma=0.5)) != cfg
    f = jax.jit(lambda c, x: x * c.gamma + c.switches.delay, static_argnums=0)
    assert float(f(cfg, jnp.float32(2.0))) == pytest.approx(2 * 0.99 + 2)


def test_direct_construction_is_checked_too():
    cfg = ToyConfig.from_config(toy())
    with pytest.raises(JaxmlError, match=r"config.gamma must be a number in \[0, 1\], got 2.0"):
        dataclasses.replace(cfg, gamma=2.0)
    with pytest.raises(JaxmlError, match="config.starts=20 exceeds"):
        dataclasses.replace(cfg, starts=20)


AGENTS = [(dqn, dqn_defaults.default_config()), (ppo, ppo_defaults.default_config()),
          (reinforce, reinforce_defaults.default_config()), (qlearning, qlearning_defaults.default_config()),
          (ddpg, ddpg_defaults.default_config("td3")), (ddpg, ddpg_defaults.default_config("ddpg"))]


@pytest.mark.parametrize("module,config", AGENTS, ids=["dqn", "ppo", "reinforce", "qlearning", "td3", "ddpg"])
def test_every_agent_config_from_its_defaults(module, config):
    cfg = module.Config.from_config(config)
    assert isinstance(cfg, AgentConfig) and hash(cfg) == hash(module.Config.from_config(config))
    for key, value in cfg.config_items().items():   # every field holds the config's value
        node = config
        for part in key.split("."):
            node = node[part] if part in node else None
        if isinstance(node, (dict, ml_collections.ConfigDict)):   # a dict kind: stored as sorted pairs
            node = tuple(sorted(node.items()))
        assert node == value, key
    assert module.Config.from_config(cfg.to_config()) == cfg


def test_agent_configs_name_their_pieces():
    assert dqn.DQNConfig is dqn.Config and ppo.PPOConfig is ppo.Config
    assert reinforce.ReinforceConfig is reinforce.Config and qlearning.QLearningConfig is qlearning.Config
    td3 = ddpg.DDPGConfig.from_config(ddpg_defaults.default_config("td3"))
    plain = ddpg.DDPGConfig.from_config(ddpg_defaults.default_config("ddpg"))
    assert td3.td3.any_on and td3.num_critics == 2 and td3.td3.policy_delay == 2
    assert not plain.td3.any_on and plain.num_critics == 1
    c = ppo_defaults.default_config()
    c.parallel.num_devices = 0
    with pytest.raises(JaxmlError, match=r"^config.parallel.num_devices must be an int >= 1, got 0$"):
        ppo.PPOConfig.from_config(c)
    c = qlearning_defaults.default_config()
    c.env = "CartPole-v1"
    with pytest.raises(JaxmlError, match=r"^config.env='CartPole-v1' is not valid; choose one of "
                                         r"FrozenLake-misc, FourRooms-misc$"):
        qlearning.QLearningConfig.from_config(c)
