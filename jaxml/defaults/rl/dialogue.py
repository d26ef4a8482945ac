"""What the dialogue agents (dqn_dialogue, ppo_dialogue) are measured against: the hand-written
rule-based policy on SlotDialogue-v0 (request every slot, confirm every slot, then offer), whose
success rate and turn count over 20,000 dialogues `python scripts/dialogue_rules.py` prints."""

ENV = "SlotDialogue-v0"

# a learned policy must reach the rule's success rate at no more turns (seed means)
EXPECTED = {"metric": "eval_success_rate", "at_least": 0.932,
            "also": ({"metric": "eval_length_mean", "at_most": 8.163},),
            "reference": "rule-based policy (confirm every slot): success 0.932 in 8.163 turns, 20,000 dialogues"}
