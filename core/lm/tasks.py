"""Training tasks of the motion language model: instruction templates and one example per task
from a window of a tokenized clip (core/lm/task_sampling.py draws them per training stage,
core/lm/batches.py pads them into the model's batch).

Encoder input of every example (the model's batch format is in core/lm/batch_format.py):

    <task_T>  <text> prompt pieces [<sep> transcript pieces] </text>
              [<emotion> e </emotion>]  [<audio> units </audio>]  [<motion> steps </motion>]

The prompt is one phrasing of the task's instruction (several per task), cut into MiniLM word
pieces. The motion block, one position per motion step, is present when some motion is given:
each position carries the four part codes, -1 for a part that is not given (the model then adds
that part's `<part_mask>` embedding) and -1 for all parts of a masked step (frame edits). The
output is either motion (four codes per step; the parts given in the input are teacher-forced but
not trained, exactly as generation forces kept parts) or tokens (a transcript, an emotion).

Pre-training converts between modalities (upper -> lower body, body -> hands, body -> face,
audio -> transcript, masked-frame completion); post-training follows instructions. Each task has
training phrasings and held-out phrasings that no training example ever uses: evaluation on the
held-out phrasings of held-out clips measures whether the model understands paraphrase.

`data_fraction` (the data-efficiency study) limits the clips whose audio and motion are seen
together: every post-training task draws only from a fixed, seeded subset of the clips, while
pre-training tasks (motion-only conversions, audio -> text) never pair audio with motion and use
every clip.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import BodyLanguageError
from core.lm.batch_format import IGNORE, MOTION_STEP
from core.lm.config import FRAMING_POSITIONS
from core.lm.dataset import ClipWindow, TokenizedClip, audio_units_for, window_steps
from core.skeleton import PARTS
from core.tokenizers.vocabulary import Vocabulary

PRETRAIN_TASKS: tuple[str, ...] = (
    "upper_to_lower", "body_to_hands", "body_to_face", "audio_to_text", "motion_inbetween",
)
POSTTRAIN_TASKS: tuple[str, ...] = (
    "audio_to_motion", "text_to_motion", "audio_text_to_motion", "transcript_audio_to_motion",
    "emotion_to_motion", "motion_to_emotion", "edit_part", "edit_frames",
)
PART_WORDS = {"face": "face", "hands": "hands", "upper": "upper body", "lower": "lower body"}
EMOTION_WORDS: dict[str, tuple[str, str]] = {  # emotion -> (adjective, noun)
    "neutral": ("calm", "calm"),
    "happiness": ("happy", "happiness"),
    "anger": ("angry", "anger"),
    "sadness": ("sad", "sadness"),
    "contempt": ("contemptuous", "contempt"),
    "surprise": ("surprised", "surprise"),
    "fear": ("afraid", "fear"),
    "disgust": ("disgusted", "disgust"),
}
BODY = ("upper", "lower")
MIN_EDIT_FRACTION, MAX_EDIT_FRACTION = 0.1, 0.5  # share of a window an edit or mask span covers


@dataclass(frozen=True)
class Templates:
    train: tuple[str, ...]
    heldout: tuple[str, ...]


# Fields: {description} (the action as asked for), {adjective}/{emotion} (EMOTION_WORDS), {part}.
TEMPLATES: dict[str, Templates] = {
    "upper_to_lower": Templates(
        ("predict the lower body from the upper body", "upper body to lower body",
         "what do the legs do given this upper body", "complete the legs for this torso motion"),
        ("infer hips and legs from the chest and arms",),
    ),
    "body_to_hands": Templates(
        ("add hand motion to this body movement", "body to hands",
         "predict the fingers from the body", "what do the hands do during this motion"),
        ("work out the finger poses that go with these arms",),
    ),
    "body_to_face": Templates(
        ("predict the face from the body", "body to face",
         "add facial motion for this body movement", "what does the face do during this motion"),
        ("infer the expression that goes with this posture",),
    ),
    "audio_to_text": Templates(
        ("transcribe the speech", "write down what is said", "what words are spoken",
         "speech to text"),
        ("produce a written record of this recording",),
    ),
    "motion_inbetween": Templates(
        ("fill in the masked frames", "complete the missing motion", "inbetween the gaps",
         "predict the hidden frames of this motion"),
        ("reconstruct the blanked out moments",),
    ),
    "audio_to_motion": Templates(
        ("gesture along with this speech", "move your whole body to the audio",
         "animate the speaker", "perform the body language for this voice",
         "act out what is being said with face, hands and body",
         "generate full body motion for the speech"),
        ("bring this recording to life with natural movement",
         "what would the talker's body do during this audio"),
    ),
    "text_to_motion": Templates(
        ("{description}", "please {description}", "now {description}",
         "the character should {description}", "animate this: {description}",
         "perform the following: {description}"),
        ("could you {description}", "i'd like to see someone {description}"),
    ),
    "audio_text_to_motion": Templates(
        ("{description} while speaking", "say this and {description}",
         "talk and {description} at the same time", "{description} as you speak"),
        ("while the voice plays, {description}", "combine the speech with this action: "
         "{description}"),
    ),
    "transcript_audio_to_motion": Templates(
        ("gesture to this speech, whose words are", "move along with the audio; transcript:",
         "animate the speaker saying", "perform these spoken words with the audio:"),
        ("bring to life the recording of someone uttering",),
    ),
    "emotion_to_motion": Templates(
        ("act {adjective}", "move like someone who feels {emotion}", "perform with {emotion}",
         "show {emotion} in your body language", "gesture in a {adjective} way"),
        ("be visibly {adjective}", "let {emotion} show in every movement"),
    ),
    "motion_to_emotion": Templates(
        ("what emotion does this motion show", "which feeling is this person expressing",
         "name the emotion of this performance", "classify the mood of the movement"),
        ("how does the mover feel", "tell me the emotional state behind these gestures"),
    ),
    "edit_part": Templates(
        ("regenerate the {part}", "redo only the {part} and keep the rest",
         "change the {part} to fit the speech", "make new {part} motion and leave the rest"),
        ("give the {part} a fresh take", "swap out the {part} animation, preserving the other "
         "parts"),
    ),
    "edit_frames": Templates(
        ("fill in the missing frames", "regenerate the masked section",
         "redo the motion in the gap", "complete the blank part of the motion to fit the speech"),
        ("patch the hole in this animation", "replace the cut out segment with new movement"),
    ),
}


# --- examples -------------------------------------------------------------------------------------


@dataclass
class Example:
    """One training row before padding (see `collate`)."""

    task: str
    clip_id: str
    template: str  # the phrasing the prompt was made from
    prompt: str  # the prompt text as written (fields filled in)
    input_ids: np.ndarray  # (S,) int64, MOTION_STEP at motion-step positions
    motion_codes: np.ndarray  # (S, 4) int64, codes at motion-step positions, -1 elsewhere
    motion_targets: np.ndarray | None = None  # (N, 4) int64, IGNORE where unknown
    motion_loss_mask: np.ndarray | None = None  # (N, 4) bool: which codes are trained
    token_targets: np.ndarray | None = None  # (M,) int64 unified ids
    token_allowed: tuple[str, ...] = ()  # vocabulary blocks / special tokens the output may use
    info: dict[str, Any] = field(default_factory=dict)  # e.g. the edited part or frames

    @property
    def is_motion(self) -> bool:
        return self.motion_targets is not None


class TaskContext:
    """What every example builder needs: the vocabulary, the text tokenizer (anything with
    `encode(str) -> list[int]`) and the model's position budget."""

    def __init__(
        self,
        vocab: Vocabulary,
        text_tokenizer: Any,
        steps_per_window: int = 75,
        encoder_positions: int = 512,
        decoder_positions: int = 128,
        text_positions: int | None = None,
    ) -> None:
        self.vocab = vocab
        self.text_tokenizer = text_tokenizer
        self.window_steps = window_steps(steps_per_window)
        self.audio_units = audio_units_for(self.window_steps)
        self.encoder_positions = encoder_positions
        self.decoder_positions = decoder_positions
        room = encoder_positions - FRAMING_POSITIONS - self.audio_units - self.window_steps
        self.text_positions = room if text_positions is None else min(text_positions, room)
        if self.text_positions < 8 or self.window_steps > decoder_positions:
            raise BodyLanguageError(
                f"a window of {self.window_steps} motion steps and {self.audio_units} audio units "
                f"does not fit {encoder_positions} encoder / {decoder_positions} decoder positions"
            )
        self._text_cache: dict[str, list[int]] = {}
        self._specials = {name: vocab.special(name) for name in vocab.special_tokens}

    @classmethod
    def from_config(cls, config: Any, text_tokenizer: Any) -> TaskContext:
        """The context of an `LMConfig` (its vocabulary and position budget)."""
        return cls(config.vocab, text_tokenizer, config.steps_per_window,
                   config.encoder_max_positions, config.decoder_max_positions,
                   config.position_budget()["text"])

    def text_ids(self, text: str) -> list[int]:
        """WordPiece ids of `text` (cached: prompts repeat)."""
        ids = self._text_cache.get(text)
        if ids is None:
            ids = [int(i) for i in self.text_tokenizer.encode(text)] if text.strip() else []
            if len(self._text_cache) < 100_000:
                self._text_cache[text] = ids
        return ids

    def special(self, name: str) -> int:
        return self._specials[name]


def choose_prompt(
    task: str, rng: np.random.Generator, heldout: bool = False
) -> str:
    """One phrasing template of `task`: a training one, or with `heldout` an evaluation one."""
    if task not in TEMPLATES:
        raise BodyLanguageError(f"unknown task {task!r}; tasks are {', '.join(TEMPLATES)}")
    pool = TEMPLATES[task].heldout if heldout else TEMPLATES[task].train
    return pool[int(rng.integers(len(pool)))]


def prompt_ids(
    ctx: TaskContext,
    template: str,
    description_ids: Sequence[int] | np.ndarray | None = None,
    description: str | None = None,
    **fields: str,
) -> tuple[list[int], str]:
    """Word-piece ids and text of a template with its fields filled in. `{description}` takes
    the description's pre-tokenised ids (word pieces never cross a space, so the pieces of the
    parts are the pieces of the whole)."""
    before, marker, after = template.partition("{description}")
    ids = ctx.text_ids(before.format(**fields).strip())
    text = before.format(**fields)
    if marker:
        if description_ids is None:
            raise BodyLanguageError(f"template {template!r} needs a description")
        ids = ids + [int(i) for i in description_ids]
        text += description or ""
        ids += ctx.text_ids(after.format(**fields).strip())
        text += after.format(**fields)
    return ids, text.strip()


def encoder_input(
    ctx: TaskContext,
    task: str,
    prompt: Sequence[int],
    transcript: Sequence[int] | np.ndarray | None = None,
    emotion: str | None = None,
    audio: np.ndarray | None = None,
    motion: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids (S,), motion_codes (S, 4)) of one encoder row; the layout in the module
    docstring. `motion` is (n, 4) codes, -1 where a part (or a whole step) is not given. Text
    beyond the budget is cut; audio or motion beyond one window is an error."""
    vocab = ctx.vocab
    text = np.concatenate([
        vocab.ids("text", np.asarray(prompt, dtype=np.int64)),
        [] if transcript is None else [ctx.special("<sep>")],
        [] if transcript is None else vocab.ids("text", np.asarray(transcript, dtype=np.int64)),
    ]).astype(np.int64)[: ctx.text_positions]
    pieces = [[vocab.task(task), ctx.special("<text>")], text, [ctx.special("</text>")]]
    if emotion is not None:
        pieces.append([ctx.special("<emotion>"), vocab.emotion(emotion), ctx.special("</emotion>")])
    if audio is not None:
        if len(audio) > ctx.audio_units:
            raise BodyLanguageError(
                f"{len(audio)} audio units do not fit one window ({ctx.audio_units})"
            )
        pieces += [[ctx.special("<audio>")], vocab.ids("audio", np.asarray(audio, np.int64)),
                   [ctx.special("</audio>")]]
    motion_start = None
    if motion is not None:
        motion = np.asarray(motion, dtype=np.int64)
        if motion.ndim != 2 or motion.shape[1] != len(PARTS) or len(motion) > ctx.window_steps:
            raise BodyLanguageError(
                f"given motion must be (n <= {ctx.window_steps}, 4) codes, got {motion.shape}"
            )
        motion_start = sum(len(p) for p in pieces) + 1
        pieces += [[ctx.special("<motion>")], np.full(len(motion), MOTION_STEP),
                   [ctx.special("</motion>")]]
    input_ids = np.concatenate([np.asarray(p, dtype=np.int64) for p in pieces])
    codes = np.full((len(input_ids), len(PARTS)), -1, dtype=np.int64)
    if motion is not None:
        codes[motion_start:motion_start + len(motion)] = motion
    if len(input_ids) > ctx.encoder_positions:
        raise BodyLanguageError(
            f"encoder input of {len(input_ids)} positions exceeds {ctx.encoder_positions}"
        )
    return input_ids, codes


def given_parts(codes: np.ndarray, parts: Sequence[str]) -> np.ndarray:
    """(n, 4) codes with every part not in `parts` set to -1 (not given)."""
    out = np.full_like(codes, -1)
    for part in parts:
        index = PARTS.index(part)
        out[:, index] = codes[:, index]
    return out


class _Builder:
    """Builds one example of a task from a window; `rng` makes every random choice."""

    def __init__(self, ctx: TaskContext, window: ClipWindow, rng: np.random.Generator,
                 heldout: bool) -> None:
        self.ctx, self.window, self.rng, self.heldout = ctx, window, rng, heldout
        self.clip = window.clip

    def prompt(self, task: str, **fields: str) -> tuple[str, list[int], str]:
        template = choose_prompt(task, self.rng, self.heldout)
        if "{adjective}" in template or "{emotion}" in template:
            adjective, noun = EMOTION_WORDS.get(self.clip.emotion or "neutral",
                                                (self.clip.emotion, self.clip.emotion))
            fields = {**fields, "adjective": adjective, "emotion": noun}
        ids, text = prompt_ids(self.ctx, template, self.clip.description_ids,
                               self.clip.description, **fields)
        return template, ids, text

    def motion(self, task: str, trained: Sequence[str], kept: Sequence[str] = (),
               trained_steps: np.ndarray | None = None, fields: Mapping[str, str] | None = None,
               transcript: bool = False, emotion: bool = False, audio: bool = False,
               given: np.ndarray | None = None, info: dict[str, Any] | None = None) -> Example:
        template, ids, text = self.prompt(task, **(fields or {}))
        window = self.window
        input_ids, codes = encoder_input(
            self.ctx, task, ids,
            transcript=window.transcript if transcript else None,
            emotion=self.clip.emotion if emotion else None,
            audio=window.audio if audio else None,
            motion=given,
        )
        targets = np.full_like(window.codes, IGNORE)
        mask = np.zeros(window.codes.shape, dtype=bool)
        for part in (*trained, *kept):
            targets[:, PARTS.index(part)] = window.codes[:, PARTS.index(part)]
        for part in trained:
            mask[:, PARTS.index(part)] = True if trained_steps is None else trained_steps
        return Example(task, self.clip.id, template, text, input_ids, codes,
                       motion_targets=targets, motion_loss_mask=mask, info=info or {})

    def tokens(self, task: str, targets: Sequence[int], allowed: tuple[str, ...],
               audio: bool = False, given: np.ndarray | None = None) -> Example:
        template, ids, text = self.prompt(task)
        input_ids, codes = encoder_input(
            self.ctx, task, ids, audio=self.window.audio if audio else None, motion=given,
        )
        return Example(task, self.clip.id, template, text, input_ids, codes,
                       token_targets=np.asarray(targets, dtype=np.int64), token_allowed=allowed)

    def span(self, steps: int) -> np.ndarray:
        """(steps,) bool, True on one random span of 10-50 % of the window (at least one step,
        never all of a window longer than one step)."""
        low = max(1, int(round(MIN_EDIT_FRACTION * steps)))
        high = max(low, min(steps - 1, int(round(MAX_EDIT_FRACTION * steps))))
        length = int(self.rng.integers(low, high + 1))
        start = int(self.rng.integers(0, steps - length + 1))
        chosen = np.zeros(steps, dtype=bool)
        chosen[start:start + length] = True
        return chosen


def _upper_to_lower(b: _Builder) -> Example:
    return b.motion("upper_to_lower", trained=("lower",), kept=("upper",),
                    given=given_parts(b.window.codes, ("upper",)))


def _body_to_hands(b: _Builder) -> Example:
    return b.motion("body_to_hands", trained=("hands",), kept=BODY,
                    given=given_parts(b.window.codes, BODY))


def _body_to_face(b: _Builder) -> Example:
    return b.motion("body_to_face", trained=("face",), kept=BODY,
                    given=given_parts(b.window.codes, BODY))


def _audio_to_text(b: _Builder) -> Example:
    vocab, ctx = b.ctx.vocab, b.ctx
    words = vocab.ids("text", b.window.transcript)[: ctx.decoder_positions - 1]
    targets = np.concatenate([words, [ctx.special("<eos>")]])
    return b.tokens("audio_to_text", targets, ("text", "<eos>"), audio=True)


def _masked_steps(b: _Builder, spans: int) -> np.ndarray:
    masked = np.zeros(b.window.steps, dtype=bool)
    for _ in range(spans):
        masked |= b.span(b.window.steps)
    return masked


def _motion_inbetween(b: _Builder) -> Example:
    masked = _masked_steps(b, int(b.rng.integers(1, 4)))
    given = np.where(masked[:, None], -1, b.window.codes)
    return b.motion("motion_inbetween", trained=PARTS, trained_steps=masked, given=given,
                    info={"masked_steps": np.flatnonzero(masked)})


def _audio_to_motion(b: _Builder) -> Example:
    return b.motion("audio_to_motion", trained=PARTS, audio=True)


def _text_to_motion(b: _Builder) -> Example:
    return b.motion("text_to_motion", trained=PARTS)


def _audio_text_to_motion(b: _Builder) -> Example:
    return b.motion("audio_text_to_motion", trained=PARTS, audio=True)


def _transcript_audio_to_motion(b: _Builder) -> Example:
    return b.motion("transcript_audio_to_motion", trained=PARTS, audio=True, transcript=True)


def _emotion_to_motion(b: _Builder) -> Example:
    with_audio = b.clip.speaks and bool(b.rng.integers(2))
    return b.motion("emotion_to_motion", trained=PARTS, emotion=True, audio=with_audio,
                    info={"audio": with_audio})


def _motion_to_emotion(b: _Builder) -> Example:
    return b.tokens("motion_to_emotion", [b.ctx.vocab.emotion(b.clip.emotion)], ("emotion",),
                    given=b.window.codes)


def _edit_part(b: _Builder) -> Example:
    part = PARTS[int(b.rng.integers(len(PARTS)))]
    others = tuple(p for p in PARTS if p != part)
    return b.motion("edit_part", trained=(part,), kept=others, fields={"part": PART_WORDS[part]},
                    audio=True, given=given_parts(b.window.codes, others),
                    info={"part": part})


def _edit_frames(b: _Builder) -> Example:
    masked = b.span(b.window.steps)
    given = np.where(masked[:, None], -1, b.window.codes)
    return b.motion("edit_frames", trained=PARTS, trained_steps=masked, audio=True, given=given,
                    info={"masked_steps": np.flatnonzero(masked)})


BUILDERS: dict[str, Callable[[_Builder], Example]] = {
    "upper_to_lower": _upper_to_lower,
    "body_to_hands": _body_to_hands,
    "body_to_face": _body_to_face,
    "audio_to_text": _audio_to_text,
    "motion_inbetween": _motion_inbetween,
    "audio_to_motion": _audio_to_motion,
    "text_to_motion": _text_to_motion,
    "audio_text_to_motion": _audio_text_to_motion,
    "transcript_audio_to_motion": _transcript_audio_to_motion,
    "emotion_to_motion": _emotion_to_motion,
    "motion_to_emotion": _motion_to_emotion,
    "edit_part": _edit_part,
    "edit_frames": _edit_frames,
}

# Which clips a task can be made from. Audio-only tasks skip clips with an action: the action is
# not in the audio, so such a target would teach the model to move at random.
ELIGIBLE: dict[str, Callable[[TokenizedClip], bool]] = {
    "upper_to_lower": lambda c: True,
    "body_to_hands": lambda c: True,
    "body_to_face": lambda c: True,
    "audio_to_text": lambda c: c.has_audio and c.transcript.size > 0,
    "motion_inbetween": lambda c: c.steps >= 2,
    "audio_to_motion": lambda c: c.speaks and c.action is None,
    "text_to_motion": lambda c: c.description_ids is not None and c.description_ids.size > 0,
    "audio_text_to_motion": lambda c: c.speaks and c.description_ids is not None
    and c.description_ids.size > 0,
    "transcript_audio_to_motion": lambda c: c.speaks and c.action is None
    and c.transcript.size > 0,
    "emotion_to_motion": lambda c: c.emotion is not None and c.action is None,
    "motion_to_emotion": lambda c: c.emotion is not None,
    "edit_part": lambda c: c.has_audio,
    "edit_frames": lambda c: c.has_audio and c.steps >= 2,
}


def build_example(
    task: str, window: ClipWindow, ctx: TaskContext, rng: np.random.Generator,
    heldout: bool = False,
) -> Example:
    """One example of `task` from `window`; `heldout` phrases the prompt with held-out
    templates (evaluation only)."""
    if task not in BUILDERS:
        raise BodyLanguageError(f"unknown task {task!r}; tasks are {', '.join(BUILDERS)}")
    if not ELIGIBLE[task](window.clip):
        raise BodyLanguageError(f"clip {window.clip.id} cannot make a {task} example")
    if task in ("emotion_to_motion", "motion_to_emotion") and (
            window.clip.emotion not in ctx.vocab.emotions):
        raise BodyLanguageError(
            f"clip {window.clip.id} has unknown emotion {window.clip.emotion!r}"
        )
    return BUILDERS[task](_Builder(ctx, window, rng, heldout))
