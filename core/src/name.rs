//! Names of events, queues and schedules.
//!
//! Architect's rule, which eventfn keeps so that `app.arc` stays valid for Architect's tools and
//! every name can become an SNS topic, SQS queue or rule name: start with a letter; letters,
//! digits, `-`, `.` and `_` only; at most 240 characters.

/// The longest name accepted, in characters.
pub const MAX_NAME_LEN: usize = 240;

/// Checks an event, queue or schedule name; the error says what is wrong with it.
pub fn validate_name(name: &str) -> Result<(), String> {
    let Some(first) = name.chars().next() else {
        return Err("name is empty: it must start with a letter".to_owned());
    };
    if !first.is_ascii_alphabetic() {
        return Err(format!(
            "name `{name}` starts with `{first}`: names must start with a letter (a-z, A-Z)"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Err(format!(
            "name `{name}` contains `{}`: names may contain only letters, digits, `-`, `.` and `_`",
            bad.escape_default()
        ));
    }
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Err(format!(
            "name is {len} characters long: names may be at most {MAX_NAME_LEN} characters"
        ));
    }
    Ok(())
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
}
