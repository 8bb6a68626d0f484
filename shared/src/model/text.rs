//! Which characters a display name may not hold: those that change how the text *around* them
//! looks without being seen themselves. A name is shown to people (console, lists, audit), so a
//! right-to-left override (U+202E) makes `invoice<U+202E>fdp.exe` show as `invoiceexe.pdf`, and a
//! zero-width space could make two names that look alike differ.
//!
//! Refused: control characters (Unicode category Cc), line and paragraph separators (Zl, Zp) and
//! format characters (Cf: the bidi embeddings, overrides, isolates and marks, zero-width spaces,
//! the word joiner, the byte order mark, the soft hyphen, interlinear annotation marks, tag
//! characters, …). Allowed among the format characters: ZERO WIDTH NON-JOINER and ZERO WIDTH
//! JOINER (U+200C, U+200D), which emoji sequences and several scripts (Persian, the Indic ones)
//! need and which reorder nothing.

/// The format characters (category Cf, Unicode 15.1), as inclusive ranges.
const FORMAT: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// The joiners a name may hold although they are format characters (see the module doc).
const JOINERS: [char; 2] = ['\u{200C}', '\u{200D}'];

/// Whether `c` may not appear in a display name.
pub fn is_refused(c: char) -> bool {
    if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
        return true;
    }
    let code = u32::from(c);
    !JOINERS.contains(&c) && FORMAT.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
}

/// The first refused character of `text`, written `U+202E`, for an error message that names it
/// without echoing it (an echoed override would garble the message itself).
pub fn first_refused(text: &str) -> Option<String> {
    text.chars()
        .find(|&c| is_refused(c))
        .map(|c| format!("U+{:04X}", u32::from(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_and_invisible_characters_are_refused() {
        for c in [
            '\u{0000}',
            '\u{0007}',
            '\u{007F}',
            '\u{0085}',
            '\u{00AD}',
            '\u{061C}',
            '\u{200B}',
            '\u{200E}',
            '\u{200F}',
            '\u{202A}',
            '\u{202E}',
            '\u{2028}',
            '\u{2029}',
            '\u{2060}',
            '\u{2066}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{FFF9}',
            '\u{E0001}',
            '\u{E0041}',
        ] {
            assert!(is_refused(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn letters_marks_symbols_and_joiners_are_allowed() {
        for text in [
            "Zoë 日本 🚀",
            "שלום עולם",
            "مرحبا",
            "👨‍👩‍👧",
            "می‌خواهم",
            "e\u{0301}",
            "a-b_c.d",
        ] {
            assert_eq!(first_refused(text), None, "{text}");
        }
        assert_eq!(first_refused("ab\u{202E}cd"), Some("U+202E".into()));
        assert_eq!(first_refused("\u{E0041}"), Some("U+E0041".into()));
    }

    #[test]
    fn ranges_are_sorted_and_disjoint() {
        for pair in FORMAT.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{pair:?}");
        }
    }
}
