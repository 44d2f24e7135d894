//! Input quoted in an error, bounded: an error names what was wrong and where, but a payload
//! field of megabytes must not become a message of megabytes (in a Lambda error response, a log
//! line, a dead letter's attributes or an HTTP answer). Everywhere an error quotes a value it was
//! given, it quotes [`excerpt`] of it.

use std::borrow::Cow;

/// The most characters of a value that an error quotes.
pub const MAX_QUOTED_CHARS: usize = 200;

/// `text` as an error quotes it: whole when it has at most [`MAX_QUOTED_CHARS`] characters;
/// otherwise its first [`MAX_QUOTED_CHARS`] characters, then `…` and how long it was in all, so
/// that a reader knows it was cut.
pub fn excerpt(text: &str) -> Cow<'_, str> {
    excerpt_to(text, MAX_QUOTED_CHARS)
}

/// [`excerpt`] with a bound of `max_chars` characters.
pub fn excerpt_to(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!(
            "{}… ({} characters in all)",
            &text[..end],
            text.chars().count()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_quoted_whole() {
        assert_eq!(excerpt("account-signup"), "account-signup");
        let exactly = "x".repeat(MAX_QUOTED_CHARS);
        assert!(matches!(excerpt(&exactly), Cow::Borrowed(_)));
    }

    #[test]
    fn long_text_is_cut_and_says_its_length() {
        let long = "é".repeat(5_000_000);
        let quoted = excerpt(&long);
        assert!(quoted.starts_with(&"é".repeat(MAX_QUOTED_CHARS)));
        assert!(
            quoted.ends_with("… (5000000 characters in all)"),
            "{quoted}"
        );
        assert!(quoted.len() < 2 * MAX_QUOTED_CHARS + 40);
    }

    #[test]
    fn the_cut_falls_on_a_character_boundary() {
        assert_eq!(excerpt_to("aé😀b", 3), "aé😀… (4 characters in all)");
    }
}
