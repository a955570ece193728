"""The typed word lists sentence templates fill their slots from, and how those words inflect.

Every filler is an `Entry`: named surface forms plus the grammatical person/number it imposes when
it is a sentence subject, so a template can say "the verb agrees with this slot" and stay
grammatical whatever is drawn. Surface forms may carry the template markup of `sentences.py`:
`*word*` marks the head that takes the stress when the template stresses the slot, and `word~`
(or `word~tag`) overrides the gesture the word would otherwise get from `GESTURE_WORDS`.

American spelling throughout; no digits, hyphens or abbreviations, so each written word is one
spoken word for the aligner.
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


def _phrases(*texts: str) -> tuple[Entry, ...]:
    return tuple(phrase(text) for text in texts)


def _verbs(*texts: str) -> tuple[Entry, ...]:
    return tuple(verb(text) for text in texts)


def _nouns(*texts: str) -> tuple[Entry, ...]:
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


# --- Word lists ---------------------------------------------------------------------------------
# Keys are the slot names templates use ({p}, {p2} and {p3} draw distinct entries from LISTS["p"]).

PRONOUNS = tuple(pronoun(p) for p in ("I", "you", "he", "she", "we", "they"))
THIRD_PERSONS = (
    person("my brother", "he"), person("my sister", "she"), person("my mom", "she"),
    person("my dad", "he"), person("Sarah", "she"), person("Tom", "he"), person("Anna", "she"),
    person("David", "he"), person("our neighbor", "she"), person("my boss", "he"),
    person("my parents", "they"), person("the kids", "they"), person("my cousin", "he"),
    person("my friends", "they"), person("Maria", "she"), person("James", "he"),
    person("my grandmother", "she"), person("the new guy", "he"), person("our manager", "she"),
    person("my roommate", "he"), person("Lucy", "she"), person("the neighbors", "they"),
)
_THIRD_PRONOUNS = tuple(pronoun(p) for p in ("he", "she", "they"))

LISTS: dict[str, tuple[Entry, ...]] = {
    # People.
    "p": PRONOUNS + THIRD_PERSONS,  # anyone
    "o": _THIRD_PRONOUNS + THIRD_PERSONS,  # someone else
    "n": THIRD_PERSONS,  # someone else, named or described
    "x": (pronoun("you"),) + _THIRD_PRONOUNS + THIRD_PERSONS,  # anyone but the speaker
    "kid": (
        person("my son", "he"), person("my daughter", "she"), person("our little girl", "she"),
        person("my nephew", "he"), person("my niece", "she"), person("the twins", "they"),
        person("Max", "he"), person("Lily", "she"), person("our youngest", "he"),
        person("the little one", "she"),
    ),
    "rel": (
        person("my grandmother", "she"), person("my grandfather", "he"), person("my aunt", "she"),
        person("my uncle", "he"), person("my older brother", "he"), person("my cousins", "they"),
        person("my parents", "they"), person("my best friend", "she"),
        person("my little sister", "she"), person("my godmother", "she"),
        person("my old teacher", "he"),
    ),
    "name": _phrases("Lily", "Max", "Sam", "Emma", "Noah", "Mia", "Leo", "Zoe", "Ben", "Ella",
                     "Jack", "Ruby", "Oliver", "Grace"),
    "group": _phrases("my *friends*", "the *neighbors*", "*us*", "the *students*", "the *guests*",
                      "my *cousins*", "the *players*", "the *kids*", "*them*", "our *teachers*"),
    "said_by": _phrases(
        "*everyone*", "the *reviews*", "my *friends*", "*you*", "the *ads*", "*Tom*",
        "my *sister*", "the *critics*"),
    # Time.
    "weekday": _nouns("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                      "Sunday"),
    "day": _phrases("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
                    "next *week*", "the *weekend*", "the *afternoon*", "next *month*"),
    "when_future": _phrases(
        "*tomorrow*", "*tonight*", "next *week*", "this *weekend*", "on *Friday*",
        "on Saturday *morning*", "after *lunch*", "next *month*", "in the *morning*",
        "later *today*", "in a few *days*", "next *summer*", "on *Monday*", "after *work*"),
    "when_past": _phrases(
        "*yesterday*", "last *night*", "last *week*", "this *morning*", "on *Sunday*",
        "a few days *ago*", "last *summer*", "last *month*", "on Friday *night*",
        "the other *day*", "two weeks *ago*", "over the *weekend*"),
    "soon": _phrases("*tomorrow*", "after *school*", "this *afternoon*", "on your way *home*",
                     "before *lunch*", "*later*", "*tonight*", "on *Friday*", "this *evening*"),
    "deadline": _phrases(
        "*Friday*", "the end of the *month*", "the *weekend*", "*lunch*", "*tonight*",
        "the guests *arrive*", "it gets *dark*", "the *holidays*", "the meeting *starts*",
        "*noon*", "my parents *visit*"),
    "now": _phrases("right *now*", "*today*", "this *week*", "at the *moment*", "this *morning*"),
    "clock": _phrases("*midnight*", "ten *o'clock*", "half past *eleven*", "nearly *noon*",
                      "past *nine*", "*two* in the morning", "quarter to *six*", "almost *four*"),
    "dur_trip": _phrases("two *weeks*", "a *week*", "three *days*", "a *month*", "ten *days*",
                         "the whole *summer*", "a long *weekend*", "four *nights*"),
    "dur_since": _phrases(
        "since *Monday*", "*all* week", "for *hours*", "since this *morning*", "for a *month*",
        "*all* morning", "since *lunch*", "for *ages*", "*all* day", "since last *year*"),
    # Places.
    "dest": _phrases("Paris", "Lisbon", "Tokyo", "Scotland", "Rome", "New York", "Mexico City",
                     "the *coast*", "the *mountains*", "Berlin", "Iceland", "Morocco", "Vienna",
                     "Chicago", "Greece", "Peru", "Japan", "Istanbul"),
    "city": _phrases("Paris", "Lisbon", "Tokyo", "Rome", "New York", "Berlin", "Vienna",
                     "Chicago", "Madrid", "Toronto", "Sydney", "Dublin", "Seattle", "Boston"),
    "venue": _phrases("the *beach*", "the new *restaurant*", "the *lake*", "the *movies*",
                      "the *concert*", "the *zoo*", "the *fair*", "the *market*", "the *park*",
                      "the *museum*", "the *festival*", "the *game*"),
    "spot": _phrases("over *there*", "in the *car*", "on the kitchen *table*", "at the *office*",
                     "under the *sofa*", "in my other *jacket*", "by the front *door*",
                     "*upstairs*", "*downstairs*", "in the *bathroom*", "on the *train*",
                     "at the *restaurant*"),
    "live_place": _phrases(
        "by the *sea*", "in a tiny *village*", "on a *farm*", "in the *city*",
        "near the *station*", "in an old *lighthouse*", "*upstairs* from us", "on a *houseboat*",
        "in *Madrid*", "next *door*", "up in the *mountains*", "down by the *river*"),
    "room": _phrases("the living *room*", "the *attic*", "the *garage*", "the *hallway*",
                     "the spare *room*", "the *kitchen*", "the *basement*", "my *office*",
                     "the *bedroom*", "the *studio*"),
    "shop": _phrases("*bakery*", "*bank*", "post *office*", "*library*", "*pharmacy*", "*museum*",
                     "*market*", "hardware *store*", "swimming *pool*", "*butcher*",
                     "flower *shop*"),
    "street": _phrases("on Main *Street*", "near the *station*", "on the *corner*",
                       "by the *river*", "next to the *bank*", "*downtown*", "across the *road*"),
    "left_where": _phrases("on the *train*", "at the *restaurant*", "at *home*", "in the *taxi*",
                           "on the *bus*", "at the *office*", "in the hotel *room*",
                           "at the *airport*", "at the *gym*", "in the *park*"),
    "wait_where": _phrases("*outside*", "in the *car*", "*downstairs*", "at the *door*",
                           "at the *gate*", "by the *entrance*", "on the *platform*",
                           "at the *bus stop*"),
    "high": _phrases("that *table*", "the *fence*", "the *roof*", "that *tree*", "the *counter*",
                     "the *ladder*", "the *shelf*", "the *wall*", "the *piano*"),
    "surface": _phrases("the *floor*", "my *chair*", "the kitchen *table*", "the *stairs*",
                        "my *bed*", "the *sofa*", "my *desk*"),
    # Things.
    "obj": _nouns("box", "bag", "umbrella", "key", "laptop", "book", "jacket", "phone", "letter",
                  "lamp", "suitcase", "chair", "cake", "plant", "photo", "ticket", "map",
                  "wallet", "mug", "blanket", "bottle", "envelope", "orange", "hammer", "ladder",
                  "pillow", "candle", "remote", "scarf", "hat", "knife", "apple"),
    "food_store": _phrases("*fridge*", "*cupboard*", "*pantry*", "*cooler*", "*freezer*",
                           "bread *bin*", "fruit *bowl*"),
    "container": _phrases("*box*", "*bag*", "*drawer*", "*basket*", "*suitcase*", "*cupboard*",
                          "*fridge*", "*backpack*", "*closet*", "*trunk*", "*cooler*"),
    "put_size": _phrases("small", "tiny", "little", "big", "old", "blue", "new", "red"),
    "stuff": _phrases("all of *that*", "those *books*", "*everything*", "the *groceries*",
                      "your *clothes*", "the *leftovers*", "all the *toys*", "these *shoes*",
                      "the *laundry*", "my *papers*", "the *tools*", "the *presents*"),
    "household": _nouns("lamp", "armchair", "bookshelf", "sofa", "desk", "old piano", "rug",
                        "mirror", "clock", "bed", "table", "bicycle", "wardrobe", "fish tank",
                        "ironing board", "umbrella stand", "oven", "easel"),
    "lost": (
        thing("my *glasses*", "they"), thing("the *remote*"), thing("my blue *scarf*"),
        thing("the car *keys*", "they"), thing("my phone *charger*"),
        thing("the *scissors*", "they"), thing("Tom's *jacket*"), thing("my *wallet*"),
        thing("the *passports*", "they"), thing("your *umbrella*"),
        thing("the *tickets*", "they"), thing("my *notebook*"),
    ),
    "item_left": _phrases("*umbrella*", "*wallet*", "*phone*", "*keys*", "*jacket*", "*laptop*",
                          "*glasses*", "*passport*", "*bag*", "*headphones*", "*charger*"),
    "pack": _phrases("your *passport*", "*sunscreen*", "a phone *charger*", "warm *socks*",
                     "the *tickets*", "a *toothbrush*", "a *swimsuit*", "some *snacks*",
                     "an *umbrella*", "a good *book*", "your *glasses*", "the *map*", "a *hat*",
                     "a first aid *kit*", "your *keys*"),
    "groc": _phrases("*bread*", "*milk*", "a few *eggs*", "some *cheese*", "two *lemons*",
                     "a bag of *rice*", "olive *oil*", "a couple of *onions*", "lots of *apples*",
                     "*butter*", "*coffee*", "*tea*", "a big bag of *flour*",
                     "some fresh *herbs*", "a jar of *honey*", "*tomatoes*", "*yogurt*",
                     "*pasta*", "a can of *beans*", "a little *sugar*"),
    "party_item": _phrases("the *drinks*", "a *salad*", "some *chairs*", "the *music*", "a *cake*",
                           "*ice*", "*snacks*", "the *plates*", "a *dessert*", "fresh *bread*",
                           "some *games*", "the *candles*"),
    "drink": _phrases("*tea*", "*coffee*", "orange *juice*", "*water*", "*lemonade*",
                      "hot *chocolate*", "a glass of *milk*", "sparkling *water*",
                      "apple *juice*", "iced *tea*", "a *smoothie*"),
    "food_like": _phrases("*coffee*", "*tea*", "*fish*", "spicy *food*", "*mushrooms*",
                          "*olives*", "*chocolate*", "*cheese*", "*pizza*", "*sushi*",
                          "*garlic*", "ice *cream*", "*strawberries*", "*pasta*", "*peanuts*"),
    "dish": _phrases("*lasagna*", "*pancakes*", "*curry*", "apple *pie*", "*soup*",
                     "chocolate *cake*", "fried *rice*", "*tacos*", "*risotto*", "*cookies*",
                     "*omelets*", "*pizza*", "*dumplings*", "banana *bread*"),
    "commodity": _phrases("*coffee*", "*rice*", "olive *oil*", "*sugar*", "*flour*", "*butter*",
                          "*chocolate*", "*cheese*", "*honey*", "*tea*", "*pasta*", "*fruit*"),
    "ingredient": _phrases("*flour*", "*eggs*", "*milk*", "*sugar*", "*rice*", "*water*", "*oats*",
                           "*yogurt*", "*cream*", "*lemons*", "*bananas*", "*potatoes*"),
    "pinch": _phrases("*butter*", "*salt*", "*honey*", "lemon *juice*", "olive *oil*",
                      "*cinnamon*", "*pepper*", "*patience*", "*vanilla*"),
    "dish_flaw": (
        thing("the *soup*"), thing("the *pasta*"), thing("the *noodles*", "they"),
        thing("the *curry*"), thing("the *cake*"), thing("the *steak*"), thing("the *pie*"),
        thing("the *fries*", "they"), thing("the *salad*"), thing("the *coffee*"),
    ),
    "tasty": _phrases("delicious", "lovely", "amazing", "tasty", "excellent", "wonderful"),
    "flaw": _phrases("salty", "spicy", "sweet", "cold", "dry", "greasy", "bitter", "bland"),
    "event": (
        thing("the *meeting*"), thing("the *dinner*"), thing("the *call*"),
        thing("the *interview*"), thing("the *party*"), thing("the *appointment*"),
        thing("the *presentation*"), thing("the *barbecue*"), thing("the *rehearsal*"),
        thing("the *review*"), thing("the *class*"), thing("the *fireworks*", "they"),
        thing("the *wedding*"), thing("the *concert*"), thing("the *match*"),
    ),
    "event_go": _phrases("the *party*", "the *wedding*", "the *concert*", "the *game*",
                         "the *meeting*", "the *gym*", "the *beach*", "the *dinner*",
                         "the *festival*", "the *office*"),
    "schedule_item": _phrases(
        "a dentist *appointment*", "an *interview*", "*yoga*", "a long *meeting*",
        "football *practice*", "piano *lessons*", "a doctor's *appointment*",
        "dinner with my *parents*", "a work *trip*", "a *haircut*", "book *club*",
        "a big *deadline*", "a *concert*", "a *wedding*"),
    "topic": (
        thing("the new *project*"), thing("the new *schedule*"), thing("the *budget*"),
        thing("these new *rules*", "they"), thing("the *plan*"), thing("your *idea*"),
        thing("the *proposal*"), thing("the new *office*"), thing("the *food* here"),
        thing("this *neighborhood*"), thing("the new *menu*"), thing("the *movie*"),
        thing("the test *results*", "they"), thing("the *prices*", "they"),
        thing("the *ending*"),
    ),
    "opinion": _phrases("*brilliant*", "*terrible*", "a bit *silly*", "*great*",
                        "completely *ridiculous*", "*fine*", "way too *expensive*",
                        "really *clever*", "*overrated*", "pretty *good*", "a complete *disaster*",
                        "not *bad* at all", "*wonderful*", "a little *confusing*"),
    # Feelings one has "about" something, and moods one is simply in.
    "feel_about": _phrases("happy", "nervous", "excited", "worried", "relieved", "confused",
                           "upset", "calm", "anxious", "hopeful", "thrilled", "unsure"),
    "mood": _phrases("tired", "busy", "stressed", "nervous", "bored", "sleepy", "hungry",
                     "overwhelmed", "distracted", "worried", "grumpy", "cold"),
    "upcoming": _phrases("the *interview*", "the *trip*", "the *move*", "the *exam*",
                         "the new *job*", "the *wedding*", "the *results*", "the *presentation*",
                         "the *weekend*", "the *concert*", "the *surgery*", "the *election*"),
    "quality": _phrases("amazing", "beautiful", "lovely", "strange", "terrible", "wonderful",
                        "awful", "brilliant", "funny", "exciting", "interesting", "incredible",
                        "odd", "perfect", "horrible", "unusual", "ugly", "unforgettable"),
    "sight": _phrases("day", "view", "party", "idea", "surprise", "mess", "game", "performance",
                      "evening", "story", "trip", "coincidence", "dress", "wedding", "garden",
                      "sunset"),
    "weather": (
        phrase("*sunny*", item="your *sunglasses*"), phrase("*rainy*", item="an *umbrella*"),
        phrase("*cold*", item="a warm *coat*"), phrase("*freezing*", item="gloves and a *hat*"),
        phrase("*windy*", item="a *jacket*"), phrase("really *hot*", item="plenty of *water*"),
        phrase("*snowy*", item="your *boots*"), phrase("*wet*", item="a *raincoat*"),
        phrase("*chilly*", item="a *sweater*"), phrase("*humid*", item="a spare *shirt*"),
        phrase("*foggy*", item="a *flashlight*"), phrase("*stormy*", item="an extra *layer*"),
    ),
    "wadj": _phrases("sunny", "rainy", "windy", "cloudy", "cold", "warm", "foggy", "stormy",
                     "chilly", "hot", "dry", "humid"),
    "colour": _phrases("red", "blue", "green", "black", "white", "yellow", "gray", "orange",
                       "purple", "pink", "brown", "navy"),
    "size": _phrases("big", "small", "tiny", "huge", "enormous", "little", "large"),
    "size_pair": (
        phrase("big", other="small"), phrase("huge", other="small"),
        phrase("small", other="big"), phrase("tiny", other="large"),
        phrase("enormous", other="small"), phrase("large", other="tiny"),
    ),
    "space": _phrases("the *apartment*", "the *kitchen*", "the *garden*", "the new *office*",
                      "the hotel *room*", "the *car*", "the *boat*", "the *tent*",
                      "the *bathroom*", "the *stage*"),
    "creature": (
        thing("*spider*"), thing("*dog*"), thing("*cake*"), thing("*wave*"), thing("*truck*"),
        thing("*pumpkin*"), thing("*sandwich*"), thing("*tree*"), thing("*bill*"),
        thing("*boxes*", "they"), thing("*waves*", "they"), thing("*shoes*", "they"),
        thing("*spiders*", "they"), thing("*portions*", "they"),
    ),
    "huge": _phrases("*huge*", "*enormous*", "*tiny*", "*massive*", "so *big*", "so *small*",
                     "*gigantic*", "really *little*"),
    "price": _phrases("forty *dollars*", "almost a hundred *dollars*", "twelve *euros*",
                      "next to *nothing*", "a *fortune*", "three *pounds*", "way too *much*",
                      "twice as much as *mine*", "fifty *bucks*"),
    "costs": _phrases("*Rents*", "*Prices*", "Food *prices*", "*Taxes*", "Energy *bills*",
                      "Ticket *prices*", "Bus *fares*", "Interest *rates*", "Coffee *prices*"),
    "garment": (
        thing("the *jacket*"), thing("the *sweater*"), thing("this *dress*"),
        thing("the *shirt*"), thing("the *scarf*"), thing("that *backpack*"),
        thing("these *shoes*", "they"), thing("the new *phone*"), thing("the *sofa*"),
        thing("this *bike*"), thing("the *sneakers*", "they"), thing("the *curtains*", "they"),
    ),
    "choice": _phrases("*dress*", "*jacket*", "*car*", "*sofa*", "*lamp*", "*rug*", "*bike*",
                       "*hat*", "*mug*", "*tent*", "*backpack*", "*kettle*"),
    "job": _phrases("teacher", "nurse", "waiter", "engineer", "taxi driver", "architect", "actor",
                    "electrician", "chef", "editor", "accountant", "gardener", "artist",
                    "office manager", "journalist", "lawyer", "pilot", "musician", "mechanic"),
    "sport": _phrases("*tennis*", "*football*", "*chess*", "*basketball*", "*volleyball*",
                      "*golf*", "*badminton*", "*baseball*", "*hockey*", "*cards*"),
    "dislike": _phrases("*traffic*", "loud *music*", "waiting in *line*", "cold *coffee*",
                        "early *mornings*", "rude *people*", "long *meetings*", "*spiders*",
                        "crowded *trains*", "wet *socks*", "small *talk*", "*gossip*",
                        "slow *internet*"),
    "show": (
        thing("the *movie*"), thing("the *concert*"), thing("the *food*"), thing("the *hotel*"),
        thing("the *book*"), thing("the new *restaurant*"), thing("the *play*"),
        thing("the *beach*"), thing("the *fireworks*", "they"), thing("the *museum*"),
        thing("the new *album*"),
    ),
    "good": _phrases("good", "funny", "scary", "exciting", "fancy", "bad", "boring", "romantic",
                     "crowded", "expensive"),
    "ordeal": (
        phrase("the *exam*", hard="*hard*"), phrase("the *interview*", hard="*tough*"),
        phrase("the *drive*", hard="*long*"), phrase("the *flight*", hard="*bumpy*"),
        phrase("the *stairs*", "3p", hard="*steep*"), phrase("the *water*", hard="*cold*"),
        phrase("the *hike*", hard="*difficult*"), phrase("the *test*", hard="*easy*"),
        phrase("the *neighbors*", "3p", hard="*noisy*"), phrase("the *lines*", "3p", hard="*long*"),
        phrase("the *dentist*", hard="*painful*"), phrase("the *movie*", hard="*scary*"),
    ),
    "careful": (
        phrase("*pan*", adj="hot"), phrase("*knife*", adj="sharp"),
        phrase("*floor*", adj="slippery"), phrase("*box*", adj="heavy"),
        phrase("*glass*", adj="fragile"), phrase("*ladder*", adj="wobbly"),
        phrase("*step*", adj="steep"), phrase("*ice*", adj="thin"),
        phrase("*water*", adj="deep"), phrase("*plate*", adj="hot"), phrase("*dog*", adj="grumpy"),
        phrase("*chair*", adj="broken"),
    ),
    "careful_call": _phrases("*Careful*", "Watch *out*", "Be *careful*"),
    "crowd": (
        phrase("*people*", loc="in *here*"), phrase("*cars*", loc="on the road *today*"),
        phrase("*birds*", loc="in the *garden*"), phrase("*boats*", loc="on the *lake*"),
        phrase("*tourists*", loc="at the *market*"), phrase("*flowers*", loc="in the *park*"),
        phrase("*books*", loc="in this *room*"), phrase("*stars*", loc="in the sky *tonight*"),
        phrase("*bikes*", loc="at the *station*"), phrase("*pigeons*", loc="in the *square*"),
        phrase("*balloons*", loc="at the *party*"), phrase("*mosquitoes*", loc="out *here*"),
    ),
    "wow": _phrases("Wow", "Look", "Oh my", "Goodness", "Gosh"),
    "sights_pl": _phrases("*birds*", "*boats*", "*balloons*", "*stars*", "*lights*", "*kites*",
                          "*ducks*", "*sheep*", "*clouds*", "*fireflies*", "*people*", "*cows*"),
    "sight_where": _phrases("over *there*", "up *there*", "down *there*", "in the *sky*",
                            "on the *lake*", "in the *field*"),
    "compliment": _phrases("*amazing*", "*great*", "*lovely*", "*fantastic*", "so *different*",
                           "really *happy*", "*wonderful*", "so grown *up*", "very *smart*",
                           "*beautiful*", "*relaxed*", "ten years *younger*"),
    "look_when": _phrases("*today*", "*tonight*", "this *morning*", "in that *suit*",
                          "in those *glasses*", "with~ short *hair*", "in that *hat*"),
    "competition": _phrases("*game*", "*final*", "*quiz*", "*raffle*", "*competition*",
                            "*championship*", "*match*", "*tournament*", "*election*",
                            "*contest*", "school *race*", "spelling *bee*"),
    "achievement": _phrases("the new *job*", "your *wedding*", "the *baby*", "your *graduation*",
                            "the *promotion*", "passing your *exam*", "the new *house*",
                            "your *engagement*", "winning the *race*", "the *award*",
                            "your *retirement*", "the new *apartment*"),
    "praise": _phrases("*Congratulations*", "*Congrats*", "Huge *congratulations*",
                       "Many *congratulations*"),
    "kind_adj": _phrases("kind", "thoughtful", "sweet", "generous", "lovely", "nice"),
    "never_again": _phrases(
        "eating at that *restaurant*", "flying with that *airline*", "lending him *money*",
        "going camping in the *rain*", "driving in this *traffic*", "buying cheap *shoes*",
        "staying up this *late*", "taking the night *bus*", "playing cards with *you*",
        "watching a horror movie before *bed*", "shopping on a *Saturday*"),
    "best": (
        phrase("*movie*", pp="seen"), phrase("*pizza*", pp="had"), phrase("*song*", pp="heard"),
        phrase("*book*", pp="read"), phrase("*concert*", pp="been to"),
        phrase("*coffee*", pp="tasted"), phrase("*party*", pp="been to"),
        phrase("*joke*", pp="heard"), phrase("*view*", pp="seen"), phrase("*meal*", pp="eaten"),
    ),
    "superlative": _phrases("best", "worst", "funniest", "strangest", "weirdest", "saddest",
                            "loveliest"),
    "frank": _phrases("Honestly", "Seriously", "Truly", "To be honest", "Really"),
    "best_worst": _phrases("best", "worst", "strangest", "longest"),
    "period": _phrases("day", "week", "summer", "trip", "party", "vacation", "concert", "meal",
                       "birthday", "year", "weekend", "night"),
    "think_of": _phrases("*you*", "that old *car*", "your *sister*", "our trip to *Rome*",
                         "the summer in *Spain*", "*Grandma*", "the first *apartment* we had",
                         "my old *teacher*", "*pancakes*", "our *wedding*", "that *song*",
                         "the *beach*"),
    "trait": _phrases("stubborn", "loud", "grumpy", "impatient", "forgetful", "shy", "bossy",
                      "dramatic", "lazy", "messy", "moody", "picky"),
    "attitude": _phrases("Sadly", "Unfortunately", "Believe it or not~", "As you probably know",
                         "Of course"),
    "pets": _phrases("two *cats*", "three noisy *parrots*", "old *dog*", "tiny *puppy*",
                     "enormous *cat*", "five *chickens*", "new *roommate*", "pet *rabbit*",
                     "goldfish", "lots of *plants*"),
    "change": _phrases("the new *curtains*", "my *haircut*", "the broken *window*",
                       "the *mess* in the kitchen", "the little *scratch* on the car",
                       "the *sign* on the door", "the *smell* of smoke", "the missing *painting*",
                       "the new *carpet*", "the *rain*"),
    "rumor": _phrases("about the surprise *party*", "that~ the office was *closing*",
                      "that~ I was *leaving*", "about my new *job*", "that~ Tom was *moving*",
                      "about the *wedding*", "that~ the concert was *canceled*",
                      "that~ we were getting a *dog*", "about the *accident*",
                      "that~ the rent was going *up*"),
    "ask": _phrases("Can", "Could", "Would"),
    "work_thing": _phrases("the *budget*", "the new *website*", "the quarterly *report*",
                           "that *presentation*", "the *proposal*", "the new *app*",
                           "the *schedule*", "the *contract*", "the *speech*", "a new *song*",
                           "the *novel*"),
    "found": _phrases("an old *photo*", "a *wallet*", "a tiny *kitten*", "twenty *dollars*",
                      "a *letter* from the war", "a huge *spider*", "a *ring*",
                      "a box of old *toys*", "a *map* of the town", "an *envelope* full of cash",
                      "a bird's *nest*"),
    "found_in": _phrases("the *attic*", "the *garden*", "a *drawer*", "the back of the *car*",
                         "the *park*", "the *basement*", "an old *coat*", "the *garage*",
                         "the *shed*"),
    "help_cond": _phrases("*everyone* is here", "the rain *stops*", "the kids are *asleep*",
                          "we hear back from the *bank*", "I finish my *coffee*",
                          "the boss *says* so", "the price comes *down*", "you *apologize*",
                          "the *contract* is signed"),
    "travel_opt": _phrases("take a *taxi*", "*walk*", "take the *bus*", "*drive*",
                           "ride our *bikes*", "wait for the *train*", "take the *subway*",
                           "call a *cab*", "stay *here*"),
    "frank_clause": _phrases("I *mean* this", "I'm not *joking*", "you *know* me",
                             "I *promise*"),
    "experience": _phrases("trip to *Rome*", "first day at the new *job*", "*weekend*",
                           "*vacation*", "dinner with the *Smiths*", "*interview*", "*flight*",
                           "*exam*", "date last *night*", "*birthday*", "driving *test*",
                           "camping *trip*", "new *apartment*"),
    "poss_any": _phrases("your", "his", "her", "their", "Sarah's", "your brother's", "Tom's"),
    "what_said": _phrases("*that*", "anything like *that*", "those *words*", "a word about *it*",
                          "that to *anyone*", "*anything*"),
    "count_pl": _phrases("*chairs*", "*eggs*", "*tickets*", "*boxes*", "*plates*",
                         "bottles of *water*", "*photos*", "*candles*", "*apples*", "*cookies*",
                         "*balloons*", "*sandwiches*"),
    "acquire": _phrases("buy", "bring", "order", "pack", "need", "take", "find", "make"),
    "subject": _phrases("*computers*", "*cars*", "*football*", "*cooking*", "*gardening*", "*art*",
                        "*wine*", "*politics*", "*history*", "*money*", "*babies*", "*music*",
                        "*fashion*"),
    "no_time_for": _phrases("*that*", "*lunch*", "another *meeting*", "a *break*", "a *detour*",
                            "*games*", "*coffee*", "*this*", "an *argument*", "a long *chat*"),
    "gadget": _phrases("*lamp*", "*laptop*", "*phone*", "*umbrella*", "*suitcase*", "*chair*",
                       "*kettle*", "*blender*", "*printer*", "*camera*", "vacuum *cleaner*",
                       "*dishwasher*", "*watch*", "*bike*", "*heater*"),
    "when_recent": _phrases("this *morning*", "*yesterday*", "last *night*", "a minute *ago*",
                            "the other *day*"),
    "thinking": _phrases("thinking", "talking"),
    "food_ex": (
        thing("*soup*"), thing("*cake*"), thing("*noodles*", "they"), thing("*cookies*", "they"),
        thing("*coffee*"), thing("*bread*"), thing("*curry*"), thing("*strawberries*", "they"),
        thing("*salad*"), thing("*pie*"), thing("*dumplings*", "they"), thing("*lemonade*"),
    ),
    "yum": _phrases("so *good*", "*delicious*", "*amazing*", "*incredible*", "so *fresh*",
                    "*perfect*", "really *tasty*"),
    "yes_word": _phrases("*Absolutely*", "*Sure*", "*Yes*", "*Definitely*", "*Yeah*"),
    # Verb phrases (base, s, past, pp, ing).
    "task": _verbs("finish the *report*", "fix the *sink*", "clean the *kitchen*",
                   "book the *tickets*", "walk the *dog*", "pick up~ the *kids*", "cook *dinner*",
                   "answer the *emails*", "water the *plants*", "pay the *rent*",
                   "paint the *fence*", "wash the *car*", "call the *bank*", "mow the *lawn*",
                   "sort out the *garage*", "take out the *trash*", "renew the *passports*",
                   "write the *invitations*", "return the library *books*", "repair the *bike*",
                   "change the light *bulb*", "feed the *cat*", "vacuum the *stairs*"),
    "leisure": _verbs("go to the *beach*", "stay at *home*", "watch a *movie*", "eat *out*",
                      "go *hiking*", "visit a *museum*", "have a *picnic*", "go *swimming*",
                      "play board *games*", "see a *concert*", "go *camping*",
                      "try the new *restaurant*", "go *dancing*", "bake *cookies*",
                      "rent a *boat*", "go to the *zoo*"),
    "favor": _verbs("pick up~ the *kids*", "water the *plants*", "feed the *cat*",
                    "lend me your *ladder*", "send me the *address*", "help me with the *boxes*",
                    "call me *back*", "bring some *chairs*", "check the *mail*",
                    "look after the *dog*", "give me a *ride*", "hold the *door*",
                    "grab some *milk*", "save me a *seat*", "drive me to the *station*"),
    "decision": _verbs("cancel the *trip*", "quit the *choir*", "sell the *car*",
                       "leave the party *early*", "change the *plan*", "move to *Berlin*",
                       "skip the *meeting*", "turn down~ the *offer*", "paint the house *green*",
                       "sell the *piano*", "take the *train* instead", "give up *coffee*",
                       "buy a *boat*", "cut down the old *tree*"),
    "life": _verbs("move to the *city*", "buy that old *car*", "start *school*", "get *married*",
                   "win the *race*", "learn to *drive*", "lose the house *keys*",
                   "meet the *president*", "break a *leg*", "fall into the *pond*",
                   "adopt the *puppy*", "sing at the *wedding*"),
    "exp": _verbs("eat *snails*", "see the northern *lights*", "ride a *horse*",
                  "sing in *public*", "swim in the *ocean*", "run a *marathon*",
                  "fly in a *helicopter*", "sleep in a *tent*", "climb a *mountain*",
                  "try *sushi*", "win a *prize*", "break a *bone*", "miss a *flight*",
                  "drive a *truck*", "play the *drums*", "bake *bread*"),
    "ongoing": _verbs("learn *Spanish*", "live *here*", "work *there*", "*wait*",
                      "play the *piano*", "feel like *this*", "study for the *exam*",
                      "look for a new *apartment*", "train for the *marathon*",
                      "fix that old *car*", "save for a *house*", "write the *book*",
                      "take *dance* lessons", "run every *morning*"),
    "habit": _verbs("play *tennis*", "eat *meat*", "drink *coffee*", "watch the *news*",
                    "go to the *gym*", "live *here*", "work *there*", "*drive*", "take the *bus*",
                    "*smoke*", "read the *paper*", "go *running*", "play the *guitar*",
                    "sing in the *choir*"),
    "kid_skill": _verbs("ride a *bike*", "*swim*", "*read*", "*whistle*", "count to a *hundred*",
                        "*skate*", "play *chess*", "tie a *knot*", "use *chopsticks*",
                        "do a *cartwheel*", "tell the *time*", "climb the *rope*"),
    "able": _verbs("speak three *languages*", "play the *guitar*", "*cook*", "*juggle*", "*draw*",
                   "fix almost *anything*", "dance the *tango*", "bake *bread*",
                   "do a *handstand*", "*sew*", "*knit*", "*sing*", "drive a *truck*",
                   "ski"),
    "coming": _verbs("come *over*", "move *out*", "leave *early*", "start a new *job*",
                     "fly to *Paris*", "get *married*", "visit for the *weekend*", "*retire*",
                     "stay for *dinner*", "join us for *lunch*", "run the *marathon*",
                     "host the *party*"),
    "cook_step": _verbs("chop the *onions*", "boil the *water*", "heat the *pan*",
                        "add the *garlic*", "wash the *rice*", "crack the *eggs*",
                        "melt the *butter*", "slice the *bread*", "peel the *potatoes*",
                        "grate the *cheese*", "stir in the *cream*", "season it with *salt*",
                        "let it *cool*", "preheat the *oven*"),
    "group_act": _verbs("come to the *party*", "find a parking *space*", "hear the *music*",
                        "stay *late*", "see the *stage*", "answer the *question*",
                        "remember the *address*", "open the *door*", "make it on *time*",
                        "stop *laughing*"),
    "thank_for": _verbs("pick up~ the *kids*", "help with the *move*", "bring *dinner*",
                        "fix my *bike*", "drive me to the *airport*", "look after the *dog*",
                        "lend me your *car*", "come all this *way*", "call me *back*",
                        "remember my *birthday*", "cook for *everyone*", "*listen*",
                        "organize the *party*", "carry the *boxes*"),
}
