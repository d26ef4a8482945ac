import ml_collections
import pytest

from jaxml.core import config as config_lib
from jaxml.errors import JaxmlError


def make():
    c = ml_collections.ConfigDict()
    c.steps = 10
    c.learning_rate = 1e-3
    c.flag = False
    c.name = "x"
    c.sizes = (1, 2)
    c.dtype = "float32"
    c.model = ml_collections.ConfigDict({"width": 32, "name": "mlp"})
    c.parallel = ml_collections.ConfigDict({"num_devices": 0})
    return c


def apply(*args):
    return config_lib.apply_overrides(make(), config_lib.parse_override_args(args))


def test_typed_overrides_including_nested():
    c = apply("--config.steps=20", "--config.learning_rate=0.5", "--config.flag=true", "--config.model.width=64",
              "--config.sizes=(3,4,5)", "--config.name", "y")
    assert c.steps == 20 and isinstance(c.steps, int)
    assert c.learning_rate == 0.5 and isinstance(c.learning_rate, float)
    assert c.flag is True
    assert c.model.width == 64
    assert c.sizes == (3, 4, 5)
    assert c.name == "y"


def test_int_accepts_integral_float_notation():
    assert apply("--config.steps=1e3").steps == 1000


@pytest.mark.parametrize("arg,needle", [
    ("--config.stepz=3", "did you mean steps"),
    ("--config.model.widht=3", "model.width"),
    ("--config.nothing.at.all=3", "unknown config key"),
    ("--config.modle.width=3", "did you mean model"),
])
def test_unknown_keys_name_close_matches(arg, needle):
    with pytest.raises(JaxmlError, match="unknown config key") as e:
        apply(arg)
    assert needle in str(e.value)


@pytest.mark.parametrize("arg,expected", [
    ("--config.steps=ten", "expected an int"),
    ("--config.learning_rate=fast", "expected a float"),
    ("--config.flag=maybe", "expected a bool"),
    ("--config.steps=2.5", "expected an int"),
])
def test_mistyped_values(arg, expected):
    with pytest.raises(JaxmlError, match=expected):
        apply(arg)


def test_choices_are_validated():
    with pytest.raises(JaxmlError, match="float32, bfloat16"):
        apply("--config.dtype=float64")
    with pytest.raises(JaxmlError, match="unknown config key 'parallel.backend'"):  # no pmap backend is kept
        apply("--config.parallel.backend=pmap")


def test_group_and_missing_value_errors():
    with pytest.raises(JaxmlError, match="is a group"):
        apply("--config.model=3")
    with pytest.raises(JaxmlError, match="missing value"):
        config_lib.parse_override_args(["--config.steps"])
    with pytest.raises(JaxmlError, match="unexpected argument"):
        config_lib.parse_override_args(["steps=3"])


def test_json_round_trip():
    c = apply("--config.model.width=7")
    back = config_lib.from_json(config_lib.to_json(c))
    assert back.model.width == 7 and back.steps == 10


def test_check_int_and_check_number():
    assert config_lib.check_int(3, "n") == 3 and config_lib.check_int(0, "n", minimum=0) == 0
    for bad in (0, 2.5, True, "3"):
        with pytest.raises(JaxmlError, match="n must be an int >= 1"):
            config_lib.check_int(bad, "n")
    assert config_lib.check_number(0.5, "x", 0.0, 1.0) == 0.5
    for bad in (1.5, -0.1, float("nan"), True, "a"):
        with pytest.raises(JaxmlError, match="x must be"):
            config_lib.check_number(bad, "x", 0.0, 1.0)
    import jax.numpy as jnp
    traced_like = jnp.float32(-1.0)
    assert config_lib.check_number(traced_like, "x", 0.0, allow_arrays=True) is traced_like
