//! Addresses as shown on screen. An endpoint may carry a user name and password
//! (`http://user:secret@host:4566`, an emulator behind a proxy that asks for them); they never
//! reach a status line, an error or `--help`, whose `[env: ...]` values are hidden.
//!
//! Each address is read with `http::Uri`, the parser the AWS SDK reads `--endpoint-url` with, so
//! what is taken out is what the SDK would take for the user name and password. An address it
//! cannot read is cut by RFC 3986's rule instead: the user name and password end at the last `@`
//! before the path.

use std::borrow::Cow;
use std::sync::OnceLock;

use http::Uri;

/// The user name and password of `url` with the `@` that ends them, as written in `url`, and
/// where they start; `None` when it has none.
fn userinfo(url: &str) -> Option<(usize, &str)> {
    let start = url.find("://")? + 3;
    // A URL begins with its scheme: a word that only holds one (a JSON payload, say) is not one.
    let scheme = &url[..start - 3];
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return None;
    }
    let authority = match url.parse::<Uri>() {
        Ok(uri) => {
            let authority = uri.authority()?.as_str();
            // The parsed authority is the text after `://`, as written.
            url[start..]
                .starts_with(authority)
                .then_some(authority.len())?
        }
        Err(_) => url[start..]
            .find(['/', '?', '#'])
            .unwrap_or(url.len() - start),
    };
    let at = url[start..start + authority].rfind('@')?;
    Some((start, &url[start..=start + at]))
}

/// `url` without its user name and password, as a person may see it.
pub fn url(url: &str) -> Cow<'_, str> {
    match userinfo(url) {
        Some((start, info)) => {
            Cow::Owned(format!("{}{}", &url[..start], &url[start + info.len()..]))
        }
        None => Cow::Borrowed(url),
    }
}

/// The user names and passwords that [`text`] takes out.
static HIDDEN: OnceLock<Vec<String>> = OnceLock::new();

/// Remembers the user name and password of each of `urls` that has some (every argument and
/// every address from the environment that the command was given), for [`text`] to take out of
/// whatever the command prints. Called once, at the start; later calls are ignored.
pub fn hide_userinfo_of<I, S>(urls: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    // Taken out where they follow a scheme's `://`, as in a URL, not wherever the same letters
    // stand.
    let hidden = urls
        .into_iter()
        .filter_map(|u| userinfo(u.as_ref()).map(|(_, info)| format!("://{info}")))
        .collect();
    let _ = HIDDEN.set(hidden);
}

/// `text` without any user name and password given with an endpoint (see
/// [`hide_userinfo_of`]): for what others wrote, like an SDK's error that quotes the endpoint.
pub fn text(text: &str) -> Cow<'_, str> {
    let mut text = Cow::Borrowed(text);
    for info in HIDDEN.get().into_iter().flatten() {
        if text.contains(info.as_str()) {
            text = Cow::Owned(text.replace(info.as_str(), "://"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_and_passwords_are_taken_out_of_urls_and_nothing_else() {
        for (given, shown) in [
            ("http://user:secret@127.0.0.1:1", "http://127.0.0.1:1"),
            ("http://user:secret@127.0.0.1:1/", "http://127.0.0.1:1/"),
            (
                "https://token@example.com/path?q=a@b",
                "https://example.com/path?q=a@b",
            ),
            ("http://user:se@cret@host", "http://host"),
            // Not URLs the SDK reads, cut all the same.
            ("http://user:secret@", "http://"),
            ("http://user:secret@exa mple.com/x", "http://exa mple.com/x"),
            // Nothing to take out.
            ("http://127.0.0.1:4566", "http://127.0.0.1:4566"),
            ("http://host/a@b", "http://host/a@b"),
            ("127.0.0.1:5000", "127.0.0.1:5000"),
            ("user@host", "user@host"),
            // A word that is not a URL, though it holds one.
            (
                r#"{"avatar": "https://ada@cdn.example/a.png"}"#,
                r#"{"avatar": "https://ada@cdn.example/a.png"}"#,
            ),
        ] {
            assert_eq!(url(given), shown, "{given}");
        }
    }

    #[test]
    fn an_sdk_error_quoting_an_endpoint_loses_its_password() {
        hide_userinfo_of([
            "eventfn",
            "--endpoint-url",
            "http://user:secret@",
            "{\"a\": 1}",
        ]);
        let error = "failed to apply endpoint `http://user:secret@` to request: invalid authority";
        assert_eq!(
            text(error),
            "failed to apply endpoint `http://` to request: invalid authority"
        );
        assert!(matches!(text("nothing to hide"), Cow::Borrowed(_)));
        // The same letters elsewhere are not a URL's: left as they are.
        assert_eq!(text("user:secret@ is a word"), "user:secret@ is a word");
    }
}
