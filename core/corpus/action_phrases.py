"""How people ask for each action: paraphrases for training and held-out ones for evaluation.

Held-out phrasings use wording that no training phrasing of the same action uses (not just the
same words reordered), so evaluation measures whether a model understands paraphrase.
"""

from __future__ import annotations

# name -> (training descriptions, held-out descriptions)
PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "wave_right_hand": (
        ("wave with your right hand", "give a wave using the right hand",
         "raise your right hand and wave", "wave hello with the right hand",
         "do a friendly wave with your right arm", "wave your right hand back and forth"),
        ("greet someone by waving the right hand", "say hi with a right-handed wave"),
    ),
    "wave_left_hand": (
        ("wave with your left hand", "give a wave using the left hand",
         "raise your left hand and wave", "wave hello with the left hand",
         "do a friendly wave with your left arm", "wave your left hand back and forth"),
        ("greet someone by waving the left hand", "say hi with a left-handed wave"),
    ),
    "wave_both_hands": (
        ("wave with both hands", "wave both arms above your head",
         "raise both hands and wave them", "give a big two-handed wave",
         "wave with both arms in the air", "wave enthusiastically using both hands"),
        ("flag someone down by waving two arms overhead",
         "signal excitedly with each hand up high"),
    ),
    "nod": (
        ("nod your head", "nod yes", "give a nod of agreement", "nod a few times",
         "move your head up and down to agree", "nod in approval"),
        ("bob the head to say yes", "show you agree with some nods"),
    ),
    "shake_head": (
        ("shake your head", "shake your head no", "shake the head from side to side",
         "turn your head left and right to say no", "give a disapproving head shake",
         "shake your head in disagreement"),
        ("refuse without words by moving the head sideways", "signal no with a headshake"),
    ),
    "shrug": (
        ("shrug", "shrug your shoulders", "do a shrug with open palms",
         "lift your shoulders and turn the palms up", "give a shrug like you don't know",
         "shrug and show empty hands"),
        ("show that you have no idea", "raise both shoulders as if unsure"),
    ),
    "point_forward": (
        ("point forward", "point straight ahead", "point in front of you with your finger",
         "extend your arm and point forward", "point at something ahead",
         "point ahead with the index finger"),
        ("indicate a spot directly in front", "direct attention to what lies before you"),
    ),
    "point_left": (
        ("point to the left", "point left with your left hand", "point toward your left side",
         "stretch your arm out and point left", "point at something on the left",
         "indicate the left with your finger"),
        ("show the way to your own left", "gesture with the index finger leftwards"),
    ),
    "point_right": (
        ("point to the right", "point right with your right hand",
         "point toward your right side", "stretch your arm out and point right",
         "point at something on the right", "indicate the right with your finger"),
        ("show the way to your own right", "gesture with the index finger rightwards"),
    ),
    "point_up": (
        ("point up", "point upward", "point at the ceiling", "raise your arm and point up",
         "point to the sky with one finger", "point up above you"),
        ("indicate something overhead", "direct a finger toward the heavens"),
    ),
    "point_down": (
        ("point down", "point at the floor", "point downward with your finger",
         "point to the ground in front of you", "point down at something low",
         "aim your index finger at the ground"),
        ("indicate a spot on the ground", "show where something lies beneath you"),
    ),
    "point_at_self": (
        ("point at yourself", "point to your own chest", "point at yourself with your finger",
         "indicate yourself by pointing", "point toward your body",
         "point at your chest as if saying me"),
        ("gesture that you mean you", "tap the air before your sternum to say 'I'"),
    ),
    "clap": (
        ("clap your hands", "clap a few times", "clap in front of your chest",
         "give a round of applause", "clap your hands together", "applaud by clapping"),
        ("put your palms together repeatedly to cheer", "show appreciation with handclaps"),
    ),
    "applaud_overhead": (
        ("clap above your head", "clap with your hands up high", "applaud overhead",
         "raise your arms and clap", "clap your hands over your head",
         "give an overhead round of applause"),
        ("cheer with raised handclaps", "smack the palms together high in the air"),
    ),
    "cross_arms": (
        ("cross your arms", "fold your arms across your chest", "stand with arms crossed",
         "cross your arms in front of you", "fold your arms", "cross both arms over your chest"),
        ("adopt a closed posture with forearms folded", "lock the forearms over the torso"),
    ),
    "hands_on_hips": (
        ("put your hands on your hips", "stand with hands on hips",
         "place both hands on your hips", "rest your hands on your hips",
         "put your fists on your waist", "stand with your hands at your waist"),
        ("strike a confident pose with elbows out", "set both palms on the waist, arms akimbo"),
    ),
    "bow": (
        ("bow", "take a bow", "bow politely", "bow from the waist", "give a respectful bow",
         "bend forward in a bow"),
        ("show respect by bending at the hips", "thank the audience by lowering your torso"),
    ),
    "thumbs_up": (
        ("give a thumbs up", "show a thumbs up", "do a thumbs up with your right hand",
         "hold up your thumb", "thumbs up", "give a thumbs-up sign"),
        ("signal approval with the thumb raised", "show that all is good with your thumb"),
    ),
    "facepalm": (
        ("facepalm", "do a facepalm", "put your hand over your face",
         "cover your face with your palm", "slap your palm to your forehead",
         "bury your face in your hand"),
        ("react to something embarrassing by hiding the face", "show exasperation, palm to brow"),
    ),
    "scratch_head": (
        ("scratch your head", "scratch the top of your head", "scratch your head in confusion",
         "rub the side of your head", "scratch your head as if puzzled",
         "scratch your head with your right hand"),
        ("look confused and itch your scalp", "act baffled while touching the crown"),
    ),
    "walk_forward": (
        ("walk forward", "take a few steps forward", "walk ahead", "step forward a few times",
         "walk straight forward", "move forward on foot"),
        ("advance a couple of paces", "stroll toward the front"),
    ),
    "walk_backward": (
        ("walk backward", "take a few steps back", "walk backwards", "step back a few times",
         "back up a few steps", "move backward on foot"),
        ("retreat a couple of paces", "reverse away from the front"),
    ),
    "turn_left": (
        ("turn left", "turn to your left", "turn around to the left", "rotate to face left",
         "turn your body to the left", "make a left turn"),
        ("pivot toward your left side", "face the direction on your left"),
    ),
    "turn_right": (
        ("turn right", "turn to your right", "turn around to the right",
         "rotate to face right", "turn your body to the right", "make a right turn"),
        ("pivot toward your right side", "face the direction on your right"),
    ),
    "side_step_left": (
        ("step to the left", "side step left", "take a step to your left",
         "shuffle to the left", "step sideways to the left", "move one step left"),
        ("sidestep in the leftward direction", "shift over laterally toward your left"),
    ),
    "side_step_right": (
        ("step to the right", "side step right", "take a step to your right",
         "shuffle to the right", "step sideways to the right", "move one step right"),
        ("sidestep in the rightward direction", "shift over laterally toward your right"),
    ),
    "jump": (
        ("jump", "jump in place", "do a jump", "jump up", "hop up and land",
         "jump straight up"),
        ("leap into the air", "spring off the floor and come back down"),
    ),
    "squat": (
        ("squat", "squat down", "do a squat", "crouch down and stand up again",
         "bend your knees into a squat", "squat down low"),
        ("lower your hips until your thighs are level", "sink down by flexing the knees"),
    ),
    "raise_right_hand": (
        ("raise your right hand", "put your right hand up", "lift your right arm up",
         "hold your right hand up high", "raise the right hand above your head",
         "put up your right hand"),
        ("ask for a turn to speak with the right arm raised",
         "volunteer by lifting the right palm"),
    ),
    "raise_left_hand": (
        ("raise your left hand", "put your left hand up", "lift your left arm up",
         "hold your left hand up high", "raise the left hand above your head",
         "put up your left hand"),
        ("ask for a turn to speak with the left arm raised",
         "volunteer by lifting the left palm"),
    ),
    "count_on_fingers": (
        ("count on your fingers", "count to five on your fingers", "count with your fingers",
         "show numbers with your fingers one by one", "count off on your hand",
         "raise your fingers one at a time to count"),
        ("enumerate items by extending digits", "tally up to five using your hand"),
    ),
    "beckon": (
        ("beckon", "beckon someone over", "wave someone closer with your fingers",
         "gesture for someone to come here", "make a come here gesture",
         "curl your fingers to call someone over"),
        ("invite a person to approach", "summon somebody toward you with your hand"),
    ),
    "stop_sign": (
        ("make a stop sign", "hold up your hand to say stop", "show your palm to stop someone",
         "put your hand out flat to stop", "gesture stop with your palm",
         "raise your palm forward like a stop sign"),
        ("tell someone to halt with your hand", "signal wait with an outstretched palm"),
    ),
    "arms_wide": (
        ("open your arms wide", "spread your arms wide", "stretch your arms out to the sides",
         "hold your arms wide open", "open both arms in welcome", "spread your arms apart"),
        ("make a welcoming gesture as if for a hug", "extend both limbs outward in greeting"),
    ),
    "hand_on_heart": (
        ("put your hand on your heart", "place your hand over your heart",
         "put your right hand on your chest", "hold your hand to your heart",
         "lay a hand on your heart", "touch your chest over the heart"),
        ("show sincerity with a palm on the breast", "pledge honestly, palm against the chest"),
    ),
    "think": (
        ("think", "look thoughtful with your hand on your chin", "put your hand on your chin",
         "rest your chin in your hand and think", "strike a thinking pose",
         "stroke your chin while thinking"),
        ("ponder something deeply", "appear pensive like the famous sculpture"),
    ),
    "look_around": (
        ("look around", "look left and right", "glance around the room",
         "turn your head to look around", "look from side to side", "look around you"),
        ("scan the surroundings", "survey the area with your eyes and head"),
    ),
    "salute": (
        ("salute", "give a salute", "do a military salute", "salute with your right hand",
         "raise your hand to your brow in a salute", "salute like a soldier"),
        ("honour an officer the army way", "touch fingertips to the temple in respect"),
    ),
    "stretch_arms_up": (
        ("stretch your arms up", "stretch both arms above your head", "reach up high and stretch",
         "stretch upward", "raise both arms and stretch", "do an overhead stretch"),
        ("lengthen the body toward the ceiling", "extend everything skyward after sitting long"),
    ),
    "fold_hands": (
        ("fold your hands", "clasp your hands in front of you", "hold your hands together",
         "fold your hands in front of your belly", "put your hands together in front",
         "rest your clasped hands in front of you"),
        ("wait patiently with fingers interlaced", "keep both palms joined at the waist"),
    ),
    "rub_hands": (
        ("rub your hands together", "rub your palms together", "rub your hands",
         "rub your hands as if cold", "warm your hands by rubbing them",
         "rub your hands together eagerly"),
        ("show anticipation by chafing the palms", "generate heat with friction between palms"),
    ),
    "check_watch": (
        ("check your watch", "look at your watch", "look at your wrist to check the time",
         "glance at your watch", "check the time on your wrist", "raise your wrist and look at it"),
        ("see what time it is", "consult the timepiece on your arm"),
    ),
    "lean_forward": (
        ("lean forward", "lean in", "bend your upper body forward", "lean toward the listener",
         "lean forward with interest", "tilt your torso forward"),
        ("incline the chest ahead attentively", "come closer by tipping the trunk"),
    ),
    "stand_idle": (
        ("stand still", "stand idle", "just stand there", "stand relaxed", "stand and wait",
         "stand casually with your arms down"),
        ("remain in place doing nothing", "keep a neutral resting posture"),
    ),
    "look_up": (
        ("look up", "look upward", "look up at the ceiling", "tilt your head back and look up",
         "raise your eyes and head upward", "look up at the sky"),
        ("gaze skyward", "turn the face toward something overhead"),
    ),
    "tilt_head": (
        ("tilt your head", "tilt your head to the side", "cock your head",
         "lean your head to one side", "tilt your head curiously", "tip your head sideways"),
        ("incline the head toward a shoulder", "look puzzled with a slanted head"),
    ),
    "hands_up": (
        ("put your hands up", "raise both hands", "hold up both hands",
         "put both hands up as if giving up", "raise your hands with palms forward",
         "hands up"),
        ("surrender", "show you are unarmed, palms out at head height"),
    ),
    "fist_pump": (
        ("pump your fist", "do a fist pump", "celebrate with a fist pump",
         "raise your fist and pump it", "pump your right fist in victory", "fist pump"),
        ("cheer a win by jerking a clenched hand", "punch the air in triumph"),
    ),
    "cup_ear": (
        ("cup your ear", "cup a hand behind your ear", "put a hand to your ear to listen",
         "cup your hand to your ear", "listen closely with a hand at your ear",
         "hold your hand behind your ear as if listening"),
        ("act like you cannot hear well", "signal 'say that again' by the ear"),
    ),
    "hands_behind_back": (
        ("put your hands behind your back", "clasp your hands behind your back",
         "hold your hands behind you", "stand with your hands behind your back",
         "fold your hands behind your back", "put both arms behind you"),
        ("adopt a patient stance, palms joined at the rear",
         "keep the arms tucked away behind the body"),
    ),
}
