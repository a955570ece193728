"""The words sentence templates are filled with: entries, how they inflect, their gestures.

Every filler is an `Entry`: named surface forms plus the grammatical person/number it imposes when
it is a sentence subject, so a template can say "the verb agrees with this slot" and stay
grammatical whatever is drawn. Surface forms may carry the template markup of `sentences.py`:
`*word*` marks the head that takes the stress when the template stresses the slot, and `word~`
(or `word~tag`) overrides the gesture the word would otherwise get from `GESTURE_WORDS`. The
word lists built from these entries are `core.corpus.word_lists.LISTS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Person/number of a subject: first/second/third person, singular/plural ("2" covers both yous).
AGREEMENTS: tuple[str, ...] = ("1s", "2", "3s", "1p", "3p")


@dataclass(frozen=True)
class Entry:
    """One slot filler: its named surface forms (the first is the default) and its agreement."""

    forms: tuple[tuple[str, str], ...]
    agr: str = "3s"

    def form(self, name: str = "") -> str:
        if not name:
            return self.forms[0][1]
        for key, text in self.forms:
            if key == name:
                return text
        raise KeyError(f"entry {self.forms[0][1]!r} has no form {name!r}")


# --- Inflection ---------------------------------------------------------------------------------

# base -> (past, past participle) for every irregular verb a word list uses.
IRREGULAR_VERBS: dict[str, tuple[str, str]] = {
    "be": ("was", "been"), "begin": ("began", "begun"), "break": ("broke", "broken"),
    "bring": ("brought", "brought"), "build": ("built", "built"), "buy": ("bought", "bought"),
    "catch": ("caught", "caught"), "choose": ("chose", "chosen"), "come": ("came", "come"),
    "cut": ("cut", "cut"), "do": ("did", "done"), "draw": ("drew", "drawn"),
    "drink": ("drank", "drunk"), "drive": ("drove", "driven"), "eat": ("ate", "eaten"),
    "fall": ("fell", "fallen"), "feed": ("fed", "fed"), "feel": ("felt", "felt"),
    "find": ("found", "found"), "fly": ("flew", "flown"), "forget": ("forgot", "forgotten"),
    "get": ("got", "gotten"), "give": ("gave", "given"), "go": ("went", "gone"),
    "grow": ("grew", "grown"), "hang": ("hung", "hung"), "have": ("had", "had"),
    "hear": ("heard", "heard"), "hold": ("held", "held"), "keep": ("kept", "kept"),
    "know": ("knew", "known"), "leave": ("left", "left"), "lend": ("lent", "lent"),
    "lose": ("lost", "lost"), "make": ("made", "made"), "meet": ("met", "met"),
    "pay": ("paid", "paid"), "put": ("put", "put"), "quit": ("quit", "quit"),
    "read": ("read", "read"), "ride": ("rode", "ridden"), "run": ("ran", "run"),
    "say": ("said", "said"), "see": ("saw", "seen"), "sell": ("sold", "sold"),
    "send": ("sent", "sent"), "set": ("set", "set"), "sew": ("sewed", "sewn"),
    "sing": ("sang", "sung"), "sit": ("sat", "sat"), "sleep": ("slept", "slept"),
    "speak": ("spoke", "spoken"), "spend": ("spent", "spent"), "stand": ("stood", "stood"),
    "steal": ("stole", "stolen"), "swim": ("swam", "swum"), "take": ("took", "taken"),
    "teach": ("taught", "taught"), "tell": ("told", "told"), "think": ("thought", "thought"),
    "throw": ("threw", "thrown"), "wake": ("woke", "woken"), "wear": ("wore", "worn"),
    "win": ("won", "won"), "write": ("wrote", "written"),
}

# Verbs whose final consonant doubles before -ed/-ing (stressed final syllable, short vowel).
DOUBLING_VERBS: frozenset[str] = frozenset({
    "begin", "chat", "clap", "cut", "drop", "forget", "get", "grab", "hug", "jog", "plan", "put",
    "quit", "rob", "run", "set", "shop", "sit", "skip", "stop", "swap", "swim", "win", "admit",
})

_VOWELS = "aeiou"


def third_person(base: str) -> str:
    """'watch' -> 'watches', 'carry' -> 'carries', 'have' -> 'has'."""
    special = {"have": "has", "be": "is", "do": "does", "go": "goes"}
    if base in special:
        return special[base]
    if base.endswith(("s", "sh", "ch", "x", "z", "o")):
        return base + "es"
    if base.endswith("y") and len(base) > 1 and base[-2] not in _VOWELS:
        return base[:-1] + "ies"
    return base + "s"


def _regular_past(base: str) -> str:
    if base in DOUBLING_VERBS:
        return base + base[-1] + "ed"
    if base.endswith("e"):
        return base + "d"
    if base.endswith("y") and base[-2] not in _VOWELS:
        return base[:-1] + "ied"
    return base + "ed"


def past(base: str) -> str:
    return IRREGULAR_VERBS[base][0] if base in IRREGULAR_VERBS else _regular_past(base)


def past_participle(base: str) -> str:
    return IRREGULAR_VERBS[base][1] if base in IRREGULAR_VERBS else _regular_past(base)


def present_participle(base: str) -> str:
    if base.endswith("ie"):
        return base[:-2] + "ying"
    if base in DOUBLING_VERBS:
        return base + base[-1] + "ing"
    if base.endswith("e") and not base.endswith(("ee", "ye", "oe")) and base != "be":
        return base[:-1] + "ing"
    return base + "ing"


def plural(noun: str) -> str:
    """Plural of the last word of a noun phrase: 'box' -> 'boxes', 'old key' -> 'old keys'."""
    head, _, last = noun.rpartition(" ")
    irregular = {"knife": "knives", "shelf": "shelves", "bookshelf": "bookshelves",
                 "person": "people", "child": "children", "mouse": "mice", "leaf": "leaves"}
    if last in irregular:
        word = irregular[last]
    elif last.endswith(("s", "sh", "ch", "x", "z")):
        word = last + "es"
    elif last.endswith("y") and last[-2] not in _VOWELS:
        word = last[:-1] + "ies"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


_SINGULAR = ("1s", "3s")


def agree(word: str, agr: str) -> str:
    """`word` (a verb in its base form, or this/that) made to agree with a subject of `agr`."""
    if agr not in AGREEMENTS:
        raise ValueError(f"unknown agreement {agr!r}")
    if word == "be":
        return {"1s": "am", "3s": "is"}.get(agr, "are")
    if word == "was":
        return "was" if agr in _SINGULAR else "were"
    if word == "isn't":
        return {"1s": "am not", "3s": "isn't"}.get(agr, "aren't")
    if word == "wasn't":
        return "wasn't" if agr in _SINGULAR else "weren't"
    if word in ("don't", "doesn't"):
        return "doesn't" if agr == "3s" else "don't"
    if word in ("haven't", "hasn't"):
        return "hasn't" if agr == "3s" else "haven't"
    if word in ("this", "these"):
        return "this" if agr in _SINGULAR else "these"
    if word in ("that", "those"):
        return "that" if agr in _SINGULAR else "those"
    return third_person(word) if agr == "3s" else word


# --- Entry builders -----------------------------------------------------------------------------

def phrase(text: str, agr: str = "3s", **forms: str) -> Entry:
    """A noun phrase or any fixed words; extra named forms travel with it (paired slots)."""
    return Entry((("", text), *forms.items()), agr)


def noun(singular: str, plural_form: str | None = None) -> Entry:
    """A countable noun: default and `sg` singular, `pl` plural."""
    return Entry((("", singular), ("sg", singular), ("pl", plural_form or plural(singular))), "3s")


_VERB_HEAD = re.compile(r"^(\*?)([a-z]+)(.*)$")


def verb(text: str) -> Entry:
    """A verb phrase whose first word inflects: forms base (default), s, past, pp, ing."""
    match = _VERB_HEAD.match(text)
    if match is None:
        raise ValueError(f"verb phrase {text!r} does not start with a lowercase verb")
    star, head, rest = match.groups()

    def make(word: str) -> str:
        return f"{star}{word}{rest}"

    return Entry((
        ("", text), ("base", text), ("s", make(third_person(head))), ("past", make(past(head))),
        ("pp", make(past_participle(head))), ("ing", make(present_participle(head))),
    ))


# Subject pronoun -> (+be, +have, +will, +would) contractions.
_CONTRACTIONS: dict[str, tuple[str, str, str, str]] = {
    "I": ("I'm", "I've", "I'll", "I'd"), "you": ("you're", "you've", "you'll", "you'd"),
    "he": ("he's", "he's", "he'll", "he'd"), "she": ("she's", "she's", "she'll", "she'd"),
    "it": ("it's", "it's", "it'll", "it'd"), "we": ("we're", "we've", "we'll", "we'd"),
    "they": ("they're", "they've", "they'll", "they'd"),
}
_PRONOUN_AGR = {"I": "1s", "you": "2", "he": "3s", "she": "3s", "it": "3s", "we": "1p",
                "they": "3p"}
_REFLEXIVE = {"I": "myself", "you": "yourself", "he": "himself", "she": "herself", "it": "itself",
              "we": "ourselves", "they": "themselves"}
_OBJECT = {"I": "me", "you": "you", "he": "him", "she": "her", "it": "it", "we": "us",
           "they": "them"}
_POSSESSIVE = {"I": "my", "you": "your", "he": "his", "she": "her", "it": "its", "we": "our",
               "they": "their"}


def _person_entry(nom: str, acc: str, poss: str | None, pron: str) -> Entry:
    agr = _PRONOUN_AGR[pron]
    be, have, will, _ = _CONTRACTIONS[pron]
    is_pronoun = nom == pron
    be_not = "isn't" if agr == "3s" else "aren't"
    forms = {
        "nom": nom, "acc": acc, "refl": _REFLEXIVE[pron], "pron": pron,
        "pron_acc": _OBJECT[pron], "pron_poss": _POSSESSIVE[pron],
        # Subject with its auxiliary; only pronouns contract ("Sarah is", never "Sarah's").
        "be_c": be if is_pronoun else f"{nom} {agree('be', agr)}",
        "be_not_c": f"{be} *not*" if is_pronoun else f"{nom} *{be_not}*",
        "have_c": have if is_pronoun else f"{nom} {agree('have', agr)}",
        "will_c": will if is_pronoun else f"{nom} will",
        "would_c": _CONTRACTIONS[pron][3] if is_pronoun else f"{nom} would",
        # Pronoun contractions for the second clause of a sentence about this person.
        "pron_be_c": be, "pron_will_c": _CONTRACTIONS[pron][2], "pron_d": _CONTRACTIONS[pron][3],
    }
    if poss is not None:
        forms["poss"] = poss
    return Entry((("", nom), *forms.items()), agr)


def pronoun(nom: str) -> Entry:
    """A subject pronoun with its object, possessive, reflexive and contracted forms."""
    return _person_entry(nom, _OBJECT[nom], _POSSESSIVE[nom], nom)


def person(nom: str, pron: str) -> Entry:
    """A named or described person ('my sister', 'Tom') referred back to as `pron`.

    No `poss` form: "my parents'" and "James'" end in an apostrophe the aligner would not see as
    part of the word, so templates use `pron_poss` ("their") instead.
    """
    return _person_entry(nom, nom, None, pron)


def thing(text: str, pron: str = "it") -> Entry:
    """A noun phrase subject that is not a person: agreement from `pron` ('it' or 'they')."""
    return Entry((("", text), ("pron", pron), ("pron_be_c", _CONTRACTIONS[pron][0])),
                 _PRONOUN_AGR[pron])


def phrases(*texts: str) -> tuple[Entry, ...]:
    return tuple(phrase(text) for text in texts)


def verbs(*texts: str) -> tuple[Entry, ...]:
    return tuple(verb(text) for text in texts)


def nouns(*texts: str) -> tuple[Entry, ...]:
    return tuple(noun(text) for text in texts)


# --- Gestures -----------------------------------------------------------------------------------

# Lowercased spoken word -> semantic gesture tag (see core.corpus.script.GESTURE_TAGS). Words
# ending in "n't" are negations and take "no" (see `gesture_for`).
GESTURE_WORDS: dict[str, str] = {
    **dict.fromkeys(("i", "me", "my", "mine", "myself", "i'm", "i've", "i'll", "i'd"), "self"),
    **dict.fromkeys(("you", "your", "yours", "yourself", "yourselves", "you're", "you've",
                     "you'll", "you'd"), "you"),
    **dict.fromkeys(("this", "these"), "this"),
    **dict.fromkeys(("that", "those", "that's"), "that"),
    "there": "there",
    **dict.fromkeys(("up", "upstairs", "above", "rise", "rises", "rising", "rose", "risen"), "up"),
    **dict.fromkeys(("down", "downstairs", "below", "fall", "falls", "falling", "fell", "fallen"),
                    "down"),
    **dict.fromkeys(("big", "bigger", "biggest", "huge", "enormous", "large", "massive",
                     "gigantic", "giant"), "big"),
    **dict.fromkeys(("small", "smaller", "tiny", "little"), "small"),
    **dict.fromkeys(("all", "everyone", "everything", "everybody", "everywhere"), "all"),
    **dict.fromkeys(("nothing", "none", "nobody", "never", "nowhere"), "nothing"),
    **dict.fromkeys(("yes", "yeah", "sure", "absolutely", "definitely"), "yes"),
    **dict.fromkeys(("no", "not", "nope"), "no"),
    **dict.fromkeys(("maybe", "perhaps", "probably", "possibly"), "maybe"),
    **dict.fromkeys(("many", "lots", "lot", "plenty", "several"), "many"),
    **dict.fromkeys(("together", "with"), "together"),
    **dict.fromkeys(("away", "gone", "leave", "leaves", "leaving", "left"), "away"),
    **dict.fromkeys(("here", "here's"), "here"),
}


def gesture_for(word: str) -> str | None:
    """The gesture tag a spoken word calls for by itself, or None."""
    lower = word.lower()
    if lower in GESTURE_WORDS:
        return GESTURE_WORDS[lower]
    if lower.endswith("n't"):
        return "no"
    return None
