//! EventBridge patterns: what the engine shares with SNS filters, what it adds, and where the
//! two differ, each case with its source (UG: the EventBridge User Guide's "Event patterns" and
//! "Content filtering" pages; ER: as event-ruler decides, its code named).

use super::*;

const CASES: &[(&str, &str, bool)] = &[
    // The envelope's fields are keys like any (UG "Event patterns").
    (
        r#"{"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": ["uploads"]}}}"#,
        r#"{"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": "uploads"}}}"#,
        true,
    ),
    (
        r#"{"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": ["uploads"]}}}"#,
        r#"{"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": "other"}}}"#,
        false,
    ),
    // `resources` is an array: one of its values is enough (UG "Arrays in event patterns").
    (
        r#"{"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}"#,
        r#"{"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f", "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]}"#,
        true,
    ),
    // Numeric ranges (UG "Numeric matching").
    (
        r#"{"detail": {"amount": [{"numeric": [">=", 10000]}]}}"#,
        r#"{"detail-type": "BUDGET_ANALYSIS", "detail": {"amount": 10000}}"#,
        true,
    ),
    (
        r#"{"detail": {"amount": [{"numeric": [">=", 10000]}]}}"#,
        r#"{"detail": {"amount": 9999.999999}}"#,
        false,
    ),
    (
        r#"{"detail": {"amount": [{"numeric": [">=", 10000]}]}}"#,
        r#"{"detail": {"amount": "20000"}}"#,
        false,
    ),
    // Six decimals compare in EventBridge, five in SNS.
    (
        r#"{"n": [{"numeric": ["=", 1.000001]}]}"#,
        r#"{"n": 1.000002}"#,
        false,
    ),
    (
        r#"{"n": [{"numeric": ["=", 1.000001]}]}"#,
        r#"{"n": 1.000001}"#,
        true,
    ),
    // Wildcards (UG "Wildcard matching"; ER `WildcardParser`, `ByteMachine`).
    (
        r#"{"detail": {"key": [{"wildcard": "uploads/*.png"}]}}"#,
        r#"{"detail": {"key": "uploads/2026/cat.png"}}"#,
        true,
    ),
    (
        r#"{"detail": {"key": [{"wildcard": "uploads/*.png"}]}}"#,
        r#"{"detail": {"key": "uploads/cat.png.txt"}}"#,
        false,
    ),
    (r#"{"k": [{"wildcard": "*"}]}"#, r#"{"k": ""}"#, true),
    (r#"{"k": [{"wildcard": "a*b*c"}]}"#, r#"{"k": "abc"}"#, true),
    (
        r#"{"k": [{"wildcard": "a*b*c"}]}"#,
        r#"{"k": "acb"}"#,
        false,
    ),
    (
        r#"{"k": [{"wildcard": "a*bc"}]}"#,
        r#"{"k": "abcbc"}"#,
        true,
    ),
    (r#"{"k": [{"wildcard": "*ab"}]}"#, r#"{"k": "ab"}"#, true),
    (r#"{"k": [{"wildcard": "ab*ab"}]}"#, r#"{"k": "ab"}"#, false),
    (r#"{"k": [{"wildcard": "a\\*b"}]}"#, r#"{"k": "a*b"}"#, true),
    (
        r#"{"k": [{"wildcard": "a\\*b"}]}"#,
        r#"{"k": "axb"}"#,
        false,
    ),
    (
        r#"{"k": [{"wildcard": "a\\\\b"}]}"#,
        r#"{"k": "a\\b"}"#,
        true,
    ),
    (r#"{"k": [{"wildcard": "*"}]}"#, r#"{"k": 5}"#, false),
    // Prefix and suffix ignoring case (UG "Prefix matching while ignoring case").
    (
        r#"{"k": [{"prefix": {"equals-ignore-case": "IMG_"}}]}"#,
        r#"{"k": "img_01.png"}"#,
        true,
    ),
    (
        r#"{"k": [{"suffix": {"equals-ignore-case": ".PNG"}}]}"#,
        r#"{"k": "cat.png"}"#,
        true,
    ),
    (
        r#"{"k": [{"suffix": {"equals-ignore-case": ".PNG"}}]}"#,
        r#"{"k": "cat.jpg"}"#,
        false,
    ),
    // anything-but with operators and lists (UG "Anything-but matching").
    (
        r#"{"k": [{"anything-but": {"prefix": ["test-", "dev-"]}}]}"#,
        r#"{"k": "dev-1"}"#,
        false,
    ),
    (
        r#"{"k": [{"anything-but": {"prefix": ["test-", "dev-"]}}]}"#,
        r#"{"k": "prod-1"}"#,
        true,
    ),
    (
        r#"{"k": [{"anything-but": {"suffix": ".tmp"}}]}"#,
        r#"{"k": "a.tmp"}"#,
        false,
    ),
    (
        r#"{"k": [{"anything-but": {"equals-ignore-case": ["Alpha", "beta"]}}]}"#,
        r#"{"k": "ALPHA"}"#,
        false,
    ),
    (
        r#"{"k": [{"anything-but": {"equals-ignore-case": ["Alpha", "beta"]}}]}"#,
        r#"{"k": "gamma"}"#,
        true,
    ),
    (
        r#"{"k": [{"anything-but": {"wildcard": "*/lib/*"}}]}"#,
        r#"{"k": "/usr/lib/x"}"#,
        false,
    ),
    (
        r#"{"k": [{"anything-but": {"wildcard": "*/lib/*"}}]}"#,
        r#"{"k": "/usr/bin/x"}"#,
        true,
    ),
    // As `anything-but` with `prefix` (filter case 108): what is not a string passes.
    (
        r#"{"k": [{"anything-but": {"wildcard": "*"}}]}"#,
        r#"{"k": 5}"#,
        true,
    ),
    // `$or` over envelope and detail (UG "Content filtering", "$or matching").
    (
        r#"{"source": ["shop"], "$or": [{"detail-type": ["order.placed"]}, {"detail": {"total": [{"numeric": [">", 100]}]}}]}"#,
        r#"{"source": "shop", "detail-type": "order.paid", "detail": {"total": 150}}"#,
        true,
    ),
    (
        r#"{"source": ["shop"], "$or": [{"detail-type": ["order.placed"]}, {"detail": {"total": [{"numeric": [">", 100]}]}}]}"#,
        r#"{"source": "shop", "detail-type": "order.paid", "detail": {"total": 50}}"#,
        false,
    ),
    // exists and null (UG "Exists matching", "Matching null values and empty strings").
    (
        r#"{"detail": {"c-count": [{"exists": false}]}}"#,
        r#"{"detail": {"d-count": 3}}"#,
        true,
    ),
    (
        r#"{"detail": {"v": [null]}}"#,
        r#"{"detail": {"v": null}}"#,
        true,
    ),
    (
        r#"{"detail": {"v": [""]}}"#,
        r#"{"detail": {"v": null}}"#,
        false,
    ),
    // `null` is a value (ER `Event` keeps it; moto agrees): unlike in SNS filters, it exists.
    (
        r#"{"detail": {"v": [{"exists": true}]}}"#,
        r#"{"detail": {"v": null}}"#,
        true,
    ),
    (
        r#"{"detail": {"v": [{"exists": false}]}}"#,
        r#"{"detail": {"v": null}}"#,
        false,
    ),
    (
        r#"{"detail": {"v": [{"exists": false}]}}"#,
        r#"{"detail": {"w": null}}"#,
        true,
    ),
    // Arrays of objects keep their elements apart (ER `ACFinder`), as in filters.
    (
        r#"{"detail": {"items": {"sku": ["a"], "qty": [2]}}}"#,
        r#"{"detail": {"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]}}"#,
        false,
    ),
    (
        r#"{"detail": {"items": {"sku": ["a"], "qty": [2]}}}"#,
        r#"{"detail": {"items": [{"sku": "b", "qty": 1}, {"sku": "a", "qty": 2}]}}"#,
        true,
    ),
];

#[test]
fn patterns_match_as_eventbridge_matches_them() {
    let mut wrong = Vec::new();
    for (i, (pattern, event, expected)) in CASES.iter().enumerate() {
        let parsed = EventPattern::parse(pattern).unwrap_or_else(|e| panic!("{i}: {e}"));
        let event: Value = serde_json::from_str(event).unwrap();
        if parsed.matches(&event) != *expected {
            wrong.push(format!("{i}: {pattern} on {event}: expected {expected}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn refused(pattern: &str) -> String {
    match EventPattern::parse(pattern) {
        Ok(_) => panic!("accepted: {pattern}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_invalid_form_is_refused_with_where_and_why() {
    for (pattern, message) in [
        (
            r#"{"source": "aws.s3"}"#,
            "at `source`: a key takes an array of conditions, like [\"aws.s3\"], or an object of keys; not the string \"aws.s3\"",
        ),
        (
            "{}",
            "the pattern is empty: EventBridge refuses it; give the fields an event must have, like {\"source\": [\"...\"]}",
        ),
        (
            "[]",
            "a pattern is a JSON object of event fields, like {\"source\": [\"aws.s3\"]}, not an array",
        ),
        (
            r#"{"k": [{"wildcard": "a**b"}]}"#,
            "at `k[0].wildcard`: `a**b` has two `*` in a row, which EventBridge refuses: one `*` already stands for any characters",
        ),
        (
            r#"{"k": [{"wildcard": "a\\b"}]}"#,
            "at `k[0].wildcard`: `a\\b` has a `\\` that escapes neither `*` nor `\\`, which EventBridge refuses: write `\\*` for a star and `\\\\` for a backslash",
        ),
        (
            r#"{"k": [{"wildcard": ["a*"]}]}"#,
            "at `k[0].wildcard`: `wildcard` takes a string, like {\"wildcard\": \"abc\"}; not an array",
        ),
        (
            r#"{"k": [{"prefix": {"equals-ignore-case": 5}}]}"#,
            "at `k[0].prefix`: `prefix` takes a string, like {\"prefix\": \"abc\"}, or {\"equals-ignore-case\": \"abc\"} to ignore case; not this object",
        ),
        (
            r#"{"k": [{"anything-but": {"exists": true}}]}"#,
            "at `k[0].anything-but`: `anything-but` takes one operator, `prefix`, `suffix`, `equals-ignore-case` or `wildcard`, of a string or an array of strings, like {\"anything-but\": {\"prefix\": \"test-\"}}; EventBridge refuses `exists` there",
        ),
        (
            r#"{"k": [{"anything-but": {"prefix": ""}}]}"#,
            "at `k[0].anything-but.prefix`: an empty `prefix` would exclude every string: EventBridge refuses it",
        ),
        (
            r#"{"k": [{"anything-but": {"suffix": [1]}}]}"#,
            "at `k[0].anything-but.suffix[0]`: `suffix` lists strings; not the number 1",
        ),
        (
            r#"{"k": [{"numeric": [">", 6000000000]}]}"#,
            "at `k[0].numeric[1]`: 6000000000 is out of range: EventBridge compares numbers from -5000000000 to 5000000000",
        ),
        (
            r#"{"k": [{"numeric": [">", 0.0000001]}]}"#,
            "at `k[0].numeric[1]`: 1e-7 has more than six decimals, which EventBridge does not compare",
        ),
        (
            r#"{"k": [{"bogus": 1}]}"#,
            "at `k[0].bogus`: unknown operator `bogus`: expected one of `prefix`, `suffix`, `equals-ignore-case`, `anything-but`, `numeric`, `exists`, `cidr`, `wildcard`",
        ),
        (
            r#"{"$or": [{"a": ["x"]}]}"#,
            "at `$or`: `$or` takes an array of at least two objects of keys, like [{\"a\": [\"x\"]}, {\"b\": [\"y\"]}]: with only 1, EventBridge refuses it",
        ),
        (
            r#"{"detail": {"a": ["x"]}, "detail.a": ["y"]}"#,
            "the event path `detail.a` is given twice, so EventBridge would keep only the last of its arrays; put all its conditions in one array ({\"a\": {\"b\": ...}} and {\"a.b\": ...} are one path, and the keys beside `$or` join each of its policies)",
        ),
    ] {
        assert_eq!(refused(pattern), message, "{pattern}");
    }
}

#[test]
fn the_limits_are_eventbridges() {
    // Characters, not bytes: 2048 of them at most.
    let long = format!(r#"{{"k": ["{}"]}}"#, "é".repeat(MAX_PATTERN_CHARS - 11));
    assert!(long.len() > MAX_PATTERN_CHARS);
    EventPattern::parse(&long).unwrap();
    let too_long = format!(r#"{{"k": ["{}"]}}"#, "é".repeat(MAX_PATTERN_CHARS));
    assert_eq!(
        refused(&too_long),
        "the pattern is 2059 characters: EventBridge takes at most 2048 (its default quota); \
         match on fewer values, or on a prefix they share"
    );
    // More than SNS's five keys at the top, and more than its 150 combinations, are fine.
    let keys: Vec<String> = (0..8)
        .map(|i| format!(r#""k{i}": ["a", "b", "c"]"#))
        .collect();
    assert!(EventPattern::parse(&format!("{{{}}}", keys.join(", "))).is_ok());
    // `$or`s multiply: 11 × 10 × 10 is over 1000.
    let or = |n: usize, key: &str| {
        let policies: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"{key}{i}": ["x"]}}"#))
            .collect();
        format!(r#"{{"$or": [{}]}}"#, policies.join(", "))
    };
    let ten = format!(
        r#"{{"a": {}, "b": {}, "c": {}}}"#,
        or(10, "x"),
        or(10, "y"),
        or(10, "z")
    );
    assert!(EventPattern::parse(&ten).is_ok(), "1000 combinations");
    let eleven = ten.replacen(r#""x0": ["x"]}"#, r#""x0": ["x"]}, {"x10": ["x"]}"#, 1);
    assert_eq!(
        refused(&eleven),
        "the pattern's `$or`s make 1100 combinations: EventBridge takes at most 1000 (the \
         policies of each `$or` multiply with those of the others)"
    );
}

#[test]
fn sns_filters_refuse_what_only_eventbridge_takes() {
    for policy in [
        r#"{"k": [{"prefix": {"equals-ignore-case": "a"}}]}"#,
        r#"{"k": [{"anything-but": {"suffix": "a"}}]}"#,
        r#"{"k": [{"anything-but": {"prefix": ["a", "b"]}}]}"#,
        r#"{"k": [{"wildcard": "a*"}]}"#,
    ] {
        assert!(crate::FilterPolicy::parse(policy).is_err(), "{policy}");
        assert!(EventPattern::parse(policy).is_ok(), "{policy}");
    }
}

#[test]
fn bus_names() {
    assert_eq!(Bus::parse("default"), Ok(Bus::Default));
    assert_eq!(Bus::parse("budgets"), Ok(Bus::Own("budgets".into())));
    assert_eq!(
        Bus::parse("aws.partner/example.com/123/orders"),
        Ok(Bus::Partner("aws.partner/example.com/123/orders".into()))
    );
    let arn = "arn:aws:events:eu-west-1:123456789012:event-bus/shared";
    assert_eq!(Bus::parse(arn), Ok(Bus::Arn(arn.into())));
    for (bad, message) in [
        (
            "aws.partner/x",
            "`aws.partner/x` is not a partner bus: its name is its partner event source's, like `aws.partner/example.com/123456789012/orders`: `aws.partner` and at least two more parts of letters, digits, `.`, `-` and `_`, joined by `/`",
        ),
        (
            "aws.mine",
            "`aws.mine` starts with `aws.`, which only partner buses (`aws.partner/...`) may: name a bus of the app otherwise",
        ),
        (
            "my bus",
            "`my bus` contains ` `: names may contain only letters, digits, `-`, `.` and `_`; a bus is `default`, a partner bus `aws.partner/...`, the ARN of a bus, or a name for a bus of the app",
        ),
        (
            "arn:aws:sns:eu-west-1:123456789012:topic",
            "`arn:aws:sns:eu-west-1:123456789012:topic` is not an EventBridge ARN (an event bus ARN reads `arn:aws:events:REGION:ACCOUNT:event-bus/NAME`); its service is `sns`",
        ),
        (
            "arn:aws:events:eu-west-1:1234:event-bus/x",
            "`arn:aws:events:eu-west-1:1234:event-bus/x` has no valid account: an account is 12 digits; an event bus ARN reads `arn:aws:events:REGION:ACCOUNT:event-bus/NAME`",
        ),
        (
            "arn:aws:events:eu-west-1:123456789012:rule/x",
            "`arn:aws:events:eu-west-1:123456789012:rule/x` is not an event bus's ARN (an event bus ARN reads `arn:aws:events:REGION:ACCOUNT:event-bus/NAME`): a rule listens on a bus",
        ),
        (
            "",
            "it is empty: names start with a letter; a bus is `default`, a partner bus `aws.partner/...`, the ARN of a bus, or a name for a bus of the app",
        ),
    ] {
        assert_eq!(Bus::parse(bad).unwrap_err(), message, "{bad}");
    }
}

#[test]
fn events_put_on_a_bus_are_checked_as_put_events_checks_them() {
    assert_eq!(
        check_entry("shop", "order.placed", r#"{"id": 1}"#, false),
        Ok(())
    );
    assert_eq!(check_entry("aws.s3", "Object Created", "{}", true), Ok(()));
    for (source, detail_type, detail, message) in [
        (
            "",
            "t",
            "{}",
            "its source is empty: EventBridge needs one, like `shop.orders`",
        ),
        (
            "aws.s3",
            "t",
            "{}",
            "its source `aws.s3` starts with `aws.`, which AWS keeps for its own services' events",
        ),
        (
            "shop",
            "",
            "{}",
            "its detail type is empty: EventBridge needs one, like `order.placed`",
        ),
        (
            "shop",
            "t",
            "[1]",
            "its detail is not a JSON object ([1]): EventBridge takes only objects; wrap the value \
             in one, like {\"value\": ...}",
        ),
        (
            "shop",
            "t",
            "{\"a\": ",
            "its detail is not a JSON object ({\"a\": ): EventBridge takes only objects; wrap the \
             value in one, like {\"value\": ...}",
        ),
    ] {
        assert_eq!(
            check_entry(source, detail_type, detail, false).unwrap_err(),
            message,
            "{source} {detail_type} {detail}"
        );
    }
    // EventBridge counts the source, the detail type and the detail: 256 KB in all.
    let fits = format!(r#"{{"a": "{}"}}"#, "x".repeat(MAX_ENTRY_BYTES - 9 - 4 - 1));
    assert_eq!(entry_size("shop", "t", &fits, &[]), MAX_ENTRY_BYTES);
    assert_eq!(check_entry("shop", "t", &fits, false), Ok(()));
    let over = format!(r#"{{"a": "{}"}}"#, "x".repeat(MAX_ENTRY_BYTES - 9 - 4));
    assert_eq!(
        check_entry("shop", "t", &over, false).unwrap_err(),
        "the event is 262145 bytes (its source, detail type and detail): EventBridge takes at \
         most 262144. Store large data elsewhere (S3, a database) and put its key"
    );
}
