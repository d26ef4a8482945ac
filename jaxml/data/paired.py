"""Paired image + text data generated offline from a labelled image dataset, deterministic in a seed.

`paired_dataset(name, seed=, ...)` pairs every image of Fashion-MNIST (or of sklearn's digits; a
missing Fashion-MNIST falls back to digits with one log line when `fallback=True`) with a short
caption built from

- its class: one of the class's words, synonyms included ("sweater", "jumper", "pullover"), and the
  class's *description*, a phrase of attribute words shared between classes ("long sleeved knitted
  upper garment"); CLIP-style zero-shot prompts are these descriptions;
- attributes read from the image: brightness of the ink ("dark" / "grey" / "pale", terciles of
  the training split), its size (ink area: "compact" / "mid-sized" / "bulky") and texture (spread of
  the ink's intensity: "plain" / "patterned", the median);
- a colour ("red" / "blue") drawn per item that only the caption carries: the images are grey.

Noise makes the caption alone insufficient for the class: word dropout on the class word and the
image attributes (`word_dropout`), a share of *ambiguous* captions whose class word and description
are replaced by the class's coarse group ("an upper garment", "footwear"; `ambiguous`) and a share of
*wrong* captions with another class's word and description (`wrong`). The fused label
`fused_label = 2 * label + colour` needs both modalities: the class from the image, the colour from
the caption.

Captions are tokenised with the project's character tokenizer (`data.text.CharTokenizer`, `<pad>` id 0)
over the characters of the word tables, padded to `max_len`. The splits hold `image` uint8 [N, H, W, 1],
`tokens` int32 [N, T], `label`, `colour`, `fused_label` and `caption_kind` (0 faithful, 1 ambiguous,
2 wrong) int32 [N]; `captions` (the strings) ride beside them on `PairedDataset`.

`DIGIT_ATTRIBUTES` is the attribute table of the ten digits for attribute-based zero-shot transfer:
the seven segments of the digit on a seven-segment display and a few shape attributes.

`VIEWS` holds two genuinely different views of one image for co-training ("halves": the left and
right half; "pixels_edges": the pixels and their gradient magnitude).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Callable, NamedTuple, Sequence

import numpy as np

from jaxml.data.datasets import Dataset, Split, load_dataset
from jaxml.data.text import CharTokenizer
from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")

PAD = "<pad>"


class ClassText(NamedTuple):
    """The words of one class: synonyms (class words), its attribute description and its coarse group."""

    words: tuple[str, ...]
    description: str
    group: str


FASHION_TEXT: tuple[ClassText, ...] = (
    ClassText(("t-shirt", "tee", "top"), "short sleeved upper garment", "an upper garment"),
    ClassText(("trousers", "pants", "slacks"), "long legged lower garment", "a lower garment"),
    ClassText(("pullover", "sweater", "jumper"), "long sleeved knitted upper garment", "an upper garment"),
    ClassText(("dress", "gown", "frock"), "long one-piece garment", "a garment"),
    ClassText(("coat", "jacket", "overcoat"), "long sleeved buttoned outer garment", "an upper garment"),
    ClassText(("sandal", "slide", "flip-flop"), "open strapped low footwear", "footwear"),
    ClassText(("shirt", "blouse", "button-up"), "long sleeved buttoned upper garment", "an upper garment"),
    ClassText(("sneaker", "trainer", "running shoe"), "closed laced low footwear", "footwear"),
    ClassText(("bag", "handbag", "purse"), "handled carried accessory", "an accessory"),
    ClassText(("ankle boot", "boot", "bootie"), "closed high footwear", "footwear"),
)

DIGIT_TEXT: tuple[ClassText, ...] = tuple(
    ClassText(words, description, "a digit") for words, description in (
        (("zero", "nought"), "round closed loop"),
        (("one", "unit"), "single vertical stroke"),
        (("two", "pair"), "curved top and flat base"),
        (("three", "trio"), "two open curves"),
        (("four", "quad"), "open angle and vertical stroke"),
        (("five", "fiver"), "flat top and curved base"),
        (("six", "half dozen"), "curved stem and low loop"),
        (("seven", "sept"), "flat top and diagonal stroke"),
        (("eight", "octet"), "two stacked loops"),
        (("nine", "nonet"), "high loop and straight stem"),
    ))

CLASS_TEXT: dict[str, tuple[ClassText, ...]] = {"fashion_mnist": FASHION_TEXT, "digits": DIGIT_TEXT}

BRIGHTNESS_WORDS = ("dark", "grey", "pale")
SIZE_WORDS = ("small", "medium", "large")
TEXTURE_WORDS = ("plain", "patterned")
EXTENT_WORDS = (("squat", "mid-height", "tall"), ("narrow", "mid-width", "wide"))
"""Words of the ink's bounding-box height and width (terciles), in the captions only with `extent=True`."""
COLOUR_WORDS = ("red", "blue")
ARTICLES = ("a", "one", "the")
KINDS = ("faithful", "ambiguous", "wrong")

# Seven-segment display: a top, b upper right, c lower right, d bottom, e lower left, f upper left, g middle.
SEGMENT_NAMES = ("top", "upper_right", "lower_right", "bottom", "lower_left", "upper_left", "middle")
_SEGMENTS = ("abcdef", "bc", "abdeg", "abcdg", "bcfg", "acdfg", "acdefg", "abc", "abcdefg", "abcdfg")
_SHAPES = {  # shape attributes of handwritten digits: name -> digits that have it
    "closed_loop": (0, 6, 8, 9),
    "vertical_stroke": (1, 4, 9),
    "diagonal_stroke": (2, 7),
    "curved": (0, 2, 3, 5, 6, 8, 9),
}
DIGIT_ATTRIBUTE_NAMES: tuple[str, ...] = SEGMENT_NAMES + tuple(_SHAPES)
DIGIT_ATTRIBUTES: np.ndarray = np.array(
    [[float(ch in _SEGMENTS[d]) for ch in "abcdefg"] + [float(d in ds) for ds in _SHAPES.values()]
     for d in range(10)], np.float32)
"""[10, 11] binary attribute table of the digits: seven segments, then closed loop, vertical stroke,
diagonal stroke, curved."""
DIGIT_ATTRIBUTES.flags.writeable = False

GRID = (5, 3)
"""The coarse grid (rows, columns) over an image on which the digit attributes are placed."""
SEGMENT_CELLS: tuple[tuple[int, int] | None, ...] = ((0, 1), (1, 2), (3, 2), (4, 1), (3, 0), (1, 0), (2, 1),
                                                     None, None, None, None)
"""Where each attribute of `DIGIT_ATTRIBUTES` lies on `GRID` (None: the shape attributes, anywhere)."""

_GLYPHS = (  # handwritten digits drawn on the 5 x 3 grid, row by row ('#' ink): an open-cornered 0, a
    # bare vertical 1, a 7 and a 2 with a diagonal, a 4 open at the top, a 9 with a straight stem
    ".#.#.##.##.#.#.", ".#..#..#..#..#.", "##...#.#.#..###", "##...#.#...###.", "#..#.####..#..#",
    "####..##...###.", ".#.#..##.#.#.#.", "###..#.#..#..#.", ".#.#.#.#.#.#.#.", ".#.#.#.##..#.#.")
DIGIT_GLYPHS: np.ndarray = np.array([[float(ch == "#") for ch in g] for g in _GLYPHS], np.float32)
"""[10, 15] binary attribute table of the digits: ink in each cell of `GRID` (row-major) of the digit as
handwritten, drawn once from the usual shapes of the ten digits (not fitted to images)."""
DIGIT_GLYPHS.flags.writeable = False
GLYPH_CELLS: tuple[tuple[int, int], ...] = tuple(divmod(j, GRID[1]) for j in range(GRID[0] * GRID[1]))


class AttributeTable(NamedTuple):
    """Class-level binary attributes for attribute-based zero-shot transfer: `table` [C, M] and the cell
    of `GRID` where each attribute is seen (None: the whole image)."""

    table: np.ndarray
    cells: tuple[tuple[int, int] | None, ...]


DIGIT_ATTRIBUTE_TABLES: dict[str, AttributeTable] = {
    "segments": AttributeTable(DIGIT_ATTRIBUTES, SEGMENT_CELLS),
    "glyph": AttributeTable(DIGIT_GLYPHS, GLYPH_CELLS),
}


# ------------------------------------------------------------------------------------------ attributes

INK = 0.1  # a pixel in [0, 1] above this is ink


def ink_extent(images: np.ndarray) -> np.ndarray:
    """[N, 2] per-image (rows, columns) spanned by the ink's bounding box (0 for an empty image)."""
    ink = np.asarray(images, np.float32)[..., 0] / 255.0 > INK
    spans = []
    for axis in (2, 1):  # rows with ink, then columns with ink
        rows = ink.any(axis=axis)
        idx = np.arange(rows.shape[1])
        first = np.where(rows, idx, rows.shape[1]).min(1)
        last = np.where(rows, idx, -1).max(1)
        spans.append(np.maximum(last - first + 1, 0))
    return np.stack(spans, axis=1).astype(np.float32)


def image_statistics(images: np.ndarray) -> np.ndarray:
    """[N, 3] per-image (mean ink intensity, ink area fraction, std of the ink intensity) of uint8 images."""
    x = np.asarray(images, np.float32).reshape(len(images), -1) / 255.0
    ink = x > INK
    count = np.maximum(ink.sum(1), 1)
    mean = (x * ink).sum(1) / count
    var = (np.square(x - mean[:, None]) * ink).sum(1) / count
    return np.stack([mean, ink.mean(1), np.sqrt(var)], axis=1)


@dataclasses.dataclass(frozen=True)
class AttributeBins:
    """Thresholds of the image attributes, fitted on a training split: brightness and size terciles,
    the texture median."""

    brightness: tuple[float, float]
    size: tuple[float, float]
    texture: tuple[float]
    extent: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0))

    @classmethod
    def fit(cls, images: np.ndarray) -> "AttributeBins":
        s = image_statistics(images)
        q = lambda col, qs: tuple(float(v) for v in np.quantile(s[:, col], qs))
        e = ink_extent(images)
        extent = tuple(tuple(float(v) for v in np.quantile(e[:, i], (1 / 3, 2 / 3))) for i in range(2))
        return cls(brightness=q(0, (1 / 3, 2 / 3)), size=q(1, (1 / 3, 2 / 3)), texture=q(2, (0.5,)), extent=extent)

    def extent_bins(self, images: np.ndarray) -> np.ndarray:
        """[N, 2] int bins (height, width terciles of the ink's bounding box) of `images`."""
        e = ink_extent(images)
        return np.stack([np.digitize(e[:, i], self.extent[i]) for i in range(2)], axis=1).astype(np.int32)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """[N, 3] int bins (brightness, size, texture) of `images`."""
        s = image_statistics(images)
        return np.stack([np.digitize(s[:, 0], self.brightness), np.digitize(s[:, 1], self.size),
                         np.digitize(s[:, 2], self.texture)], axis=1).astype(np.int32)


# -------------------------------------------------------------------------------------------- captions

@dataclasses.dataclass(frozen=True)
class CaptionNoise:
    """How unreliable the captions are: per-word dropout of the class word and image attributes, and
    the shares of ambiguous and of wrong captions."""

    word_dropout: float = 0.15
    ambiguous: float = 0.2
    wrong: float = 0.1

    def __post_init__(self):
        for name in ("word_dropout", "ambiguous", "wrong"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise JaxmlError(f"config.captions.{name}={v} must be in [0, 1)")
        if self.ambiguous + self.wrong >= 1.0:
            raise JaxmlError(f"config.captions.ambiguous + wrong = {self.ambiguous + self.wrong} must be below 1")


PROMPT_TEMPLATE = "an item, {description}"
"""The default zero-shot prompt: a class's description alone, worded as the captions whose class word
was dropped ("a photo of a {description}" is the other natural choice)."""


def class_prompt(text: ClassText, template: str = PROMPT_TEMPLATE) -> str:
    """The zero-shot prompt of a class from its description alone (`template` with `{description}`)."""
    if "{description}" not in template:
        raise JaxmlError(f"config.zeroshot.template={template!r} must contain {{description}}")
    return template.format(description=text.description)


def make_captions(labels: np.ndarray, attributes: np.ndarray, colours: np.ndarray, table: Sequence[ClassText],
                  noise: CaptionNoise, rng: np.random.Generator,
                  extent: np.ndarray | None = None) -> tuple[list[str], np.ndarray]:
    """(captions, kind [N]) for `labels` with image `attributes` [N, 3] and `colours` [N]; with `extent`
    [N, 2] (height and width bins) their words follow the texture, never dropped."""
    n = len(labels)
    u = rng.random(n)
    kind = np.where(u < noise.ambiguous, 1, np.where(u < noise.ambiguous + noise.wrong, 2, 0)).astype(np.int32)
    other = (labels + rng.integers(1, len(table), n)) % len(table)
    keep = rng.random((n, 3)) >= noise.word_dropout  # class word, brightness, size (texture always kept)
    synonym = rng.integers(0, 1 << 30, n)
    article = rng.integers(0, len(ARTICLES), n)
    captions = []
    for i in range(n):
        cls = table[int(other[i] if kind[i] == 2 else labels[i])]
        words = [ARTICLES[article[i]]]
        if keep[i, 1]:
            words.append(BRIGHTNESS_WORDS[attributes[i, 0]])
        if keep[i, 2]:
            words.append(SIZE_WORDS[attributes[i, 1]])
        words.append(TEXTURE_WORDS[attributes[i, 2]])
        if extent is not None:
            words += [EXTENT_WORDS[0][extent[i, 0]], EXTENT_WORDS[1][extent[i, 1]]]
        words.append(COLOUR_WORDS[colours[i]])
        if kind[i] == 1:
            words.append(f"item, {cls.group}")
        else:
            words.append(cls.words[synonym[i] % len(cls.words)] if keep[i, 0] else "item")
            words[-1] += f", {cls.description}"
        captions.append(" ".join(words))
    return captions, kind


def tokenizer_for(table: Sequence[ClassText], extent: bool = False) -> CharTokenizer:
    """The character tokenizer of every caption and prompt the word tables can make (`<pad>` = 0)."""
    words = [w for c in table for w in c.words + (c.description, c.group)] + ["a photo of an item"]
    words += list(BRIGHTNESS_WORDS + SIZE_WORDS + TEXTURE_WORDS + COLOUR_WORDS + ARTICLES) + ["item, "]
    words += [w for ws in EXTENT_WORDS for w in ws] if extent else []
    return CharTokenizer(" ".join(words), specials=(PAD,))


def encode_texts(tokenizer: CharTokenizer, texts: Sequence[str], max_len: int) -> np.ndarray:
    """[N, max_len] int32 ids, `<pad>` (0) after each text; a text longer than `max_len` is a JaxmlError."""
    out = np.zeros((len(texts), max_len), np.int32)
    for i, t in enumerate(texts):
        ids = tokenizer.encode(t)
        if len(ids) > max_len:
            raise JaxmlError(f"config.captions.max_len={max_len} is shorter than the caption {t!r} ({len(ids)} "
                             "characters)")
        out[i, :len(ids)] = ids
    return out


# ------------------------------------------------------------------------------------------- datasets

@dataclasses.dataclass(frozen=True)
class PairedDataset:
    """Image-caption pairs: train / test splits, the class names and word tables, the tokenizer, the
    caption strings of each split and the attribute bins fitted on the training images."""

    name: str
    train: Split
    test: Split
    num_classes: int
    class_names: tuple[str, ...]
    class_text: tuple[ClassText, ...]
    tokenizer: CharTokenizer
    max_len: int
    train_captions: tuple[str, ...]
    test_captions: tuple[str, ...]
    bins: AttributeBins

    def prompts(self, classes: Sequence[int] | None = None, template: str = PROMPT_TEMPLATE) -> np.ndarray:
        """[C, max_len] tokens of the zero-shot prompts of `classes` (default all)."""
        classes = range(self.num_classes) if classes is None else classes
        return encode_texts(self.tokenizer, [class_prompt(self.class_text[c], template) for c in classes],
                            self.max_len)


def load_images(name: str, *, data_dir: str | None = None, seed: int = 0, fallback: bool = True) -> Dataset:
    """The image dataset `name`; with `fallback`, sklearn digits (one log line) when Fashion-MNIST is absent."""
    if name not in CLASS_TEXT:
        raise JaxmlError(f"config.dataset={name!r} has no caption tables; choose one of {', '.join(CLASS_TEXT)}")
    try:
        return load_dataset(name, data_dir=data_dir, seed=seed)
    except JaxmlError as e:
        if name != "fashion_mnist" or not fallback:
            raise
        log.warning("Fashion-MNIST is not installed (%s); pairing sklearn digits with captions instead",
                    str(e).split(".")[0])
        return load_dataset("digits", seed=seed)


def pair_split(split: Split, table: Sequence[ClassText], bins: AttributeBins, noise: CaptionNoise,
               tokenizer: CharTokenizer, max_len: int, rng: np.random.Generator,
               extent: bool = False) -> tuple[Split, list[str]]:
    """One split's images paired with captions: (Split(image, tokens, label, colour, fused_label,
    caption_kind), captions)."""
    images, labels = np.asarray(split["image"]), np.asarray(split["label"]).astype(np.int32)
    colours = rng.integers(0, len(COLOUR_WORDS), len(labels)).astype(np.int32)
    captions, kind = make_captions(labels, bins(images), colours, table, noise, rng,
                                   bins.extent_bins(images) if extent else None)
    return Split(image=images, tokens=encode_texts(tokenizer, captions, max_len), label=labels, colour=colours,
                 fused_label=(len(COLOUR_WORDS) * labels + colours).astype(np.int32), caption_kind=kind), captions


def paired_dataset(name: str = "fashion_mnist", *, seed: int = 0, data_dir: str | None = None,
                   noise: CaptionNoise = CaptionNoise(), max_len: int = 80, train_size: int = 0,
                   test_size: int = 0, fallback: bool = True, extent: bool = False) -> PairedDataset:
    """Images of `name` paired with generated captions (everything a function of `seed`); `train_size` /
    `test_size` > 0 keep the first that many examples of each split; `extent` adds the height and width
    words of the ink (`EXTENT_WORDS`) to every caption."""
    images = load_images(name, data_dir=data_dir, seed=seed, fallback=fallback)
    table = CLASS_TEXT[images.name]
    train, test = images.train, images.test
    if train_size:
        train = train.take(np.arange(min(train_size, len(train))))
    if test_size:
        test = test.take(np.arange(min(test_size, len(test))))
    bins = AttributeBins.fit(np.asarray(train["image"]))
    tokenizer = tokenizer_for(table, extent)
    rng = np.random.default_rng(seed)
    train, train_captions = pair_split(train, table, bins, noise, tokenizer, max_len, rng, extent)
    test, test_captions = pair_split(test, table, bins, noise, tokenizer, max_len, rng, extent)
    return PairedDataset(name=images.name, train=train, test=test, num_classes=images.num_classes,
                         class_names=images.class_names, class_text=tuple(table), tokenizer=tokenizer,
                         max_len=max_len, train_captions=tuple(train_captions), test_captions=tuple(test_captions),
                         bins=bins)


def classes_subset(split: Split, classes: Sequence[int]) -> Split:
    """The examples of `split` whose label is one of `classes`."""
    return split.take(np.flatnonzero(np.isin(np.asarray(split["label"]), np.asarray(classes))))


# ----------------------------------------------------------------------------------------------- views

def halves(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The left and the right half of NHWC images (a co-training pair of views)."""
    w = images.shape[2] // 2
    return images[:, :, :w], images[:, :, w:]


def pixels_and_edges(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pixels and their gradient magnitude (central differences, scaled to uint8) of NHWC images."""
    x = np.asarray(images, np.float32)
    gy, gx = np.gradient(x, axis=(1, 2))
    edges = np.sqrt(gx * gx + gy * gy)
    return np.asarray(images), np.clip(np.rint(edges * (255.0 / max(float(edges.max()), 1e-6))), 0, 255).astype(np.uint8)


VIEWS: dict[str, Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]] = {
    "halves": halves, "pixels_edges": pixels_and_edges}
