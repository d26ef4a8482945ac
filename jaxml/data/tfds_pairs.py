"""Real image-caption pairs from TensorFlow Datasets, for the multimodal methods on machines with
internet: `load_tfds_pairs(name, split)` reads a TFDS image + caption dataset through
`tfds.data_source` (ArrayRecord random access, no TensorFlow), resizes the images to one shape and
returns them with their caption strings; `encode_pairs` tokenises the captions with the project's
character tokenizer into the `image` / `tokens` Split of `data.paired`.

`PAIRED_SOURCES` names the datasets it knows and where their image and caption are:

- `ai2dcaption` (AI2D diagrams with captions): its builder needs no TensorFlow, so it is read here and
  tested with `tfds.testing.mock_data`;
- `coco_captions` (COCO 2014 with five captions an image; the first is used): its TFDS builder imports
  TensorFlow (also under `mock_data`), so without TensorFlow installed it is one JaxmlError naming the
  package.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import Any, Sequence

import numpy as np

from jaxml.data.datasets import Split
from jaxml.data.tfds_source import _import_tfds
from jaxml.data.text import CharTokenizer
from jaxml.errors import JaxmlError

PAD = "<pad>"


@dataclasses.dataclass(frozen=True)
class PairedSource:
    """Where a TFDS dataset keeps its image and caption (`caption` a key path into the example), and
    whether its builder needs TensorFlow."""

    image: str = "image"
    caption: tuple[str, ...] = ("caption",)
    needs_tensorflow: bool = False


PAIRED_SOURCES: dict[str, PairedSource] = {
    "ai2dcaption": PairedSource(),
    "coco_captions": PairedSource(caption=("captions", "text"), needs_tensorflow=True),
}


def check_source(name: str) -> PairedSource:
    """The PairedSource of `name`; a JaxmlError for an unknown one or a missing TensorFlow."""
    if name not in PAIRED_SOURCES:
        raise JaxmlError(f"config.dataset='tfds:{name}' has no image-caption mapping; choose one of "
                         f"{', '.join('tfds:' + n for n in PAIRED_SOURCES)}")
    source = PAIRED_SOURCES[name]
    if source.needs_tensorflow and importlib.util.find_spec("tensorflow") is None:
        usable = [n for n, s in PAIRED_SOURCES.items() if not s.needs_tensorflow]
        raise JaxmlError(f"config.dataset='tfds:{name}': its TFDS builder needs the package tensorflow, which is "
                         f"not installed (`pip install tensorflow`); without it choose one of "
                         f"{', '.join('tfds:' + n for n in usable)}")
    return source


def first_caption(example: dict[str, Any], path: Sequence[str]) -> str:
    """The caption at key `path` of an example (the first of a sequence), as text."""
    value: Any = example
    for key in path:
        value = value[key]
    if isinstance(value, (list, tuple, np.ndarray)) and not isinstance(value, (str, bytes)):
        if len(value) == 0:
            raise JaxmlError(f"a TFDS example has no caption at {'/'.join(path)}")
        value = value[0]
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def resize(image: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    """uint8 [H, W, C] -> uint8 [size, channels] (bilinear; grey is the mean of the channels)."""
    from PIL import Image

    x = np.asarray(image, np.uint8)
    x = x[..., None] if x.ndim == 2 else x
    if channels == 1:
        x = x.mean(-1, keepdims=True).astype(np.uint8) if x.shape[-1] != 1 else x
    elif x.shape[-1] == 1:
        x = np.repeat(x, channels, -1)
    mode = Image.fromarray(x[..., 0] if channels == 1 else x[..., :channels])
    out = np.asarray(mode.resize((size[1], size[0]), Image.BILINEAR), np.uint8)
    return out.reshape(size + (channels,))


def load_tfds_pairs(name: str, split: str, *, size: int = 0, image_size: tuple[int, int] = (32, 32),
                    channels: int = 1, data_dir: str | None = None) -> tuple[np.ndarray, list[str]]:
    """(images uint8 [N, *image_size, channels], captions) of TFDS dataset `name`'s `split` (the first
    `size` examples when `size` > 0), read with `tfds.data_source` (downloads and prepares it when
    absent and a network is there)."""
    source_spec = check_source(name)
    if channels not in (1, 3):
        raise JaxmlError(f"config.captions.channels={channels} must be 1 or 3")
    tfds = _import_tfds()
    try:
        source = tfds.data_source(name, split=split, data_dir=data_dir)
    except ModuleNotFoundError as e:
        raise JaxmlError(f"config.dataset='tfds:{name}' needs the package {e.name} to build the dataset "
                         f"(`pip install {e.name}`)") from e
    n = len(source) if size <= 0 else min(size, len(source))
    if n == 0:
        raise JaxmlError(f"tfds:{name} split {split!r} is empty")
    images, captions = [], []
    for i in range(n):
        example = source[i]
        images.append(resize(example[source_spec.image], tuple(image_size), channels))
        captions.append(first_caption(example, source_spec.caption))
    return np.stack(images), captions


def encode_pairs(images: np.ndarray, captions: Sequence[str], max_len: int,
                 tokenizer: CharTokenizer | None = None) -> tuple[Split, CharTokenizer]:
    """(Split(image, tokens [N, max_len] int32, `<pad>` = 0 after each caption, longer ones cut), the
    tokenizer: over the captions' characters unless one is given)."""
    tokenizer = tokenizer or CharTokenizer("".join(captions), specials=(PAD,))
    tokens = np.zeros((len(captions), max_len), np.int32)
    for i, text in enumerate(captions):
        ids = tokenizer.encode(text)[:max_len]
        tokens[i, :len(ids)] = ids
    return Split(image=np.asarray(images, np.uint8), tokens=tokens), tokenizer
