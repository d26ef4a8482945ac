"""Audio signal processing in JAX: the log-mel front end and SpecAugment (`frontend`), noise at a
given SNR (`noise`), CTC decoding and error rates (`ctc`). A package of its own, beside `data/` (which
only builds and caches corpora) and `models/` (Flax modules): these are pure, jittable signal and
sequence functions that the speech method, the benchmark and the tests share."""
