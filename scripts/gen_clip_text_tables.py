#!/usr/bin/env python3
"""Generates the character tables of the C++ CLIP tokenizer (data/clip_tokenizer.cpp):

  data/unicode_categories.h  how open_clip's pre-tokenizer regex classifies each code point, Python's
                             str.isspace / str.lower (with the Final_Sigma rule's Cased and
                             Case_Ignorable properties), and the non-ASCII letters that IGNORECASE
                             lets match the ASCII letters of the regex's literal alternatives;
  data/html_entities.h       the named and replaced numeric character references of
                             data/clip_tokenizer.cpp's HTML unescape (Python's html.unescape).

Every table is measured by probing the libraries open_clip itself runs (`regex` with its pattern and
flags, CPython's str methods) on every code point, not derived from the Unicode data files, so the
C++ side agrees with them even where they disagree with each other (e.g. U+001C..U+001F are spaces to
str.split but punctuation to regex's \\s; U+0345 matches none of the regex's classes under IGNORECASE).

Run with the venv Python whose open_clip the tests compare against (takes a few seconds):
  $LOOM_PYTHON scripts/gen_clip_text_tables.py
"""
import html
import html.entities
import os
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # loom_files, also when loaded by path
from loom_files import write_text

import regex

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODE_POINTS = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]  # UTF-8 cannot carry surrogates

# Token classes of the pre-tokenizer, in the order of the C++ enum TokenClass.
SKIP, LETTER, NUMBER, OTHER = range(4)


def provenance():
    return (f"Python {sys.version.split()[0]} (unicodedata {unicodedata.unidata_version}), "
            f"regex {regex.__version__}")


def runs_of(values):
    """[(first code point, value)] where value changes (value holds until the next first)."""
    out, last = [], None
    for c in CODE_POINTS:
        v = values(c)
        if v != last:
            out.append((c, v))
            last = v
    return out


def ranges_of(pred):
    """Closed [first, last] ranges of code points where pred holds."""
    out = []
    for c in CODE_POINTS:
        if pred(c):
            if out and out[-1][1] == c - 1:
                out[-1][1] = c
            else:
                out.append([c, c])
    return out


def lower_runs():
    """Single-code-point lower-case mappings as runs (first, last, delta, stride): every stride-th code
    point from first to last maps to itself + delta; plus the mappings to several code points."""
    single, multi = [], []
    for c in CODE_POINTS:
        low = chr(c).lower()
        if low == chr(c):
            continue
        if len(low) == 1:
            single.append((c, ord(low) - c))
        else:
            multi.append((c, [ord(x) for x in low]))
    runs = []
    for c, delta in single:
        if runs:
            first, last, d, stride = runs[-1]
            step = c - last
            if d == delta and (step == stride or (first == last and step in (1, 2))):
                runs[-1] = (first, c, d, step)
                continue
        runs.append((c, c, delta, 1))
    return runs, multi


def sigma_context():
    """Cased and Case_Ignorable as CPython's str.lower uses them for the Final_Sigma rule, measured:
    cased = Lowercase | Uppercase | Lt; ch + 'Σ' lowers to final 'ς' iff ch is cased and not
    ignorable; 'AΣ' + ch + 'B' keeps 'σ' iff ch is ignorable or cased."""
    cased = set(c for c in CODE_POINTS if chr(c).islower() or chr(c).istitle())
    ignorable = set()
    for c in CODE_POINTS:
        ch = chr(c)
        if c in cased:
            if (ch + "Σ").lower()[-1] != "ς":
                ignorable.add(c)
        elif ("AΣ" + ch + "B").lower()[1] == "σ":
            ignorable.add(c)
    return ranges_of(lambda c: c in cased), ranges_of(lambda c: c in ignorable)


def wrap(items, indent="    ", width=110):
    lines, line = [], indent
    for item in items:
        piece = item + ","
        if len(line) + len(piece) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += piece + " "
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


def unicode_header():
    letter = regex.compile(r"[\p{L}]", regex.IGNORECASE)
    number = regex.compile(r"[\p{N}]", regex.IGNORECASE)
    other = regex.compile(r"[^\s\p{L}\p{N}]", regex.IGNORECASE)

    def token_class(c):
        ch = chr(c)
        hits = [cls for cls, pat in ((LETTER, letter), (NUMBER, number), (OTHER, other)) if pat.fullmatch(ch)]
        assert len(hits) <= 1, f"U+{c:04X} is in several classes: the C++ run loop assumes one"
        return hits[0] if hits else SKIP

    classes = runs_of(token_class)
    spaces = ranges_of(lambda c: chr(c).isspace())
    low, multi = lower_runs()
    assert all(len(m) <= 3 for _, m in multi)
    cased, ignorable = sigma_context()
    ascii_letter = regex.compile(r"[a-z]", regex.IGNORECASE)
    caseless = []
    for c in CODE_POINTS:
        if c >= 0x80 and ascii_letter.fullmatch(chr(c)):
            matches = [a for a in "abcdefghijklmnopqrstuvwxyz" if regex.fullmatch(a, chr(c), regex.IGNORECASE)]
            assert len(matches) == 1
            caseless.append((c, matches[0]))

    names = {SKIP: "kSkip", LETTER: "kLetter", NUMBER: "kNumber", OTHER: "kOther"}
    rng = lambda r: f"{{0x{r[0]:X}, 0x{r[1]:X}}}"
    return f"""#pragma once
// GENERATED by scripts/gen_clip_text_tables.py from {provenance()}; do not edit, rerun the script.
// The character knowledge of open_clip's tokenizer (tokenizer.py, clean='lower'), measured on every
// code point: its pre-tokenizer regex (IGNORECASE) and CPython's str.isspace / str.lower.
#include <cstdint>

namespace loom::data::unicode {{

// Which alternative of "[\\p{{L}}]+|[\\p{{N}}]|[^\\s\\p{{L}}\\p{{N}}]+" a code point belongs to (kSkip: none,
// i.e. regex whitespace, plus U+0345, whose case folding is a letter).
enum class TokenClass : uint8_t {{ kSkip, kLetter, kNumber, kOther }};
struct ClassRun {{
  char32_t first;
  TokenClass cls;  // holds from `first` up to the next run's first (the last run to U+10FFFF)
}};
inline constexpr ClassRun kTokenClasses[] = {{
{wrap(f"{{0x{c:X}, TokenClass::{names[v]}}}" for c, v in classes)}
}};

struct Range {{
  char32_t first, last;  // inclusive
}};
// str.isspace(): what str.split() and str.strip() remove.
inline constexpr Range kSpaces[] = {{
{wrap(rng(r) for r in spaces)}
}};

// str.lower(), one code point to one: every `stride`-th code point from first to last maps to itself + delta.
struct LowerRun {{
  char32_t first, last;
  int32_t delta;
  uint8_t stride;
}};
inline constexpr LowerRun kLowerRuns[] = {{
{wrap(f"{{0x{a:X}, 0x{b:X}, {d}, {s}}}" for a, b, d, s in low)}
}};
// str.lower() mappings to several code points (0 ends a shorter one).
struct LowerMulti {{
  char32_t cp;
  char32_t lower[3];
}};
inline constexpr LowerMulti kLowerMulti[] = {{
{wrap(f"{{0x{c:X}, {{{', '.join(f'0x{x:X}' for x in (m + [0] * (3 - len(m))))}}}}}" for c, m in multi)}
}};

// Final_Sigma context of str.lower(): Cased and Case_Ignorable.
inline constexpr Range kCased[] = {{
{wrap(rng(r) for r in cased)}
}};
inline constexpr Range kCaseIgnorable[] = {{
{wrap(rng(r) for r in ignorable)}
}};

// Non-ASCII code points that match an ASCII letter of the regex's literals under IGNORECASE.
struct CaselessLetter {{
  char32_t cp;
  char ascii;
}};
inline constexpr CaselessLetter kCaselessLetters[] = {{
{wrap(f"{{0x{c:X}, '{a}'}}" for c, a in caseless)}
}};

}}  // namespace loom::data::unicode
"""


def entities_header():
    html5 = html.entities.html5
    legacy = {k for k in html5 if not k.endswith(";")}
    names = sorted(set(html.entities.name2codepoint) | legacy | {"apos"})
    rows = []
    for name in names:
        value = html5[name + ";"]
        assert len(value) == 1 and (name in legacy) == (name in html5)
        rows.append(f'{{"{name}", 0x{ord(value):X}, {"true" if name in legacy else "false"}}}')
    # data/clip_tokenizer.cpp drops these code points by a rule; make sure it is html.unescape's set.
    rule = {c for c in range(0x110000) if 0x1 <= c <= 0x8 or c == 0xB or 0xE <= c <= 0x1F or 0x7F <= c <= 0x9F
            or 0xFDD0 <= c <= 0xFDEF or (c & 0xFFFE) == 0xFFFE}
    assert rule == set(html._invalid_codepoints)
    replaced = [f"{{0x{n:X}, 0x{ord(v):X}}}" for n, v in sorted(html._invalid_charrefs.items())]
    return f"""#pragma once
// GENERATED by scripts/gen_clip_text_tables.py from {provenance()}; do not edit, rerun the script.
// The named character references data/clip_tokenizer.cpp unescapes: the 252 of HTML 4 (html.entities.
// name2codepoint), &apos;, and every name HTML 5 accepts without ';' (AMP, COPY, GT, LT, QUOT, REG and
// the HTML 4 Latin-1 names), with their HTML 5 values (html.entities.html5). Sorted by name.
#include <string_view>

namespace loom::data::html {{

struct Entity {{
  std::string_view name;  // without '&' and ';'
  char32_t cp;
  bool legacy;  // also recognised without the ';' (and as the prefix of a longer name)
}};
inline constexpr Entity kEntities[] = {{
{wrap(rows)}
}};

// Numeric references that html.unescape replaces by another code point (HTML 5: NUL, CR, and the
// Windows-1252 reading of 0x80..0x9F). Sorted by number.
struct CharrefReplacement {{
  char32_t number, cp;
}};
inline constexpr CharrefReplacement kCharrefReplacements[] = {{
{wrap(replaced)}
}};

}}  // namespace loom::data::html
"""


def main():
    for name, text in (("unicode_categories.h", unicode_header()), ("html_entities.h", entities_header())):
        path = os.path.join(ROOT, "data", name)
        write_text(path, text)
        print(f"wrote {path} ({text.count(chr(10))} lines)")


if __name__ == "__main__":
    main()
