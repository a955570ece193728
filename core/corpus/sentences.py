"""The corpus's spoken lines: conversational English sentences built from the project's templates.

A template is a sentence with typed slots filled from `core.corpus.word_lists.LISTS`, so every
combination stays grammatical; the template also decides which words are stressed and can override
the gesture a word would get from the lexicon. Template syntax:

- `{slot}` / `{slot.form}`: a filler drawn from `LISTS[slot without trailing digits]`; `{o}` and
  `{o2}` in one template always draw different entries of the same list.
- `{=word}` / `{=word@slot}`: `word` (a verb's base form, "be", "was", "isn't", "don't", "this",
  "that" ...) made to agree with the filler of `slot` (default `p`) as a subject.
- `*token*`: the token is stressed; around a slot it stresses the filler's head (its own `*`-marked
  word, else its last word).
- `word~` no gesture for this word (existential "there", complementizer "that"); `word~tag`
  this gesture instead of the lexicon's.

Sentences are generated once, deterministically (seeded per template id, no dependence on hash
seeds or set order), and split by template: the held-out templates never feed training.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from core.corpus.lexicon import Entry, agree, gesture_for
from core.corpus.script import GESTURE_TAGS, Sentence
from core.corpus.word_lists import LISTS
from core.errors import BodyLanguageError

KINDS: tuple[str, ...] = ("statement", "question", "negation", "list", "aside", "exclamation")
SPLITS: tuple[str, ...] = ("train", "heldout")
# Sentences drawn per template: enough variety per frame without letting one frame dominate.
PER_TEMPLATE = 40


@dataclass(frozen=True)
class Template:
    id: str
    kind: str
    pattern: str


_T = Template
TEMPLATES: tuple[Template, ...] = (
    # --- statements ---
    _T("st_move_meeting", "statement", "I *think* we should move {event} to *{day}*."),
    _T("st_did_when", "statement", "{p} *{task.past}* {when_past}."),
    _T("st_going_to", "statement", "{p.be_c} going to *{task}* {when_future}."),
    _T("st_need_before", "statement", "{p} {=need} to *{task}* before {deadline}."),
    _T("st_weather", "statement",
       "It's going to be *{weather}* {when_future}, so bring *{weather.item}*."),
    _T("st_found", "statement", "{when_past}, {o} found *{found}* in {found_in}."),
    _T("st_opinion", "statement", "Personally, I think {topic} {=be@topic} *{opinion}*."),
    _T("st_feeling", "statement", "{p.be_c} so *{feel_about}* about {upcoming}."),
    _T("st_best_dish", "statement", "{o} {=make@o} the *best* {dish} I've ever tasted."),
    _T("st_spent", "statement", "{p} spent {dur_trip} in *{dest}* and *loved* every minute of it."),
    _T("st_left_spot", "statement", "I *think* I left my {item_left} *{spot}*."),
    _T("st_put_here", "statement", "Put the {obj} down *here*, next to the {obj2.sg}."),
    _T("st_together", "statement", "We should *all* go to {venue} together {when_future}."),
    _T("st_working_on", "statement", "{o} {=have@o} been working on {work_thing} *{dur_since}*."),
    _T("st_cost", "statement", "That {size} {obj} cost *{price}*."),
    _T("st_prices_up", "statement",
       "{costs} went *up* again {when_past}, and *nobody* is happy about it."),
    _T("st_price_fell", "statement",
       "The price of {commodity} *fell* {when_past}, so we bought *lots* of it."),
    _T("st_family", "statement",
       "{rel} {=live@rel} {live_place} with {rel.pron_poss} *{pets}*."),
    _T("st_recipe", "statement", "First you *{cook_step}*, and then you *{cook_step2}*."),
    _T("st_kid_learned", "statement",
       "{kid} *finally* learned how to {kid_skill} {when_past}."),
    _T("st_as_soon", "statement", "I'll {task} as soon as {x} {=get@x} *here*."),
    _T("st_remember_day", "statement", "I still *remember* the day {o} {life.past}."),
    _T("st_rather", "statement", "{p.would_c} rather *{leisure}* than *{leisure2}*."),
    # --- questions ---
    _T("q_really_put", "question",
       "Did {x} *really* put {stuff} in the *{put_size}* {container}?"),
    _T("q_when_have_to", "question", "*When* {=do} {p} have to {task}?"),
    _T("q_where_put", "question", "*Where* did {p} put {lost}?"),
    _T("q_seen_anywhere", "question", "{=have@x} {x} seen *{lost}* anywhere?"),
    _T("q_would_rather", "question",
       "Would you rather *{leisure}* or *{leisure2}* {when_future}?"),
    _T("q_how_was", "question", "*How* was {poss_any} *{experience}*?"),
    _T("q_can_you", "question", "{ask} you *{favor}* {soon}?"),
    _T("q_know_why", "question", "Do you know *why* {o} {decision.past}?"),
    _T("q_is_it_true", "question", "Is it *true* that~ {o} {=be@o} moving to *{city}*?"),
    _T("q_how_many", "question", "How *many* {count_pl} did {p} {acquire}?"),
    _T("q_what_time", "question", "What *time* {=do@event} {event} start {when_future}?"),
    _T("q_who_told", "question", "*Who* told {x.acc} {rumor}?"),
    _T("q_sure_want", "question", "Are you *sure* you want to {decision} {when_future}?"),
    _T("q_why_didnt", "question", "*Why* didn't {p} just {task}?"),
    _T("q_which", "question",
       "*Which* {choice} do you like better, the *{colour}* one or the *{colour2}* one?"),
    _T("q_tag", "question", "{p} {task.past} {when_past}, *didn't* {p.pron}?"),
    _T("q_how_long", "question", "How *long* {=have@x} {x} been {ongoing.ing}?"),
    _T("q_should_we", "question", "Should we *{travel_opt}* or just *{travel_opt2}*?"),
    _T("q_think_in_time", "question", "Do you *think* {o} will {task} in *time*?"),
    _T("q_whose", "question", "*Whose* {obj} is this, and why is it on {surface}?"),
    _T("q_what_say", "question", "*What* did {o} say about {topic}?"),
    _T("q_have_ever", "question", "{=have@x} {x} *ever* {exp.pp}?"),
    # --- negations ---
    _T("neg_never_said", "negation", "No, I *never* said {what_said}, but *maybe* {o} did."),
    _T("neg_didnt_say_who", "negation", "I didn't say *{o}* {task.past}, I said *{o2}* did."),
    _T("neg_not_in", "negation",
       "{lost} {=isn't@lost} in the *{container}*, {lost.pron_be_c} over *there*."),
    _T("neg_dont_like", "negation",
       "{p} {=don't} *like* {food_like}, but {p.pron} {=love} *{food_like2}*."),
    _T("neg_wasnt_me", "negation", "It wasn't *me* who {task.past}, it was *{o.acc}*."),
    _T("neg_not_big", "negation",
       "{space} isn't *{size_pair}* at all, it's actually quite *{size_pair.other}*."),
    _T("neg_nobody_wants", "negation", "*Nobody* wants to {task} on a *{weekday}*."),
    _T("neg_nothing_left", "negation",
       "There's~ *nothing* left~ in the {food_store}, so we need *{groc}*."),
    _T("neg_cant_find", "negation", "{p} can't find {lost} *anywhere*."),
    _T("neg_not_going", "negation",
       "*{p.be_not_c}* going to {event_go} {when_future} because {p.pron} {=have} to "
       "*{task}*."),
    _T("neg_never_been", "negation",
       "{p} {=have} *never* been to *{dest}*, but {p.pron_d} love to go."),
    _T("neg_not_that_one", "negation", "No, not *that* {obj}, the *{colour}* one over there."),
    _T("neg_doesnt_know", "negation", "{o} {=doesn't@o} know *anything* about {subject}."),
    _T("neg_wont_until", "negation", "{p} won't *{task}* until {help_cond}."),
    _T("neg_anymore", "negation", "{p} {=don't} {habit} *anymore*."),
    _T("neg_not_nearly", "negation",
       "{show} {=wasn't@show} *nearly* as {good} as {said_by} said."),
    _T("neg_no_time", "negation", "No, {p} {=don't} have *time* for {no_time_for} {now}."),
    _T("neg_not_that", "negation",
       "It's not that~ I don't *like* {topic}, I'm just really *{mood}*."),
    _T("neg_none_of", "negation", "*None* of {group} could {group_act} {when_past}."),
    _T("neg_didnt_notice", "negation", "{o} didn't *even* notice {change}."),
    _T("neg_closed", "negation",
       "The {shop} isn't open on *{weekday.pl}*, so we'll have to go on *{weekday2}*."),
    _T("neg_not_as_bad", "negation",
       "{ordeal} {=wasn't@ordeal} as *{ordeal.hard}* as {p} expected."),
    # --- lists ---
    _T("li_need", "list", "{p} {=need} *{groc}*, {groc2}, and *{groc3}*."),
    _T("li_pack", "list",
       "Don't~ forget to pack *{pack}*, {pack2}, {pack3}, and *{pack4}*."),
    _T("li_today", "list",
       "{when_past}, {p} *{task.past}*, {task2.past}, and *{task3.past}*."),
    _T("li_invite", "list", "We *invited* {n}, {n2}, and *{n3}*."),
    _T("li_dinner", "list", "For dinner we had *{dish}*, {dish2}, and *{dish3}*."),
    _T("li_steps", "list",
       "First *{cook_step}*, then {cook_step2}, and finally *{cook_step3}*."),
    _T("li_weekend", "list",
       "This weekend we're going to *{leisure}*, {leisure2}, and *maybe* {leisure3}."),
    _T("li_drinks", "list", "You can have *{drink}*, {drink2}, or *{drink3}*."),
    _T("li_visited", "list", "On our trip we visited *{dest}*, {dest2}, and *{dest3}*."),
    _T("li_bringing", "list",
       "{o} {=be@o} bringing *{party_item}*, {party_item2}, and *{party_item3}*."),
    _T("li_all_went", "list", "{n}, {n2}, and I *all* went to {venue} *together*."),
    _T("li_room", "list",
       "In {room} there's~ a *{household}*, a {household2}, and two *{household3.pl}*."),
    _T("li_skills", "list", "{o} can *{able}*, {able2}, and *{able3}*."),
    _T("li_colours", "list",
       "{garment} {=come@garment} in *{colour}*, {colour2}, and *{colour3}*."),
    _T("li_forecast", "list",
       "Tomorrow it'll be *{wadj}*, then {wadj2}, and by {weekday} it should be *{wadj3}* "
       "again."),
    _T("li_jobs", "list", "{o} {=have@o} worked as a *{job}*, a {job2}, and a *{job3}*."),
    _T("li_cant_stand", "list", "{p} can't stand *{dislike}*, {dislike2}, or *{dislike3}*."),
    _T("li_kids", "list",
       "{rel} {=have@rel} three kids: *{name}*, {name2}, and *{name3}*."),
    _T("li_schedule", "list",
       "On Monday I have *{schedule_item}*, on Tuesday {schedule_item2}, and on Wednesday "
       "*{schedule_item3}*."),
    _T("li_ingredients", "list",
       "All you need is *{ingredient}*, {ingredient2}, {ingredient3}, and a little *{pinch}*."),
    _T("li_sports", "list", "{o} {=play@o} *{sport}*, {sport2}, and *{sport3}*."),
    # --- asides ---
    _T("as_honestly", "aside",
       "{frank} — and {frank_clause} — it was the *{best_worst}* {period} of my life."),
    _T("as_by_the_way", "aside",
       "{n}, by the way, {=be@n} *{coming.ing}* {when_future}."),
    _T("as_if_you_ask", "aside", "If you ask me, {topic} {=be@topic} *{opinion}*."),
    _T("as_between", "aside",
       "Between you and me, {o} {=be@o} really *{feel_about}* about {upcoming}."),
    _T("as_believe", "aside", "Believe it or not~, {o} {task.past} all by *{o.refl}*."),
    _T("as_as_far", "aside", "As far as I *know*, {rel} still {=live@rel} *{live_place}*."),
    _T("as_mind_you", "aside",
       "{dish_flaw} {=was@dish_flaw} *{tasty}* — a bit {flaw}, mind you~, but still *good*."),
    _T("as_apparently", "aside", "Apparently, {o} {=have@o} *already* {task.pp}."),
    _T("as_to_be_fair", "aside", "To be fair, {o} did *try* to {task}."),
    _T("as_which_cost", "aside",
       "The {gadget} — which, by the way, cost {price} — is already *broken*."),
    _T("as_i_guess", "aside", "{o} {=be@o}, I guess, a little *{mood}* right now."),
    _T("as_funnily", "aside",
       "Funnily enough, {p} {=was} *just* {thinking} about {think_of} {when_recent}."),
    _T("as_so_can_i", "aside",
       "{o} can be a bit *{trait}* at times — but then again, so can *I*."),
    _T("as_if_i_remember", "aside",
       "If I remember correctly, {o} *{task.past}* {when_past}."),
    _T("as_sadly", "aside", "{attitude}, the {shop} {street} *closed* down {when_past}."),
    _T("as_you_know", "aside", "As you *know*, {o} {=be@o} {coming.ing} {when_future}."),
    _T("as_of_course", "aside", "{n}, of course, *forgot* to {task} again."),
    _T("as_i_think", "aside", "{o} — I *think* — {=be@o} still at {venue}."),
    _T("as_in_my_opinion", "aside",
       "In my opinion — and {n} {=agree@n} — {topic} {=be@topic} *{opinion}*."),
    _T("as_well_actually", "aside",
       "Well, actually, it was {o.acc} who {task.past}, not *me*."),
    # --- exclamations ---
    _T("ex_what_a", "exclamation", "What a *{quality}* {sight}!"),
    _T("ex_cant_believe", "exclamation", "I can't *believe* {o} {decision.past}!"),
    _T("ex_look_all", "exclamation", "Look at *all* those {sights_pl} {sight_where}!"),
    _T("ex_so_good", "exclamation",
       "{=this@food_ex} {food_ex} {=be@food_ex} *{yum}*!"),
    _T("ex_how_kind", "exclamation", "How *{kind_adj}* of {x.acc} to {thank_for}!"),
    _T("ex_wow_look", "exclamation", "Wow, {p} {=look} *{compliment}* {look_when}!"),
    _T("ex_oh_no", "exclamation", "Oh no, I *left* my {item_left} {left_where}!"),
    _T("ex_finally", "exclamation", "{p} *finally* {task.past}!"),
    _T("ex_won", "exclamation", "Yes, {p} *won* the {competition}!"),
    _T("ex_lets", "exclamation", "{yes_word}, let's *{leisure}* {when_future}!"),
    _T("ex_never_again", "exclamation", "{p} {=be} *never* {never_again} again!"),
    _T("ex_careful", "exclamation",
       "{careful_call}, that {careful} is really *{careful.adj}*!"),
    _T("ex_so_many", "exclamation", "{wow}, there~ are so *many* {crowd} {crowd.loc}!"),
    _T("ex_that_huge", "exclamation",
       "{=that@creature} {creature} {=be@creature} *{huge}*!"),
    _T("ex_congrats", "exclamation", "{praise} on {achievement}, *{name}*!"),
    _T("ex_thank", "exclamation", "Thank you so *much* for {thank_for.ing}, {name}!"),
    _T("ex_all_gone", "exclamation",
       "{name}, {dish_flaw} {=be@dish_flaw} *all* gone already!"),
    _T("ex_already_late", "exclamation",
       "It's *already* {clock}, and we still haven't {task.pp}!"),
    _T("ex_best_ever", "exclamation",
       "That was the *{superlative}* {best} I've ever {best.pp}!"),
    _T("ex_hurry", "exclamation", "Hurry *up*, {o} {=be@o} already waiting {wait_where}!"),
    _T("ex_get_down", "exclamation", "Get *down* from {high}, {name}!"),
)

# Fixed for evaluation: two frames of every kind that training never sees (about 10 %).
HELDOUT_TEMPLATES: tuple[str, ...] = (
    "st_spent", "st_family", "q_which", "q_how_long", "neg_dont_like", "neg_none_of",
    "li_pack", "li_jobs", "as_by_the_way", "as_believe", "ex_what_a", "ex_thank",
)
TRAIN_TEMPLATES: tuple[str, ...] = tuple(
    t.id for t in TEMPLATES if t.id not in HELDOUT_TEMPLATES
)


# --- Rendering ----------------------------------------------------------------------------------

_SLOT = re.compile(r"(\*?)\{([^{}]*)\}(\*?)")
_SLOT_NAME = re.compile(r"([a-z_]*[a-z])(\d*)")
_WORD = r"[A-Za-z0-9]+(?:['-][A-Za-z0-9]+)*"
# A marked-up token: optional stress stars around a word, then an optional gesture override.
_TOKEN = re.compile(rf"(\*?)({_WORD})(\*?)(~[a-z]*)?")
_ARTICLE = re.compile(r"\b([Aa]n?)(\s+\*?)([A-Za-z][A-Za-z']*)")
_LAST_WORD = re.compile(rf"({_WORD})(?!.*[A-Za-z0-9])", re.S)

# Vowel letters read as a consonant ("a university") and silent h's ("an hour").
_CONSONANT_SOUND_PREFIXES = ("uni", "use", "usu", "uti", "eu", "one", "once")
_VOWEL_SOUND_PREFIXES = ("hour", "honest", "honor", "heir")


def _takes_an(word: str) -> bool:
    lower = word.lower()
    if lower.startswith(_CONSONANT_SOUND_PREFIXES):
        return False
    return lower.startswith(_VOWEL_SOUND_PREFIXES) or lower[0] in "aeiou"


def _fix_article(match: re.Match[str]) -> str:
    article = "an" if _takes_an(match.group(3)) else "a"
    if match.group(1)[0] == "A":
        article = article.capitalize()
    return f"{article}{match.group(2)}{match.group(3)}"


@dataclass(frozen=True)
class _Ref:
    """One `{...}` in a pattern: a filler (`slot`, `form`) or an agreement (`agree_word`)."""

    slot: str
    form: str = ""
    agree_word: str | None = None


def _parse_ref(body: str, template_id: str) -> _Ref:
    if body.startswith("="):
        word, _, target = body[1:].partition("@")
        return _Ref(target or "p", agree_word=word)
    slot, _, form = body.partition(".")
    if _SLOT_NAME.fullmatch(slot) is None:
        raise ValueError(f"template {template_id}: bad slot name {slot!r}")
    return _Ref(slot, form)


def _list_name(slot: str) -> str:
    match = _SLOT_NAME.fullmatch(slot)
    assert match is not None
    return match.group(1)


def _stress(text: str) -> str:
    """Stress the filler's own head if it marks one, else its last word."""
    if "*" in text:
        return text
    return _LAST_WORD.sub(lambda m: f"*{m.group(1)}*", text, count=1)


@cache
def _plain(entry: Entry) -> str:
    """The entry's default words, lowercased and padded, for whole-word containment tests."""
    return " " + re.sub(r"~[a-z]*", "", entry.form().replace("*", "")).lower() + " "


class _Compiled:
    """A template checked against the lexicon, with its slots grouped by word list."""

    def __init__(self, template: Template) -> None:
        if template.kind not in KINDS:
            raise ValueError(f"template {template.id}: unknown kind {template.kind!r}")
        self.template = template
        self.refs: list[tuple[_Ref, bool]] = []
        for match in _SLOT.finditer(template.pattern):
            if bool(match.group(1)) != bool(match.group(3)):
                raise ValueError(f"template {template.id}: unbalanced '*' at {match.group(0)!r}")
            self.refs.append((_parse_ref(match.group(2), template.id), bool(match.group(1))))
        slots: list[str] = []
        for ref, _ in self.refs:
            if ref.agree_word is None and ref.slot not in slots:
                slots.append(ref.slot)
        self.groups: dict[str, list[str]] = {}
        for slot in slots:
            name = _list_name(slot)
            if name not in LISTS:
                raise ValueError(f"template {template.id}: no word list {name!r}")
            self.groups.setdefault(name, []).append(slot)
        for ref, _ in self.refs:
            if ref.slot not in slots:
                raise ValueError(f"template {template.id}: {{={ref.agree_word}}} agrees with "
                                 f"{ref.slot!r}, which the template never fills")

    def draw(self, rng: random.Random) -> dict[str, Entry]:
        choice: dict[str, Entry] = {}
        for name, slots in self.groups.items():
            entries = LISTS[name]
            if len(slots) > len(entries):
                raise ValueError(f"template {self.template.id}: {len(slots)} slots draw from "
                                 f"{name!r}, which has {len(entries)} entries")
            for slot, index in zip(slots, rng.sample(range(len(entries)), len(slots)),
                                   strict=True):
                choice[slot] = entries[index]
        return choice

    def render(self, choice: dict[str, Entry]) -> str:
        """The pattern with its slots filled: still marked up, articles fixed, capitalised."""
        refs = iter(self.refs)

        def fill(_: re.Match[str]) -> str:
            ref, stressed = next(refs)
            entry = choice[ref.slot]
            if ref.agree_word is not None:
                text = agree(ref.agree_word, entry.agr)
            else:
                try:
                    text = entry.form(ref.form)
                except KeyError as error:
                    raise ValueError(f"template {self.template.id}: {error.args[0]}") from None
            return _stress(text) if stressed else text.replace("*", "")

        marked = _ARTICLE.sub(_fix_article, _SLOT.sub(fill, self.template.pattern))
        first = re.search(r"[a-z]", marked)
        if first is not None and not re.search(r"[A-Za-z]", marked[: first.start()]):
            marked = marked[: first.start()] + marked[first.start()].upper() + marked[
                first.start() + 1:]
        return marked


def _collides(choice: dict[str, Entry]) -> bool:
    """True when one filler's words reappear inside another's ("my sister ... my sister")."""
    plains = [_plain(entry) for entry in choice.values()]
    return any(
        i != j and a in b for i, a in enumerate(plains) for j, b in enumerate(plains)
    )


def parse_marked(marked: str, kind: str, template: str) -> Sentence:
    """A Sentence from a marked-up line: `*stressed*` words, `word~tag` gesture overrides."""
    words: list[str] = []
    emphasis: list[bool] = []
    gestures: list[str | None] = []
    pieces: list[str] = []
    end = 0
    for match in _TOKEN.finditer(marked):
        pieces += (marked[end:match.start()], match.group(2))
        end = match.end()
        open_star, word, close_star, override = match.groups()
        if bool(open_star) != bool(close_star):
            raise ValueError(f"template {template}: unbalanced '*' around {word!r} in {marked!r}")
        words.append(word)
        emphasis.append(bool(open_star))
        if override is None:
            gestures.append(gesture_for(word))
        else:
            tag = override[1:] or None
            if tag is not None and tag not in GESTURE_TAGS:
                raise ValueError(f"template {template}: unknown gesture tag {tag!r}")
            gestures.append(tag)
    pieces.append(marked[end:])
    text = "".join(pieces)
    if "*" in text or "~" in text or "{" in text:
        raise ValueError(f"template {template}: stray markup in {marked!r}")
    return Sentence(text, tuple(words), tuple(emphasis), tuple(gestures), kind, template)


def _generate(template: Template) -> list[Sentence]:
    compiled = _Compiled(template)
    # Seeded by the id string (SHA-512 inside `random`), never by hash(): stable across runs.
    rng = random.Random(f"core.corpus.sentences/{template.id}")
    sentences: list[Sentence] = []
    seen: set[str] = set()
    for _ in range(PER_TEMPLATE * 10):
        if len(sentences) == PER_TEMPLATE:
            break
        choice = compiled.draw(rng)
        if _collides(choice):
            continue
        sentence = parse_marked(compiled.render(choice), template.kind, template.id)
        if sentence.text not in seen:
            seen.add(sentence.text)
            sentences.append(sentence)
    return sentences


@lru_cache(maxsize=1)
def _corpus() -> dict[str, tuple[Sentence, ...]]:
    by_id = {t.id: t for t in TEMPLATES}
    if len(by_id) != len(TEMPLATES):
        raise ValueError("duplicate template ids")
    unknown = set(HELDOUT_TEMPLATES) - set(by_id)
    if unknown:
        raise ValueError(f"held-out templates {sorted(unknown)} do not exist")
    splits: dict[str, tuple[Sentence, ...]] = {}
    seen: set[str] = set()
    # Train first, so a held-out line that happens to equal a training line is the one dropped.
    for split, ids in (("train", TRAIN_TEMPLATES), ("heldout", HELDOUT_TEMPLATES)):
        kept: list[Sentence] = []
        for template_id in ids:
            for sentence in _generate(by_id[template_id]):
                if sentence.text not in seen:
                    seen.add(sentence.text)
                    kept.append(sentence)
        splits[split] = tuple(kept)
    return splits


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise BodyLanguageError(f"unknown sentence split {split!r}; expected one of {SPLITS}")


def all_sentences(split: str = "train") -> list[Sentence]:
    """Every sentence of `split` ("train" or "heldout"), in a fixed order."""
    _check_split(split)
    return list(_corpus()[split])


def sample_sentence(rng: np.random.Generator | random.Random, split: str = "train") -> Sentence:
    """One sentence of `split`, uniformly; `rng` is a numpy `Generator` or a `random.Random`."""
    _check_split(split)
    sentences = _corpus()[split]
    if isinstance(rng, np.random.Generator):
        return sentences[int(rng.integers(len(sentences)))]
    return sentences[rng.randrange(len(sentences))]
