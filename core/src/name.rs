//! Names of events, queues and schedules.
//!
//! Architect's rule, which eventfn keeps so that `app.arc` stays valid for Architect's tools:
//! start with a letter; letters,
//! digits, `-`, `.` and `_` only; at most 240 characters. Architect's reader of `app.arc` also
//! refuses names that end with `.`, hold `..`, or start with `aws` or `amazon` (in any case, names
//! AWS reserves), so they are refused here too. AWS resource names are stricter still (no `.` in
//! SNS topic names, 80 characters for SQS queues): deployment derives them from these names
//! rather than using them as they are.

/// The longest name accepted, in characters.
pub const MAX_NAME_LEN: usize = 240;

/// Checks an event, queue or schedule name; the error says what is wrong with it, to follow
/// words like "invalid event name: ".
pub fn validate_name(name: &str) -> Result<(), String> {
    let Some(first) = name.chars().next() else {
        return Err("it is empty: names start with a letter".to_owned());
    };
    // A name from outside (a request, a command line) may be of any length: quoted bounded.
    let quoted = crate::quote::excerpt(name);
    if !first.is_ascii_alphabetic() {
        return Err(format!(
            "`{quoted}` starts with `{first}`: names must start with a letter (a-z, A-Z)"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Err(format!(
            "`{quoted}` contains `{}`: names may contain only letters, digits, `-`, `.` and `_`",
            bad.escape_default()
        ));
    }
    if name.ends_with('.') {
        return Err(format!(
            "`{quoted}` ends with `.`: names may not end with a period"
        ));
    }
    if name.contains("..") {
        return Err(format!(
            "`{quoted}` contains `..`: names may not hold successive periods"
        ));
    }
    let lower = name.to_ascii_lowercase();
    if let Some(prefix) = ["amazon", "aws"].into_iter().find(|p| lower.starts_with(p)) {
        return Err(format!(
            "`{quoted}` starts with `{}`: names starting with `aws` or `amazon` are reserved by AWS",
            &name[..prefix.len()]
        ));
    }
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Err(format!(
            "it is {len} characters long: names may be at most {MAX_NAME_LEN} characters"
        ));
    }
    Ok(())
}

/// The name among `known` that `name` most likely meant to be: one that differs from it by at
/// most a third of its characters (a typo, a letter left out or doubled, two swapped), the
/// closest first, else none. Names that differ only in case are always offered.
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let length = name.chars().count();
    if length > MAX_NAME_LEN {
        // No name is that long: nothing is near, and comparing would cost length × length.
        return None;
    }
    let most = (length / 3).max(1);
    known
        .into_iter()
        .filter(|k| *k != name)
        .map(|k| {
            let distance = if k.eq_ignore_ascii_case(name) {
                0
            } else {
                strsim::damerau_levenshtein(name, k)
            };
            (distance, k)
        })
        .filter(|(distance, _)| *distance <= most)
        .min()
        .map(|(_, k)| k)
}

/// A space and "(did you mean `NAME`?)" when [`closest`] finds a NAME, else nothing: to follow
/// a name the app does not have in an error.
pub fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, known).map_or_else(String::new, |k| format!(" (did you mean `{k}`?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_architect_names() {
        for ok in [
            "account-signup",
            "user.joined",
            "a",
            "thumbnails_v2",
            "A1-b.c_d",
        ] {
            assert_eq!(validate_name(ok), Ok(()), "{ok}");
        }
        assert_eq!(validate_name(&"a".repeat(240)), Ok(()));
    }

    #[test]
    fn rejects_with_reason() {
        assert!(validate_name("").unwrap_err().contains("empty"));
        assert!(
            validate_name("1abc")
                .unwrap_err()
                .contains("starts with `1`")
        );
        assert!(
            validate_name("-abc")
                .unwrap_err()
                .contains("must start with a letter")
        );
        assert!(validate_name("a b").unwrap_err().contains("contains ` `"));
        assert!(validate_name("a/b").unwrap_err().contains("contains `/`"));
        assert!(
            validate_name("café")
                .unwrap_err()
                .contains("contains `\\u{e9}`")
        );
        assert!(
            validate_name(&"a".repeat(241))
                .unwrap_err()
                .contains("241 characters")
        );
    }

    #[test]
    fn the_closest_known_name_is_suggested() {
        let known = [
            "account-signup",
            "account-check-email",
            "thumbnails",
            "invoices",
        ];
        assert_eq!(closest("acount-signup", known), Some("account-signup"));
        assert_eq!(closest("account-sginup", known), Some("account-signup"));
        assert_eq!(closest("invoice", known), Some("invoices"));
        assert_eq!(closest("Thumbnails", known), Some("thumbnails"));
        assert_eq!(closest("billing", known), None);
        assert_eq!(closest("ab", ["cd"]), None);
        assert_eq!(closest("thumbnails", known), None, "not itself");
        assert_eq!(
            did_you_mean("invoice", known),
            " (did you mean `invoices`?)"
        );
        assert_eq!(did_you_mean("billing", known), "");
        assert_eq!(closest(&"a".repeat(16 * 1024), ["a"]), None);
    }
}
