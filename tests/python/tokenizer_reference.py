"""Reference tokenizations for tests/data/test_clip_tokenizer.cpp (loom::data::ClipTokenizer) and
ftfy's fixes for tests/data/test_text_fixes.cpp (loom::data::fix_text).

  tokenizer_reference.py DIR   writes DIR/tokenizer_reference.json:
    strings    N >= 600 texts: hand-written cases (scripts, entities, whitespace, contractions, long
               texts, empty) and seeded random combinations of them, the same on every run;
    tokens     open_clip.tokenize(strings) as lists (context length 77);
    tokens_16  open_clip.tokenize(strings, context_length=16), for truncation;
    encode     open_clip.tokenizer._tokenizer.encode(s) for each string (no start/end, no truncation);
    decode     open_clip.tokenizer._tokenizer.decode(encode[i]);
    fuzz_strings, fuzz_encode
               3,000 seeded random strings of code points from every plane, weighted towards the hard
               parts (entities, numeric references, Σ next to case-ignorable marks, odd whitespace,
               contractions, special tokens), and their ids from open_clip's SimpleTokenizer with ftfy's
               mojibake repair (fix_encoding) left out of its cleaning, which C++ does not reproduce;
    fuzz_ids, fuzz_decode
               random id lists (byte tokens included, so the bytes are often invalid UTF-8) and decode();
    mix_strings, mix_tokens
               2,000 seeded captions as the web writes them (curly quotes, ligatures, full-width forms,
               decomposed accents, C1 and other control characters, line breaks, HTML entities and tags,
               emoji, CJK, plain ASCII, mixes, and 5 with mojibake) and open_clip.tokenize of them;
    mix_matches_without_ftfy
               how many of them tokenize the same when open_clip skips ftfy (the C++ side before it
               reproduced ftfy);
    fix_cases  hand-picked cases of each ftfy fix: {fix, text, fixed: ftfy.fix_text, tokens}.
  tokenizer_reference.py DIR --fixes   writes only DIR/text_fixes_reference.json:
    fix_cases  as above, without tokens;
    mojibake   {text, fixed: ftfy.fix_text, without_fix_encoding: ftfy.fix_text(fix_encoding=False)}.

The `strings` are chosen so that ftfy changes nothing open_clip goes on to see (no mojibake, curly
quotes, full-width forms, ligatures, decomposed accents), so they test the tokenizer apart from ftfy's
fixes; this script checks that and fails naming any string where ftfy makes a difference.
"""
import html
import html.entities
import json
import os
import random
import sys
import unicodedata

import ftfy

SEED = 1234

CASES = [
    "",
    " ",
    "   \t\n  ",
    "a",
    "A",
    "!",
    "a photo of a cat",
    "A photo of a dog.",
    "a photo of a {}.",
    "An image of a Golden Retriever playing fetch in the park",
    "Two people riding bicycles down a busy city street at night.",
    "a close-up photo of a red apple on a wooden table",
    "This is a PHOTO of MANY things, including: apples, bananas & oranges!",
    "Hello, World!!!",
    "What?!?! Really...",
    "e.g. i.e. etc. U.S.A. a.m. p.m.",
    "(parentheses) [brackets] {braces} <angles>",
    "#hashtag @username $100 50% 3*4=12 a/b\\c ~tilde `tick` ^caret |pipe",
    "http://example.com/path?query=1&other=2#frag",
    "email: someone@example.org",
    "--- *** ___ === +++",
    "snake_case_name and kebab-case-name and CamelCaseName",
    "1234567890",
    "3.14159 2.71828 1,000,000 -42 +7",
    "in 2024-01-15 at 10:30:45",
    "room 101, floor 7b, 2nd place, 3rd, 4th, 21st",
    "007 James Bond",
    "½ ¼ ¾ ² ³ ¹",
    "Roman numerals Ⅻ Ⅳ ⅷ",
    "Arabic-Indic digits ٠١٢٣٤٥٦٧٨٩ and Devanagari ०१२",
    "Café crème brûlée à la française",
    "Müller über Straße Größe",
    "niño mañana España señor",
    "Ørsted smørrebrød Ærø Åland",
    "ÉCOLE ÉLÉMENTAIRE ÇA VA",
    "naïve façade coöperate",
    "Łódź Kraków Gdańsk Żółć",
    "Český Krumlov, Dvořák, Škoda",
    "İstanbul İzmir ISTANBUL",
    "ıi Iİ",
    "Η γρήγορη καφέ αλεπού πηδάει",
    "ΟΔΟΣ ΣΟΦΙΑΣ",
    "ΣΑΣ ΣΟΣ Σ ΑΣ",
    "ΚΑΛΗΜΕΡΑ ΚΟΣΜΕ",
    "ὈΔΥΣΣΕΎΣ",
    "Привет, мир! Как дела?",
    "МОСКВА — столица России",
    "Ёлка ЁЖИК ёж",
    "Київ Україна ЇЖАК",
    "東京タワーの夜景",
    "一只猫坐在垫子上。",
    "고양이가 매트 위에 앉아 있다",
    "日本語とEnglishのmixed文章123",
    "🐱 cat 🐶 dog",
    "I love pizza 🍕🍕🍕!",
    "thumbs up 👍🏽 and party 🎉",
    "rocket🚀launch",
    "heart ❤ star ★ arrow → check ✓",
    "math: ∑ ∫ √ ∞ ≈ ≠ ≤ ≥ ± × ÷",
    "currency: € £ ¥ ₹ ₩ ¢",
    "Tom &amp; Jerry",
    "&quot;quoted text&quot;",
    "it&#39;s a dog&#39;s life",
    "&lt;b&gt;bold&lt;/b&gt; and &lt;i&gt;italic&lt;/i&gt;",
    "&amp;lt;double&amp;gt; escaped",
    "AT&T and H&M and R&D",
    "fish &amp chips",
    "&copy 2020 ACME &reg;",
    "&copyright notice",
    "&ampfoo &ltbar &gtbaz",
    "caf&eacute; &agrave; la cr&egrave;me",
    "&Eacute;T&Eacute; &Uuml;BER",
    "smile &#x263A; and &#X263a; and &#9786;",
    "emoji by number &#128512; &#x1F600;",
    "&nbsp;non&nbsp;breaking&nbsp;spaces",
    "&hellip; &mdash; &ndash; &bull; &euro; &trade;",
    "&alpha;&beta;&gamma; &Omega; &Sigma;&Sigma;",
    "&unknown; &notanentity; &;",
    "&#; &#x; &#xZZ; &# 12",
    "&#65&#66&#67",
    "&#0; &#13; &#128; &#150; &#159; &#127; &#11;",
    "&#55296; &#1114112; &#99999999999999999999;",
    "&#xFFFE; &#xFDD0; &#x10FFFF;",
    "&apos;single&apos; &AMP; &LT;tag&GT; &QUOT;",
    "&notin; &not; &notit;",
    "&amp;amp; &amp;quot;",
    "multiple    spaces    between    words",
    "tabs\there\tand\tthere",
    "new\nlines\n\nand\r\nwindows",
    "   leading and trailing   ",
    "no\u00a0break\u00a0space",
    "ideographic\u3000space and em\u2003space and thin\u2009space",
    "mixed \t \n \u00a0 \u3000 whitespace",
    "it's a cat's toy",
    "don't won't can't shouldn't",
    "we're they've I'm you'll he'd",
    "IT'S DON'T WE'RE THEY'VE I'M YOU'LL HE'D",
    "rock'n'roll 'tis o'clock",
    "''s ''t '' ' 's",
    "the dogs' bones",
    "it'ſ odd",
    "<start_of_text>hello<end_of_text>",
    "<START_OF_TEXT> shouting <END_OF_TEXT>",
    "a<start_of_text>b<end_of_text>c",
    "<<start_of_text>> <start_of_text",
    "<|startoftext|> openai style <|endoftext|>",
    "<ſtart_of_text>",
    "</w> literal end of word",
    "supercalifragilisticexpialidocious",
    "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "abababababababababababab",
    "zzz qqq xxx jjj",
    "a" * 200,
]

WORDS = [
    "cat", "dog", "photo", "image", "picture", "of", "a", "the", "on", "in", "with", "and", "big", "small",
    "red", "blue", "green", "yellow", "running", "sitting", "beautiful", "landscape", "mountain", "river",
    "city", "street", "car", "bicycle", "person", "woman", "man", "child", "playing", "eating", "pizza",
    "sunset", "beach", "ocean", "forest", "snow", "winter", "summer", "painting", "sketch", "rendering",
    "Café", "über", "niño", "smørrebrød", "façade", "Łódź", "ΟΔΟΣ", "γάτα", "σκύλος", "кошка", "СОБАКА",
    "東京", "猫", "고양이", "🐱", "🌅", "42", "2024", "3.5", "½", "it's", "don't", "we're", "you'll",
    "&amp;", "&quot;", "&#39;", "&lt;b&gt;", "&eacute;", "&nbsp;", "U.S.A.", "e-mail", "#tag", "@user",
    "ΣΑΣ", "İstanbul", "ПРИВЕТ", "Ёж",
]
FUZZ_PIECES = [
    lambda rng: chr(rng.randrange(0x20, 0x7F)),
    lambda rng: chr(rng.randrange(0xA0, 0x250)),
    lambda rng: chr(rng.randrange(0x300, 0x530)),  # combining marks, Greek, Cyrillic
    lambda rng: rng.choice("ΣΣΣσςΑα'\u0301\u0345\u00ad."),
    lambda rng: chr(rng.randrange(0x4E00, 0x4E80)),
    lambda rng: chr(rng.randrange(0x1F300, 0x1F700)),
    lambda rng: chr(rng.choice([rng.randrange(1, 0xD800), rng.randrange(0xE000, 0x110000)])),
    lambda rng: rng.choice([" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u1680", "\u2000",
                            "\u200b", "\u2028", "\u3000", "\ufeff", "\u180e"]),
    lambda rng: "&" + rng.choice(ENTITY_NAMES) + rng.choice(["", ";", "x", "; ", "1"]),
    lambda rng: "&#" + rng.choice(["", "x", "X"]) + str(rng.randrange(0, 0x200000)) + rng.choice(["", ";"]),
    lambda rng: "&#x" + format(rng.randrange(0, 0x120000), rng.choice(["x", "X"])) + rng.choice(["", ";"]),
    lambda rng: rng.choice(["'s", "'S", "'t", "'re", "'ve", "'m", "'ll", "'d", "'ſ", "<start_of_text>", "<end_of_text>",
                            "<START_OF_TEXT>", "İ", "K", "&amp;", "&", "&#", "&#x"]),
    lambda rng: str(rng.randrange(0, 10**6)),
]
# The names data/clip_tokenizer.cpp knows (data/html_entities.h); others differ from open_clip by design.
ENTITY_NAMES = sorted(set(html.entities.name2codepoint) | {k for k in html.entities.html5 if not k.endswith(";")} | {"apos"})
SEPARATORS = [" ", " ", " ", "  ", "\t", "\n", ", ", ". ", "! ", "? ", " - ", "/", "", " & ", "...", "\u00a0"]
TEMPLATES = [
    "a photo of a {}.", "a blurry photo of the {}.", "a {} in the wild.", "a drawing of a {}.",
    "itap of a {}.", "a bad photo of the {}.", "art of the {}.", "a photo of my {}.",
    "a close-up photo of a {}.", "the origami {}.", "a tattoo of the {}.", "a 3D render of a {}.",
]


def random_strings(rng, count):
    out = []
    for _ in range(count):
        kind = rng.randrange(4)
        if kind == 0:  # a template around a random word or two
            out.append(rng.choice(TEMPLATES).format(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 2)))))
        elif kind == 1:  # a caption-length mix
            n = rng.randint(3, 20)
            out.append("".join(rng.choice(WORDS) + rng.choice(SEPARATORS) for _ in range(n)))
        elif kind == 2:  # a long text: well past 77 tokens
            n = rng.randint(60, 160)
            out.append(" ".join(rng.choice(WORDS) for _ in range(n)))
        else:  # fragments of the hand-written cases glued together, random case
            parts = [rng.choice(CASES[1:]) for _ in range(rng.randint(2, 4))]
            text = rng.choice(SEPARATORS).join(parts)
            # Upper-case entity names are ones ftfy decodes and html.unescape does not: keep '&' texts as they are.
            out.append(text.upper() if rng.random() < 0.25 and "&" not in text else text)
    return out


def fuzz_strings(rng, count):
    return ["".join(rng.choice(FUZZ_PIECES)(rng) for _ in range(rng.randrange(0, 40))) for _ in range(count)]


def clean_without_ftfy(text):
    text = html.unescape(html.unescape(text)).strip()
    return " ".join(text.split()).strip().lower()


# --- ftfy: hand-picked cases of each fix, and a realistic caption mix -------------------------------

# (fix, text): each of ftfy.fix_text's steps that data/text_fixes.cpp reproduces, and its corners.
FIX_CASES = [
    ("unescape_html", "Tom &amp; Jerry &quot;live&quot; it&#8217;s &#x2019; &#X2019;"),
    ("unescape_html", "&rsquo;quoted&lsquo; &ldquo;double&rdquo; &hellip; &mdash; &nbsp;x"),
    ("unescape_html", "P&EACUTE;REZ BUNDESSTRA&SZLIG;E &ntilde; &Ntilde; &NTILDE; &nTILDE;"),
    ("unescape_html", "&hearts; &check; &Jscr;ohn &HilbertSpace; &NotEqualTilde; &acE; &frac12; &sup2;"),
    ("unescape_html", "&amp;amp;lt; &amp;rsquo; &amp;#39;"),
    ("unescape_html", "&#59; &#x3b; &#12ab; &#xZZ; &#x; &#; &amp &copy;"),
    ("unescape_html", "&#0; &#1; &#13; &#128; &#150; &#159; &#xFFFE; &#55296; &#1114112; "
                      "&#99999999999999999999;"),
    ("unescape_html", "&abcdefghijklmnopqrstuvwxy; &abcdefghijklmnopqrstuvwx; &notin; &notit; &;"),
    ("unescape_html", "<b>bold</b> &amp; &eacute; &rsquo;"),
    ("unescape_html", "first &rsquo; line\nsecond <i> &rsquo;\nthird &rsquo; &amp;hearts;"),
    ("unescape_html", "&amp\u037e NFC makes the ';'"),
    ("fix_c1_controls", "\x80 \x82 \x85 \x91quoted\x92 \x93x\x94 \x96 \x97 \x99 \x9c\x9f"),
    ("fix_c1_controls", "\x81\x8d\x8f\x90\x9d stay, Hello\x85 I\x92m"),
    ("fix_latin_ligatures", "\ufb01eld \ufb02ower co\ufb00ee o\ufb03ce wa\ufb04e \ufb05 \ufb06"),
    ("fix_latin_ligatures", "\u0132sselmeer \u0133s \u01c4 \u01c5 \u01c6 \u01c7 \u01c8 \u01cb \u01f2 \u0149"),
    ("fix_character_width", "\uff2c\uff2f\uff35\uff24\u3000\uff2e\uff2f\uff29\uff33\uff25\uff33 "
                            "\uff11\uff12\uff13\uff05 \uff20\uff55"),
    ("fix_character_width", "\uff76\uff9e\uff72\uff84\uff9e \uff8a\uff9f\uff9d \uffa1\uffa2 \uffe3 \uffe0 \uffe6 "
                            "\uff5f"),
    ("uncurl_quotes", "it\u2019s \u201cquoted\u201d \u2018single\u2019 \u201elow\u201c \u201brev\u201f "
                      "\u02bbokina \u02bc"),
    ("fix_line_breaks", "a\r\nb\rc\u2028d\u2029e \r\r\n one\n\ntwo"),
    ("remove_terminal_escapes", "\x1b[1;31mred\x1b[0m \x1b[m \x1b[12;\u06634H \x1b[31 \x1b(B \x1b[\uff11m"),
    ("remove_control_chars", "\ufeffstart a\x00b\x07c\x0bd\x1fe\x7ff \u206a\u206f "
                             "\ufff9\ufffa\ufffb\ufffc"),
    ("remove_control_chars", "kept: \u200b\u200c\u200d\u200e\u202a\u2066 tab\tform\x0cfeed \U000e0067"),
    ("normalization", "cafe\u0301 Zoe\u0308 A\u030a \u212b \u037e e\u0302\u0323 \u1100\u1161\u11a8"),
    ("normalization", "Vie\u0323\u0302t Nam, \u1112\u1161\u11ab\u1100\u116e\u11a8, \u0915\u093c \u00e9\u0301"),
    # ftfy fixes a line longer than max_decode_length in pieces: the accent cannot join its letter.
    ("max_decode_length", "a " * 499999 + "ae\u0301 and e\u0301"),
]
# Mojibake, which data/text_fixes.cpp does not repair (ftfy's fix_encoding).
MOJIBAKE = ["caf\u00c3\u00a9", "it\u00e2\u20ac\u2122s", "\u00c3\u00a0 la mode",
            "\u00e2\u20ac\u0153quoted\u00e2\u20ac\x9d", "\u00c3\xa0 bient\u00f4t", "\u00c2\u00a0non-breaking",
            "sch\u00c3\u00b6n"]

MIX_SUBJECTS = ["a dog", "two cats", "a man", "a woman", "the children", "an old car", "a red bicycle", "a chef",
                "a group of friends", "a brown horse", "the city skyline", "a small boat", "a coffee cup",
                "an office desk", "a field of flowers", "a waffle", "the soccer team", "a street musician"]
MIX_ACTIONS = ["sitting on", "running through", "standing next to", "looking at", "parked near", "floating on",
               "playing in", "lying under", "walking along", "flying over"]
MIX_PLACES = ["the beach", "a wooden table", "the park", "a busy street", "the snow", "a kitchen counter",
              "the river", "an empty road", "the mountains at sunset", "a crowded market"]
MIX_TAILS = ["", ".", "!", " at night.", " in the rain", ", 4k photo", " - stock image", " (2019)", " #travel",
             " | free download", "..."]
ACCENTED = ["café", "naïve", "Zoë", "São Paulo", "Ångström", "crème brûlée", "jalapeño", "Mötley Crüe", "Tiếng Việt",
            "Ελληνικά", "Đà Nẵng", "Øresund", "Škoda", "façade", "résumé", "piñata", "Kraków", "Ærøskøbing"]
SCRIPTS = ["東京の夜景", "一只猫坐在垫子上", "고양이가 매트 위에 앉아 있다", "서울 야경", "富士山と桜", "ราตรีสวัสดิ์",
           "مرحبا بالعالم", "नमस्ते दुनिया", "Привет, мир", "北京烤鸭", "カフェでコーヒー", "ｶﾌｪ"]
EMOJI = ["🐶", "😂", "❤️", "👍🏽", "🇫🇷", "👨\u200d👩\u200d👧", "1️⃣", "🎉🎉", "☕", "🌅", "✨", "🏳️\u200d🌈"]
ENTITIES = ["&amp;", "&quot;", "&#39;", "&rsquo;", "&ldquo;", "&rdquo;", "&hellip;", "&nbsp;", "&eacute;", "&mdash;",
            "&EACUTE;", "&hearts;", "&#8217;", "&#x2019;", "&amp;amp;", "&copy;", "&trade;", "&frac12;"]
CONTROLS = ["\x85", "\x92", "\x96", "\x93", "\x94", "\x00", "\x7f", "\u200b", "\x0b", "\x0c", "\x1b[1m", "\x1b[0m",
            "\u2060", "\x08"]
BREAKS = ["\r\n", "\r", "\u2028", "\u2029", "\n\n", "\n"]


def caption(rng):
    return (rng.choice(MIX_SUBJECTS) + " " + rng.choice(MIX_ACTIONS) + " " + rng.choice(MIX_PLACES) +
            rng.choice(MIX_TAILS))


def flavour(rng, kind, text):
    """`text` with one kind of what ftfy rewrites (or keeps), the way web captions carry it."""
    words = text.split(" ")
    at = rng.randrange(len(words) + 1)
    insert = lambda piece, sep=" ": sep.join(words[:at] + [piece] + words[at:])
    if kind == "curly":
        text = rng.choice(["\u201c{}\u201d", "\u2018{}\u2019", "{}", "\u201e{}\u201c"]).format(text)
        return text.replace("a ", rng.choice(["it\u2019s a ", "a ", "don\u2019t miss a "]), 1)
    if kind == "ligature":
        return text.replace("fi", "\ufb01").replace("ffi", "\ufb03").replace("ff", "\ufb00").replace("fl", "\ufb02") + \
            rng.choice([" \ufb01ne art", " o\ufb03ce", " \ufb02ight", " \ufb06yle"])
    if kind == "width":
        word = rng.choice(words)
        wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)
        return insert(rng.choice([wide, "\uff2e\uff25\uff37\u3000" + word, "\uff76\uff9e\uff72\uff84\uff9e",
                                  "\uff11\uff10\uff05 off", "\u3000"]))
    if kind == "nfd":
        return insert(unicodedata.normalize("NFD", rng.choice(ACCENTED)))
    if kind == "accents":
        return insert(rng.choice(ACCENTED))
    if kind == "control":
        return insert(rng.choice(CONTROLS), rng.choice(["", " "])) if rng.random() < 0.8 else "\ufeff" + text
    if kind == "breaks":
        return text + rng.choice(BREAKS) + caption(rng)
    if kind == "html":
        piece = rng.choice(ENTITIES)
        text = insert(piece, rng.choice([" ", ""]))
        return rng.choice([text, text, text, "<b>" + text + "</b>", text + "<br>" + caption(rng)])
    if kind == "emoji":
        return insert(rng.choice(EMOJI), rng.choice([" ", ""]))
    if kind == "cjk":
        return rng.choice([insert(rng.choice(SCRIPTS)), rng.choice(SCRIPTS),
                           unicodedata.normalize("NFD", rng.choice(SCRIPTS))])
    if kind == "mojibake":
        return insert(rng.choice(MOJIBAKE))
    return text


# Shares of the mix, per mille; besides, MIX_MOJIBAKE captions at seeded places carry mojibake, as rare
# as in web text (data/text_fixes.cpp does not repair it, so these are the ones expected to differ).
MIX_KINDS = [("plain", 330), ("curly", 100), ("ligature", 40), ("width", 50), ("nfd", 70), ("accents", 30),
             ("control", 50), ("breaks", 50), ("html", 80), ("emoji", 50), ("cjk", 50), ("mixed", 100)]
MIX_MOJIBAKE = 5


def caption_mix(count):
    rng = random.Random(SEED + 1)  # its own stream: the other strings stay as they were
    kinds = [k for k, share in MIX_KINDS for _ in range(share)]
    simple = [k for k, _ in MIX_KINDS if k not in ("plain", "mixed")]
    mojibake = set(rng.sample(range(count), MIX_MOJIBAKE))
    out = []
    for i in range(count):
        kind = "mojibake" if i in mojibake else rng.choice(kinds)
        text = caption(rng)
        for k in rng.sample(simple, rng.randint(2, 3)) if kind == "mixed" else [kind]:
            text = flavour(rng, k, text)
        out.append(text.upper() if rng.random() < 0.05 else text)
    return out


def fixes_reference():
    """ftfy.fix_text of each hand-picked case (what data/text_fixes.cpp must give), and the mojibake
    with fix_encoding's answer and the one without it."""
    return {
        "ftfy": ftfy.__version__,
        "fix_cases": [{"fix": f, "text": t, "fixed": ftfy.fix_text(t)} for f, t in FIX_CASES],
        "mojibake": [{"text": t, "fixed": ftfy.fix_text(t),
                      "without_fix_encoding": ftfy.fix_text(t, fix_encoding=False)} for t in MOJIBAKE],
    }


def clean_without_fix_encoding(text):
    return clean_without_ftfy(ftfy.fix_text(text, fix_encoding=False))


def main():
    out_dir = sys.argv[1]
    if sys.argv[2:] == ["--fixes"]:
        with open(os.path.join(out_dir, "text_fixes_reference.json"), "w", encoding="utf-8") as f:
            json.dump(fixes_reference(), f, ensure_ascii=False)
        return
    # Only here: importing open_clip (and torch) takes seconds the --fixes run does without.
    import open_clip
    from open_clip import tokenizer as oc_tokenizer

    rng = random.Random(SEED)
    strings = CASES + random_strings(rng, 640)
    changed = [s for s in strings if oc_tokenizer._clean_lower(s) != clean_without_ftfy(s)]
    if changed:
        print("ftfy.fix_text changes these strings; choose others:", *map(repr, changed[:20]), sep="\n  ")
        sys.exit(1)
    encode = [oc_tokenizer._tokenizer.encode(s) for s in strings]
    reference = {
        "open_clip": open_clip.__version__,
        "strings": strings,
        "tokens": open_clip.tokenize(strings).tolist(),
        "tokens_16": open_clip.tokenize(strings, context_length=16).tolist(),
        "encode": encode,
        "decode": [oc_tokenizer._tokenizer.decode(e) for e in encode],
    }
    no_encoding_fix = oc_tokenizer.SimpleTokenizer()
    no_encoding_fix.clean_fn = clean_without_fix_encoding
    reference["fuzz_strings"] = fuzz_strings(rng, 3000)
    reference["fuzz_encode"] = [no_encoding_fix.encode(s) for s in reference["fuzz_strings"]]
    reference["fuzz_ids"] = [[rng.randrange(0, rng.choice([512, 49408])) for _ in range(rng.randrange(0, 12))] for _ in range(3000)]
    reference["fuzz_decode"] = [no_encoding_fix.decode(ids) for ids in reference["fuzz_ids"]]
    reference["mix_strings"] = caption_mix(2000)
    reference["mix_tokens"] = open_clip.tokenize(reference["mix_strings"]).tolist()
    # What the C++ tokenizer gave before it ran ftfy's fixes: open_clip's ids without ftfy.
    no_ftfy = oc_tokenizer.SimpleTokenizer()
    no_ftfy.clean_fn = clean_without_ftfy
    reference["mix_matches_without_ftfy"] = sum(
        no_ftfy(s).tolist()[0] == t for s, t in zip(reference["mix_strings"], reference["mix_tokens"]))
    reference["fix_cases"] = [dict(c, tokens=open_clip.tokenize([c["text"]]).tolist()[0])
                              for c in fixes_reference()["fix_cases"]]
    with open(os.path.join(out_dir, "tokenizer_reference.json"), "w", encoding="utf-8") as f:
        json.dump(reference, f, ensure_ascii=False)
    print(f"{len(strings)} strings, {sum(len(e) + 2 > 77 for e in encode)} longer than 77 tokens; caption mix: "
          f"{reference['mix_matches_without_ftfy']} of {len(reference['mix_strings'])} tokenize the same without ftfy")


if __name__ == "__main__":
    main()
