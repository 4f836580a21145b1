"""Reference tokenizations for tests/data/test_clip_tokenizer.cpp (loom::data::ClipTokenizer).

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
               contractions, special tokens), and their ids from open_clip's SimpleTokenizer with ftfy
               left out of its cleaning (ftfy would rewrite much of such text; see below);
    fuzz_ids, fuzz_decode
               random id lists (byte tokens included, so the bytes are often invalid UTF-8) and decode().

open_clip cleans text with ftfy.fix_text, which the C++ tokenizer does not reproduce (see
data/clip_tokenizer.h). The strings are chosen so that ftfy changes nothing open_clip goes on to see
(no mojibake, curly quotes, full-width forms, ligatures, decomposed accents); this script checks that and
fails naming any string where ftfy makes a difference.
"""
import html
import html.entities
import json
import os
import random
import sys

import open_clip
from open_clip import tokenizer as oc_tokenizer

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


def main():
    out_dir = sys.argv[1]
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
    no_ftfy = oc_tokenizer.SimpleTokenizer()
    no_ftfy.clean_fn = clean_without_ftfy
    reference["fuzz_strings"] = fuzz_strings(rng, 3000)
    reference["fuzz_encode"] = [no_ftfy.encode(s) for s in reference["fuzz_strings"]]
    reference["fuzz_ids"] = [[rng.randrange(0, rng.choice([512, 49408])) for _ in range(rng.randrange(0, 12))] for _ in range(3000)]
    reference["fuzz_decode"] = [no_ftfy.decode(ids) for ids in reference["fuzz_ids"]]
    with open(os.path.join(out_dir, "tokenizer_reference.json"), "w", encoding="utf-8") as f:
        json.dump(reference, f, ensure_ascii=False)
    print(f"{len(strings)} strings, {sum(len(e) + 2 > 77 for e in encode)} longer than 77 tokens")


if __name__ == "__main__":
    main()
