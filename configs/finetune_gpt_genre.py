"""Full fine-tuning of a pre-trained character GPT vs training from scratch (and bottleneck adapters):
a verse -> genre classifier (law, history, poetry, prophets, gospels, epistles) on KJV verses at 50,
200 and 1000 labelled verses, 3 seeds each.

Pre-training: gpt_kjv_quick's GPT (2 layers, width 64, 4 heads) on the training chapters' verses for
1500 steps of 32 windows of 64 characters (shared with lora_gpt_genre through `<cache dir>/pretrained/`;
the held-out chapters are never seen). Fine-tuning: 150 steps of 32 (AdamW, warm-up + cosine):
every parameter from the pre-trained trunk at 1e-3, loaded through `config.init_from` (the path any
method can use); Houlsby bottleneck adapters (width 8, after the attention output and the MLP, the
trunk frozen) at 3e-3; the same model from scratch at 1e-3.

Command:   jaxml train finetune_gpt_genre
Expected:  full_gain_min >= 0: the fine-tuned mean accuracy (3 seeds) beats scratch at every label count.
Measured:  not recorded. The full and scratch runs of one `jaxml train lora_gpt_genre` (the same runs this
           experiment makes; 2026-12-01, docs/finetuning.md): full - scratch +0.0116 / +0.0222 / +0.0236
           at 50 / 200 / 1000 labels. The adapter runs have not been made at this size.
Reference: ULMFiT (Howard & Ruder 2018) and Houlsby et al. 2019 (docs/references.md#fine-tuning); the
           control is the same classifier from scratch on the same labels.
Hardware:  2-core CPU; estimated ~6 minutes on an idle machine (a pre-training of ~1.5 minutes, shared
           by the two experiments, then 27 fine-tuning runs of ~8 s); on the shared CPU at load ~18 the
           pre-training took 264 s and a fine-tuning run ~53 s. Needs Debian's bible-kjv.
"""

from jaxml.defaults.finetune import base_config

EXPECTED = {"metric": "full_gain_min", "at_least": 0.0,
            "reference": "the same classifier from scratch on the same labels (scratch_n*_mean)"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.study.modes = ("full", "adapter", "scratch")
    return c
