"""Generation settings of a masked model on the learning-curve panel: guidance per condition,
temperature and passes, each scored on the same held-out cases.

    python bench/guidance_sweep.py --model data/curves/RUN/model --data data/corpus \\
        2.5,1,2:1.0:6 1,1,1:1.0:10 ...       # prompt,audio,emotion:temperature:passes

Prints one JSON line per setting (prompt following, lip sync, FGD, real-voice mouth, foot skate).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from core.api import DEFAULT_MODEL_DIR  # noqa: E402
from core.eval.panel import Panel  # noqa: E402
from core.lm.masked import MaskedMotionModel  # noqa: E402
from core.lm.masked_generate import FillOptions  # noqa: E402
from core.masked_inference import MaskedSystem  # noqa: E402
from core.tokenizers.audio import AudioTokenizer  # noqa: E402
from core.tokenizers.motion_vqvae import MotionTokenizer  # noqa: E402

SHOWN = ("prompt_text", "prompt_speech", "fgd", "lip_sync", "real_vowel_r", "real_pause_closed",
         "emotion_judged", "foot_skate")


def options(spec: str) -> FillOptions:
    guidance, temperature, passes = spec.split(":")
    prompt, audio, emotion = (float(x) for x in guidance.split(","))
    return FillOptions(iterations=int(passes), temperature=float(temperature),
                       guidance={"prompt": prompt, "audio": audio, "emotion": emotion},
                       generator=torch.Generator().manual_seed(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a masked model checkpoint (stem)")
    parser.add_argument("--data", required=True, help="corpus folder (its val split is used)")
    parser.add_argument("--speech-clips", type=int, default=12)
    parser.add_argument("settings", nargs="+", help="prompt,audio,emotion:temperature:passes")
    args = parser.parse_args()
    torch.set_num_threads(1)
    system = MaskedSystem(MaskedMotionModel.load(args.model),
                          MotionTokenizer.load(DEFAULT_MODEL_DIR / "motion_tokenizer").eval(),
                          AudioTokenizer.load(DEFAULT_MODEL_DIR / "audio_tokenizer"))
    panel = Panel.build(args.data, "val", args.speech_clips, phrasings_per_action=1)
    for spec in args.settings:
        scores = panel.score(lambda a, r, p, e, d, spec=spec: system.quick(a, r, p, e, d,
                                                                            options(spec)))
        print(spec, json.dumps({k: round(scores[k], 3) for k in SHOWN
                                if scores.get(k) is not None}), flush=True)


if __name__ == "__main__":
    main()
