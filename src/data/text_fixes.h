#pragma once
// ftfy.fix_text (ftfy 6.3.1, default TextFixerConfig) as open_clip's tokenizer runs it before its own
// cleaning, without the mojibake repair. Like ftfy, the text is fixed in segments (each up to and
// including a '\n', at most 1,000,000 code points), and each segment by repeating these steps until
// they change nothing:
//   unescape_html            "&name;" of ftfy's table (HTML 5 names written with ';', and upper-cased
//                            spellings such as &EACUTE;) and "&#number;"/"&#xhex;" with their ';'.
//                            "auto": off from the first segment that contains '<' to the end;
//   fix_c1_controls          U+0080..U+009F as Windows-1252 reads them (the five bytes it leaves
//                            undefined stay); U+0085 so becomes '…', never a line break;
//   fix_latin_ligatures      ﬁ → fi, ĳ → ij, ǆ → dž, ...;
//   fix_character_width      U+FF01..U+FFEF by their NFKC form (full-width ASCII, half-width kana and
//                            Hangul), U+3000 → ' ';
//   uncurl_quotes            U+02BC, U+2018..U+201B → ', U+201C..U+201F → ";
//   fix_line_breaks          "\r\n", '\r', U+2028, U+2029 → '\n';
//   fix_surrogates           nothing to do: UTF-8 cannot carry surrogates (invalid bytes are U+FFFD before);
//   remove_terminal_escapes  ESC '[' (\d | ';')* ASCII letter removed;
//   remove_control_chars     U+0000..U+0008, U+000B, U+000E..U+001F, U+007F, U+206A..U+206F, U+FEFF,
//                            U+FFF9..U+FFFC removed;
//   normalization            NFC (ICU's, Unicode 15; ftfy under Python 3.11 normalises by Unicode 14, so
//                            characters new in 15 may compose or reorder differently).
// The tables are ftfy's own, measured (data/ftfy_tables.h, scripts/gen_ftfy_tables.py).
// Not reproduced: fix_encoding, ftfy's mojibake repair (re-decoding text that ftfy's badness heuristic
// flags, e.g. "cafÃ©" → "café", "â€™" → "'", with restore_byte_a0, replace_lossy_sequences and
// decode_inconsistent_utf8). Such text keeps its characters here; text ftfy does not flag is fixed the same.
#include <string>
#include <string_view>

namespace loom::data {

std::u32string fix_text(std::u32string_view text);

}  // namespace loom::data
