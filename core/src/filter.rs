//! Content filters: which payloads of an event a handler receives, as an Amazon SNS filter
//! policy applied to the message body (`FilterPolicyScope: MessageBody`).
//!
//! One definition, three users: the macros validate a `filter = r#"..."#` at compile time with
//! [`FilterPolicy::parse`]; `cargo eventfn build` writes the policy into the handler's SNS
//! subscription; the sandbox (and the test kit) decide delivery with [`FilterPolicy::matches`],
//! so a payload reaches the same handlers offline as on AWS.
//!
//! ```json
//! {
//!   "total": [{ "numeric": [">", 100] }],
//!   "country": ["NL", "BE"],
//!   "customer": { "tier": [{ "anything-but": "trial" }] },
//!   "$or": [{ "coupon": [{ "exists": true }] }, { "channel": [{ "prefix": "web" }] }]
//! }
//! ```
//!
//! # Grammar
//!
//! A policy is a JSON object. Each key names a property of the payload and holds either an array
//! of conditions, one of which must hold (OR), or an object of keys one level down. All keys must
//! hold (AND). `"$or": [{...}, {...}]` holds when one of its policies does. A condition is:
//!
//! | condition                               | holds for a value that                                       |
//! |-----------------------------------------|--------------------------------------------------------------|
//! | `"NL"`, `42`, `true`, `null`            | is that JSON value (`42` also matches `42.0`; never `"42"`)  |
//! | `{"prefix": "web"}`                     | is a string that begins with `web`                           |
//! | `{"suffix": ".png"}`                    | is a string that ends with `.png`                            |
//! | `{"equals-ignore-case": "nl"}`          | is a string equal to `nl` ignoring case                      |
//! | `{"anything-but": ["a", "b"]}`          | is not one of these (also a single string or number)         |
//! | `{"anything-but": {"prefix": "test-"}}` | is not a string that begins with `test-`                     |
//! | `{"numeric": [">", 0, "<=", 150]}`      | is a number in the range (`=`, `<`, `<=`, `>`, `>=`)         |
//! | `{"exists": true}` / `false`            | is present (not `null`) / is absent                          |
//! | `{"cidr": "10.0.0.0/24"}`               | is an IPv4 or IPv6 address string in the block               |
//!
//! A key names a path into the payload, its steps joined with dots: `{"customer": {"tier": [...]}}`
//! and `{"customer.tier": [...]}` are one key, and both reach the `"gold"` of
//! `{"customer": {"tier": "gold"}}` and of `{"customer.tier": "gold"}` alike. A policy that gives
//! one path twice is refused, since SNS would drop all but the last of its arrays.
//!
//! Where the payload holds an array, a condition holds when it holds for one of its values; the
//! keys that reach into an array of objects must all hold in one object of it. `{"exists": false}`
//! holds when the path has no value: in the whole payload, or, once a key before it (in sorted
//! order) has held in an object of the array, in that object. So `{"a": {"b": [{"exists": false}]}}`
//! does not match `{"a": [{"b": 1}, {"c": 2}]}`. `anything-but`, with `prefix` or without, lets
//! through a number, `true`, `false` and `null` as well as the strings it does not exclude.
//!
//! The docs are silent on these; they are how SNS's engine, AWS's event-ruler, matches
//! (`JsonRuleCompiler`, `Event` and `ACFinder` there), and the tests hold each case to it. A
//! payload that is not a JSON object matches no policy.
//!
//! # Limits
//!
//! These are Amazon SNS's, so a policy accepted at compile time deploys:
//!
//! - at most [`MAX_KEYS`] keys at the top (the keys of its `$or` policies included);
//! - at most [`MAX_COMBINATIONS`] combinations, counted as SNS counts them: each array gives
//!   its number of values times its depth, these multiply, and `$or` policies add up;
//! - numbers from -10⁹ to 10⁹ with at most five decimals;
//! - at most [`MAX_POLICY_BYTES`] of JSON.
//!
//! Not supported: `wildcard`, whose support in payload filters is not confirmed, and
//! `anything-but` with `suffix`, `wildcard` or `exists`, which Amazon SNS refuses.
//!
//! Why our own code: no maintained crate implements SNS filter policies. The JSON is read with
//! `serde_json` (through a tree that keeps duplicate keys, so that none is silently dropped);
//! what is ours is the grammar, its limits and the matching, each taken from the SNS docs and
//! from AWS's recorded answers, and where both are silent from event-ruler's source.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The most keys a policy may have at its top.
pub const MAX_KEYS: usize = 5;
/// The most combinations of values a policy may have.
pub const MAX_COMBINATIONS: u64 = 150;
/// The largest policy, in bytes of JSON.
pub const MAX_POLICY_BYTES: usize = 256 * 1024;
/// The largest magnitude of a number in a policy.
pub const MAX_NUMBER: f64 = 1e9;

const OR: &str = "$or";

/// A checked filter policy.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPolicy(Compiled);

/// A policy or pattern as event-ruler reads it, in its dialect.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Compiled {
    /// It holds when one of these does.
    rules: Vec<Rule>,
    json: Value,
    dialect: Dialect,
}

/// What is wrong with a policy, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// Where in the policy, like `total[0].numeric`; empty for the policy as a whole.
    pub path: String,
    /// What is wrong there, as a sentence for the user.
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "at `{}`: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for FilterError {}

/// Keys that all must hold, and `$or` policies of which one must.
#[derive(Debug, Clone, PartialEq)]
struct Group {
    fields: Vec<Field>,
    any: Vec<Group>,
}

#[derive(Debug, Clone, PartialEq)]
struct Field {
    key: String,
    test: Test,
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    /// One of these holds for a value of the key.
    Any(Vec<Condition>),
    /// The key holds an object that matches.
    Nested(Group),
}

#[derive(Debug, Clone, PartialEq)]
enum Condition {
    Exact(Scalar),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(String),
    AnythingBut(Vec<Scalar>),
    AnythingButPrefix(Vec<String>),
    /// The rest, EventBridge's only.
    PrefixIgnoreCase(String),
    SuffixIgnoreCase(String),
    Wildcard(Wildcard),
    AnythingButSuffix(Vec<String>),
    AnythingButIgnoreCase(Vec<String>),
    AnythingButWildcard(Vec<Wildcard>),
    Numeric {
        low: Option<Bound>,
        high: Option<Bound>,
    },
    Exists(bool),
    Cidr {
        network: IpAddr,
        bits: u8,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Bound {
    value: f64,
    inclusive: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    String(String),
    Number(f64),
    Bool(bool),
    Null,
}

impl FilterPolicy {
    /// Reads and checks a policy written as JSON.
    pub fn parse(text: &str) -> Result<FilterPolicy, FilterError> {
        Compiled::parse(text, Dialect::Sns).map(FilterPolicy)
    }

    /// Checks a policy already read, as found in `eventfn.json` or a registration record.
    pub fn from_value(value: &Value) -> Result<FilterPolicy, FilterError> {
        Compiled::from_value(value, Dialect::Sns).map(FilterPolicy)
    }

    /// The policy as JSON, for an SNS subscription's `FilterPolicy`.
    pub fn to_value(&self) -> &Value {
        &self.0.json
    }

    /// Whether a payload matches.
    pub fn matches(&self, payload: &Value) -> bool {
        self.0.matches(payload)
    }

    /// Whether a payload, as JSON text, matches; text that is not JSON never does.
    pub fn matches_json(&self, payload: &str) -> bool {
        self.0.matches_json(payload)
    }
}

impl Compiled {
    pub(crate) fn parse(text: &str, dialect: Dialect) -> Result<Compiled, FilterError> {
        dialect.check_size(text.len(), text.chars().count())?;
        let what = dialect.what();
        let tree: Tree = serde_json::from_str(text).map_err(|e| {
            whole(match e.classify() {
                serde_json::error::Category::Data => format!("the {what} cannot be read: {e}"),
                _ => format!("the {what} is not valid JSON: {e}"),
            })
        })?;
        Compiled::check(&tree, dialect)
    }

    pub(crate) fn from_value(value: &Value, dialect: Dialect) -> Result<Compiled, FilterError> {
        // Through the same reader as the text, so a policy reads the same from either.
        let tree = Tree::deserialize(value)
            .map_err(|e| whole(format!("the {} cannot be read: {e}", dialect.what())))?;
        Compiled::check(&tree, dialect)
    }

    fn check(tree: &Tree, dialect: Dialect) -> Result<Compiled, FilterError> {
        let Tree::Object(entries) = tree else {
            return Err(whole(match dialect {
                Dialect::Sns => format!(
                    "a filter is a JSON object of payload keys, like {{\"country\": [\"NL\"]}}, \
                     not {}",
                    tree.describe()
                ),
                Dialect::EventBridge => format!(
                    "a pattern is a JSON object of event fields, like {{\"source\": \
                     [\"aws.s3\"]}}, not {}",
                    tree.describe()
                ),
            }));
        };
        if entries.is_empty() {
            return Err(whole(
                match dialect {
                    Dialect::Sns => {
                        "the filter is empty, so it would let every payload through: \
                                 leave `filter` out instead"
                    }
                    Dialect::EventBridge => {
                        "the pattern is empty: EventBridge refuses it; give the \
                                         fields an event must have, like {\"source\": [\"...\"]}"
                    }
                }
                .to_owned(),
            ));
        }
        let root = group(entries, &mut Path::new(dialect))?;
        match dialect {
            Dialect::Sns => {
                let keys = root.top_keys();
                if keys.len() > MAX_KEYS {
                    return Err(whole(format!(
                        "the filter has {} keys at its top ({}): Amazon SNS takes at most \
                         {MAX_KEYS}; group some under a nested object",
                        keys.len(),
                        keys.join(", ")
                    )));
                }
                let combinations = root.combinations(1);
                if combinations > MAX_COMBINATIONS {
                    return Err(whole(format!(
                        "the filter has {combinations} combinations of values: Amazon SNS takes \
                         at most {MAX_COMBINATIONS} (each array counts its values times its \
                         depth; these multiply, and `$or` policies add up)"
                    )));
                }
            }
            Dialect::EventBridge => {
                let alternatives = root.alternatives();
                if alternatives > crate::pattern::MAX_ALTERNATIVES {
                    return Err(whole(format!(
                        "the pattern's `$or`s make {alternatives} combinations: EventBridge takes \
                         at most {} (the policies of each `$or` multiply with those of the others)",
                        crate::pattern::MAX_ALTERNATIVES
                    )));
                }
            }
        }
        let mut rules = Vec::new();
        for mut steps in root.rules("") {
            steps.sort_by(|a, b| a.path.encode_utf16().cmp(b.path.encode_utf16()));
            if let Some(twice) = steps.windows(2).find(|w| w[0].path == w[1].path) {
                // event-ruler's `JsonRuleCompiler.writeRules` lets the last array of a path
                // override the others, which would silently drop conditions.
                let (what, service) = match dialect {
                    Dialect::Sns => ("payload", "Amazon SNS"),
                    Dialect::EventBridge => ("event", "EventBridge"),
                };
                return Err(whole(format!(
                    "the {what} path `{}` is given twice, so {service} would keep only the last \
                     of its arrays; put all its conditions in one array ({{\"a\": {{\"b\": \
                     ...}}}} and {{\"a.b\": ...}} are one path, and the keys beside `$or` join \
                     each of its policies)",
                    twice[0].path
                )));
            }
            rules.push(Rule { steps, dialect });
        }
        let json = tree.to_value();
        let text = json.to_string();
        dialect.check_size(text.len(), text.chars().count())?;
        Ok(Compiled {
            rules,
            json,
            dialect,
        })
    }

    pub(crate) fn to_value(&self) -> &Value {
        &self.json
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether a payload (an event, for a pattern) matches.
    pub(crate) fn matches(&self, payload: &Value) -> bool {
        let Value::Object(object) = payload else {
            return false;
        };
        let leaves = leaves(object);
        self.rules.iter().any(|rule| rule.matches(&leaves))
    }

    pub(crate) fn matches_json(&self, payload: &str) -> bool {
        serde_json::from_str::<Value>(payload).is_ok_and(|value| self.matches(&value))
    }
}

impl fmt::Display for FilterPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.json)
    }
}

fn whole(message: String) -> FilterError {
    FilterError {
        path: String::new(),
        message,
    }
}

/// Whose grammar a policy is checked against: Amazon SNS's filter policies, or EventBridge's
/// event patterns. Both are read and matched by AWS's event-ruler; they differ in which operators
/// each service accepts, in their limits and in how finely numbers compare. Every difference is
/// decided by a method here, so the two stay one engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sns,
    EventBridge,
}

impl Dialect {
    /// The service, as errors name it.
    pub(crate) fn service(self) -> &'static str {
        match self {
            Dialect::Sns => "Amazon SNS",
            Dialect::EventBridge => "EventBridge",
        }
    }

    /// What the JSON is called in errors.
    fn what(self) -> &'static str {
        match self {
            Dialect::Sns => "policy",
            Dialect::EventBridge => "pattern",
        }
    }

    /// What a policy's keys name: a key of the payload, or a field of the event.
    fn subject(self) -> &'static str {
        match self {
            Dialect::Sns => "payload",
            Dialect::EventBridge => "event",
        }
    }

    /// The largest magnitude of a number it compares.
    fn max_number(self) -> f64 {
        match self {
            Dialect::Sns => MAX_NUMBER,
            Dialect::EventBridge => crate::pattern::MAX_NUMBER,
        }
    }

    /// Whether a `null` counts as no value for `exists`. In SNS filters it does. In EventBridge
    /// patterns it does not: event-ruler reads `null` as a value like any other (`Event` keeps
    /// it, and `exists` matches any value), and moto's EventBridge agrees, as the differential
    /// test (`tests/tests/patterns.rs`) shows.
    fn null_is_absent(self) -> bool {
        self == Dialect::Sns
    }

    /// How many decimals of a number it compares.
    fn decimals(self) -> i32 {
        match self {
            Dialect::Sns => 5,
            Dialect::EventBridge => 6,
        }
    }

    /// Refuses JSON of `bytes` bytes and `chars` characters that the service would.
    fn check_size(self, bytes: usize, chars: usize) -> Result<(), FilterError> {
        match self {
            Dialect::Sns if bytes > MAX_POLICY_BYTES => Err(whole(format!(
                "the policy is {bytes} bytes: Amazon SNS takes at most 256 KB"
            ))),
            Dialect::EventBridge if chars > crate::pattern::MAX_PATTERN_CHARS => {
                Err(whole(format!(
                    "the pattern is {chars} characters: EventBridge takes at most {} (its default \
                     quota); match on fewer values, or on a prefix they share",
                    crate::pattern::MAX_PATTERN_CHARS
                )))
            }
            _ => Ok(()),
        }
    }

    /// Whether EventBridge's additions are accepted: `wildcard`; `prefix` and `suffix` ignoring
    /// case; `anything-but` with `suffix`, `equals-ignore-case` and `wildcard`, and with lists.
    fn extended(self) -> bool {
        self == Dialect::EventBridge
    }
}

/// Where the checker is, for errors, and whose grammar it checks.
struct Path {
    steps: Vec<String>,
    dialect: Dialect,
}

impl Path {
    fn new(dialect: Dialect) -> Path {
        Path {
            steps: Vec::new(),
            dialect,
        }
    }

    fn key(&mut self, key: &str) {
        let plain = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '$'));
        self.steps.push(match (plain, self.steps.is_empty()) {
            (true, true) => key.to_owned(),
            (true, false) => format!(".{key}"),
            (false, _) => format!("[{}]", Value::String(key.to_owned())),
        });
    }

    fn index(&mut self, index: usize) {
        self.steps.push(format!("[{index}]"));
    }

    fn pop(&mut self) {
        self.steps.pop();
    }

    fn error(&self, message: impl Into<String>) -> FilterError {
        FilterError {
            path: self.steps.concat(),
            message: message.into(),
        }
    }
}

fn group(entries: &[(String, Tree)], path: &mut Path) -> Result<Group, FilterError> {
    let mut fields = Vec::with_capacity(entries.len());
    let mut any = Vec::new();
    for (key, value) in entries {
        path.key(key);
        if key == OR {
            any = or(value, path)?;
        } else {
            let test = match value {
                Tree::Array(items) => Test::Any(conditions(items, path)?),
                Tree::Object(entries) if entries.is_empty() => {
                    return Err(path.error(
                        "an empty object matches nothing: give it keys, or conditions in an array",
                    ));
                }
                Tree::Object(entries) => {
                    if let Some((operator, _)) = entries.iter().find(|e| looks_like_condition(e)) {
                        return Err(path.error(format!(
                            "`{operator}` is read as a key of the {} here: put the condition \
                             in an array, like [{{\"{operator}\": ...}}]",
                            path.dialect.subject()
                        )));
                    }
                    Test::Nested(group(entries, path)?)
                }
                other => {
                    return Err(path.error(format!(
                        "a key takes an array of conditions, like [{}], or an object of keys; not {}",
                        other.to_value(),
                        other.describe()
                    )));
                }
            };
            fields.push(Field {
                key: key.clone(),
                test,
            });
        }
        path.pop();
    }
    Ok(Group { fields, any })
}

/// `$or`: at least two policies. Amazon SNS reads anything else as a key named `$or`, and
/// EventBridge refuses it; neither is what was meant, so it is refused here.
fn or(value: &Tree, path: &mut Path) -> Result<Vec<Group>, FilterError> {
    let usage = "`$or` takes an array of at least two objects of keys, like \
                 [{\"a\": [\"x\"]}, {\"b\": [\"y\"]}]";
    let Tree::Array(items) = value else {
        return Err(path.error(format!("{usage}; not {}", value.describe())));
    };
    if items.len() < 2 {
        return Err(path.error(format!(
            "{usage}: with only {}, {}",
            items.len(),
            match path.dialect {
                Dialect::Sns => "Amazon SNS would read it as a payload key named `$or`",
                Dialect::EventBridge => "EventBridge refuses it",
            }
        )));
    }
    let mut groups = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        path.index(i);
        let Tree::Object(entries) = item else {
            return Err(path.error(format!("{usage}; not {}", item.describe())));
        };
        if entries.is_empty() {
            return Err(path.error("an empty policy in `$or` matches nothing"));
        }
        if let Some((operator, _)) = entries.iter().find(|e| looks_like_condition(e)) {
            return Err(path.error(format!(
                "`{operator}` is a condition, not a key: each policy in `$or` is an object of \
                 {} keys, like {{\"a\": [{{\"{operator}\": ...}}]}}",
                path.dialect.subject()
            )));
        }
        groups.push(group(entries, path)?);
        path.pop();
    }
    Ok(groups)
}

const OPERATORS: [&str; 7] = [
    "prefix",
    "suffix",
    "equals-ignore-case",
    "anything-but",
    "numeric",
    "exists",
    "cidr",
];

/// An entry that reads as a condition where keys are expected: an operator's name holding what
/// an operator takes, rather than an array or object (a payload may well have a key `prefix`).
fn looks_like_condition((key, value): &(String, Tree)) -> bool {
    (OPERATORS.contains(&key.as_str()) || key == "wildcard")
        && !matches!(value, Tree::Array(_) | Tree::Object(_))
}

fn conditions(items: &[Tree], path: &mut Path) -> Result<Vec<Condition>, FilterError> {
    if items.is_empty() {
        return Err(path.error(
            "an empty array matches nothing: list the values or conditions that let a payload \
             through",
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        path.index(i);
        out.push(match item {
            Tree::Object(entries) => operator(entries, path)?,
            Tree::Array(_) => {
                return Err(path.error(
                    "an array in an array: a condition is a string, a number, true, false, null \
                     or an object like {\"prefix\": \"...\"}",
                ));
            }
            scalar => Condition::Exact(self::scalar(scalar, path)?),
        });
        path.pop();
    }
    Ok(out)
}

fn scalar(tree: &Tree, path: &Path) -> Result<Scalar, FilterError> {
    Ok(match tree {
        Tree::String(s) => Scalar::String(s.clone()),
        Tree::Number(n) => Scalar::Number(number(n, path)?),
        Tree::Bool(b) => Scalar::Bool(*b),
        Tree::Null => Scalar::Null,
        Tree::Array(_) | Tree::Object(_) => unreachable!("callers pass scalars"),
    })
}

/// A number of a policy: within ±10⁹ and with at most five decimals for Amazon SNS, ±5·10⁹ and
/// six decimals for EventBridge, which is what each compares; a finer number would be matched as
/// a rounded one.
fn number(n: &serde_json::Number, path: &Path) -> Result<f64, FilterError> {
    let (max, decimals, service) = (
        path.dialect.max_number(),
        path.dialect.decimals(),
        path.dialect.service(),
    );
    let value = n.as_f64().unwrap_or(f64::INFINITY);
    if !(-max..=max).contains(&value) {
        return Err(path.error(format!(
            "{n} is out of range: {service} compares numbers from -{max} to {max}"
        )));
    }
    let scaled = value * 10f64.powi(decimals);
    if (scaled - scaled.round()).abs() > 1e-6 * scaled.abs().max(1.0) {
        let words = ["", "", "", "", "", "five", "six"];
        return Err(path.error(format!(
            "{n} has more than {} decimals, which {service} does not compare",
            words[decimals as usize]
        )));
    }
    Ok(value)
}

fn operator(entries: &[(String, Tree)], path: &mut Path) -> Result<Condition, FilterError> {
    let [(name, operand)] = entries else {
        let names: Vec<String> = entries.iter().map(|(k, _)| format!("`{k}`")).collect();
        return Err(path.error(if entries.is_empty() {
            "an empty condition: write one like {\"prefix\": \"...\"} or {\"exists\": true}"
                .to_owned()
        } else {
            format!(
                "a condition has one operator, this one has {}: {}; to allow either, write \
                 each as its own condition in the array",
                entries.len(),
                names.join(", ")
            )
        }));
    };
    path.key(name);
    let string = |what: &str| match operand {
        Tree::String(s) => Ok(s.clone()),
        other => Err(path.error(format!(
            "`{what}` takes a string, like {{\"{what}\": \"abc\"}}; not {}",
            other.describe()
        ))),
    };
    let extended = path.dialect.extended();
    // EventBridge's `{"prefix": {"equals-ignore-case": "abc"}}`, and its `suffix` twin.
    let ignoring_case = |what: &str| match operand {
        Tree::Object(entries) => match entries.as_slice() {
            [(key, Tree::String(s))] if key == "equals-ignore-case" => Ok(Some(s.clone())),
            _ => Err(path.error(format!(
                "`{what}` takes a string, like {{\"{what}\": \"abc\"}}, or \
                 {{\"equals-ignore-case\": \"abc\"}} to ignore case; not this object"
            ))),
        },
        _ => Ok(None),
    };
    let condition = match name.as_str() {
        "prefix" if extended && matches!(operand, Tree::Object(_)) => {
            Condition::PrefixIgnoreCase(ignoring_case("prefix")?.unwrap_or_default())
        }
        "suffix" if extended && matches!(operand, Tree::Object(_)) => {
            Condition::SuffixIgnoreCase(ignoring_case("suffix")?.unwrap_or_default())
        }
        "prefix" => Condition::Prefix(string("prefix")?),
        "suffix" => Condition::Suffix(string("suffix")?),
        "equals-ignore-case" => Condition::EqualsIgnoreCase(string("equals-ignore-case")?),
        "exists" => match operand {
            Tree::Bool(b) => Condition::Exists(*b),
            other => {
                return Err(path.error(format!(
                    "`exists` takes true or false; not {}",
                    other.describe()
                )));
            }
        },
        "anything-but" => anything_but(operand, path)?,
        "numeric" => numeric(operand, path)?,
        "cidr" => cidr(&string("cidr")?, path)?,
        "wildcard" if extended => Condition::Wildcard(Wildcard::parse(&string("wildcard")?, path)?),
        "wildcard" => {
            return Err(path.error(
                "`wildcard` is not supported: that Amazon SNS honors it in payload filters is not \
                 confirmed, so the sandbox could not promise to match as AWS does; use `prefix`, \
                 `suffix` or `equals-ignore-case`",
            ));
        }
        other => {
            let mut known: Vec<String> = OPERATORS.iter().map(|o| format!("`{o}`")).collect();
            if extended {
                known.push("`wildcard`".to_owned());
            }
            return Err(path.error(format!(
                "unknown operator `{other}`: expected one of {}",
                known.join(", ")
            )));
        }
    };
    path.pop();
    Ok(condition)
}

fn anything_but(operand: &Tree, path: &mut Path) -> Result<Condition, FilterError> {
    match operand {
        Tree::String(_) | Tree::Number(_) => {
            Ok(Condition::AnythingBut(vec![scalar(operand, path)?]))
        }
        Tree::Array(items) => {
            if items.is_empty() {
                return Err(path.error(
                    "`anything-but` with an empty array excludes nothing: list what to exclude",
                ));
            }
            let mut values = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                path.index(i);
                match item {
                    Tree::String(_) | Tree::Number(_) => values.push(scalar(item, path)?),
                    other => {
                        return Err(path.error(format!(
                            "`anything-but` lists strings or numbers; not {}",
                            other.describe()
                        )));
                    }
                }
                path.pop();
            }
            let strings = values
                .iter()
                .filter(|v| matches!(v, Scalar::String(_)))
                .count();
            if strings != 0 && strings != values.len() {
                return Err(path.error(
                    "`anything-but` lists either strings or numbers, not both: Amazon SNS refuses \
                     a mix",
                ));
            }
            Ok(Condition::AnythingBut(values))
        }
        Tree::Object(entries) if path.dialect.extended() => anything_but_matching(entries, path),
        Tree::Object(entries) => match entries.as_slice() {
            [(key, Tree::String(prefix))] if key == "prefix" => {
                Ok(Condition::AnythingButPrefix(vec![prefix.clone()]))
            }
            [(key, other)] if key == "prefix" => {
                path.key(key);
                Err(path.error(format!(
                    "`prefix` takes a string, like {{\"prefix\": \"abc\"}}; not {}",
                    other.describe()
                )))
            }
            [(key, _)] => Err(path.error(format!(
                "`anything-but` takes `prefix` as its only operator; Amazon SNS refuses `{key}` there"
            ))),
            _ => Err(path.error(
                "`anything-but` takes one operator, like {\"anything-but\": {\"prefix\": \"test-\"}}",
            )),
        },
        other => Err(path.error(format!(
            "`anything-but` takes a string, a number, an array of them, or {{\"prefix\": \"...\"}}; \
             not {}",
            other.describe()
        ))),
    }
}

/// EventBridge's `anything-but` with an operator: `prefix`, `suffix`, `equals-ignore-case` or
/// `wildcard`, each of a string or an array of them (event-ruler's
/// `JsonRuleCompiler.processAnythingButValuesSetMatchExpression` and its kin).
fn anything_but_matching(
    entries: &[(String, Tree)],
    path: &mut Path,
) -> Result<Condition, FilterError> {
    let usage = "`anything-but` takes one operator, `prefix`, `suffix`, `equals-ignore-case` or \
                 `wildcard`, of a string or an array of strings, like {\"anything-but\": \
                 {\"prefix\": \"test-\"}}";
    let [(key, operand)] = entries else {
        return Err(path.error(usage));
    };
    if !matches!(
        key.as_str(),
        "prefix" | "suffix" | "equals-ignore-case" | "wildcard"
    ) {
        return Err(path.error(format!("{usage}; EventBridge refuses `{key}` there")));
    }
    path.key(key);
    let texts = match operand {
        Tree::String(s) => vec![s.clone()],
        Tree::Array(items) if !items.is_empty() => {
            let mut texts = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let Tree::String(s) = item else {
                    path.index(i);
                    return Err(
                        path.error(format!("`{key}` lists strings; not {}", item.describe()))
                    );
                };
                texts.push(s.clone());
            }
            texts
        }
        Tree::Array(_) => {
            return Err(path.error(format!(
                "`{key}` with an empty array excludes nothing: list what to exclude"
            )));
        }
        other => {
            return Err(path.error(format!(
                "`{key}` takes a string or an array of strings; not {}",
                other.describe()
            )));
        }
    };
    if matches!(key.as_str(), "prefix" | "suffix") && texts.iter().any(String::is_empty) {
        return Err(path.error(format!(
            "an empty `{key}` would exclude every string: EventBridge refuses it"
        )));
    }
    let condition = match key.as_str() {
        "prefix" => Condition::AnythingButPrefix(texts),
        "suffix" => Condition::AnythingButSuffix(texts),
        "equals-ignore-case" => Condition::AnythingButIgnoreCase(texts),
        _ => Condition::AnythingButWildcard(
            texts
                .iter()
                .map(|t| Wildcard::parse(t, path))
                .collect::<Result<_, _>>()?,
        ),
    };
    path.pop();
    Ok(condition)
}

/// A `wildcard` operand: the text between its unescaped `*`s, each of which stands for any
/// characters, none included. `\*` is a star and `\\` a backslash; any other backslash, and two
/// stars in a row, EventBridge refuses (event-ruler's `WildcardParser`).
#[derive(Debug, Clone, PartialEq)]
struct Wildcard {
    /// At least one piece: `a*b` is `["a", "b"]`, `*` is `["", ""]`.
    pieces: Vec<String>,
}

impl Wildcard {
    fn parse(text: &str, path: &Path) -> Result<Wildcard, FilterError> {
        let mut pieces = vec![String::new()];
        let mut chars = text.chars();
        let mut star_before = false;
        while let Some(c) = chars.next() {
            match c {
                '*' if star_before => {
                    return Err(path.error(format!(
                        "`{}` has two `*` in a row, which EventBridge refuses: one `*` already \
                         stands for any characters",
                        crate::quote::excerpt(text)
                    )));
                }
                '*' => {
                    pieces.push(String::new());
                    star_before = true;
                    continue;
                }
                '\\' => match chars.next() {
                    Some(escaped @ ('*' | '\\')) => pieces.last_mut().unwrap().push(escaped),
                    _ => {
                        return Err(path.error(format!(
                            "`{}` has a `\\` that escapes neither `*` nor `\\`, which EventBridge \
                             refuses: write `\\*` for a star and `\\\\` for a backslash",
                            crate::quote::excerpt(text)
                        )));
                    }
                },
                other => pieces.last_mut().unwrap().push(other),
            }
            star_before = false;
        }
        Ok(Wildcard { pieces })
    }

    /// Whether `text` matches: it begins with the first piece, ends with the last, and holds the
    /// others in order between them. Taking each middle piece at its first place is enough, since
    /// a star may stand for anything.
    fn matches(&self, text: &str) -> bool {
        let (first, rest) = self.pieces.split_first().expect("at least one piece");
        let Some((last, middle)) = rest.split_last() else {
            return text == first;
        };
        let Some(mut left) = text.strip_prefix(first.as_str()) else {
            return false;
        };
        for piece in middle {
            match left.find(piece.as_str()) {
                Some(at) => left = &left[at + piece.len()..],
                None => return false,
            }
        }
        left.ends_with(last.as_str())
    }
}

/// `numeric`: `["=", n]`, or a range of a lower bound (`>`, `>=`), an upper one (`<`, `<=`), or
/// a lower then an upper one.
fn numeric(operand: &Tree, path: &mut Path) -> Result<Condition, FilterError> {
    let usage = "write it like [\"=\", 5], [\">\", 0] or [\">\", 0, \"<=\", 150]";
    let Tree::Array(items) = operand else {
        return Err(path.error(format!(
            "`numeric` takes an array; {usage}; not {}",
            operand.describe()
        )));
    };
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return Err(path.error(format!(
            "`numeric` takes one or two pairs of an operator and a number; {usage}"
        )));
    }
    let mut low: Option<Bound> = None;
    let mut high: Option<Bound> = None;
    let mut equal = false;
    for (pair, chunk) in items.chunks(2).enumerate() {
        path.index(pair * 2);
        let Tree::String(op) = &chunk[0] else {
            return Err(path.error(format!(
                "expected an operator (`=`, `<`, `<=`, `>`, `>=`), found {}; {usage}",
                chunk[0].describe()
            )));
        };
        path.pop();
        path.index(pair * 2 + 1);
        let Tree::Number(n) = &chunk[1] else {
            return Err(path.error(format!(
                "`{op}` takes a number, not {}",
                chunk[1].describe()
            )));
        };
        let value = number(n, path)?;
        path.pop();
        path.index(pair * 2);
        let bound = |inclusive| Some(Bound { value, inclusive });
        match (op.as_str(), pair) {
            ("=", 0) => {
                equal = true;
                (low, high) = (bound(true), bound(true));
            }
            (">" | ">=", 0) => low = bound(op == ">="),
            ("<" | "<=", _) if !equal && high.is_none() => high = bound(op == "<="),
            ("=" | "<" | "<=" | ">" | ">=", _) => {
                return Err(path.error(format!(
                    "`{op}` cannot follow: a range is a lower bound (`>`, `>=`) then an upper \
                     one (`<`, `<=`), and `=` stands alone; {usage}"
                )));
            }
            (other, _) => {
                return Err(path.error(format!(
                    "unknown numeric operator `{other}`: expected `=`, `<`, `<=`, `>` or `>=`"
                )));
            }
        }
        path.pop();
    }
    if let (Some(l), Some(h)) = (low, high)
        && !equal
        && l.value >= h.value
    {
        return Err(path.error(format!(
            "the range is empty: its lower bound {} is not below its upper bound {}",
            l.value, h.value
        )));
    }
    Ok(Condition::Numeric { low, high })
}

fn cidr(text: &str, path: &Path) -> Result<Condition, FilterError> {
    let Some((address, bits)) = text.split_once('/') else {
        return Err(path.error(format!(
            "`{text}` is not a CIDR block: write an address, `/` and a prefix length, like \
             \"10.0.0.0/24\""
        )));
    };
    let network: IpAddr = address.parse().map_err(|_| {
        path.error(format!(
            "`{address}` in `{text}` is not an IPv4 or IPv6 address"
        ))
    })?;
    let max = if network.is_ipv4() { 32 } else { 128 };
    let bits: u8 = bits.parse().ok().filter(|b| *b <= max).ok_or_else(|| {
        path.error(format!(
            "`{bits}` in `{text}` is not a prefix length: a whole number from 0 to {max}"
        ))
    })?;
    Ok(Condition::Cidr { network, bits })
}

impl Group {
    /// The keys at this level, with those of its `$or` policies, each once.
    fn top_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.fields.iter().map(|f| f.key.clone()).collect();
        for alternative in &self.any {
            keys.extend(alternative.top_keys());
        }
        let mut seen = HashSet::new();
        keys.retain(|k| seen.insert(k.clone()));
        keys
    }

    /// How many rules the `$or`s make, counted before they are made: each `$or` adds up its
    /// policies' counts, and these multiply, as event-ruler's `JsonRuleCompiler` expands them.
    fn alternatives(&self) -> usize {
        let mut product: usize = 1;
        for field in &self.fields {
            if let Test::Nested(group) = &field.test {
                product = product.saturating_mul(group.alternatives());
            }
        }
        if !self.any.is_empty() {
            let sum = self
                .any
                .iter()
                .fold(0usize, |sum, g| sum.saturating_add(g.alternatives()));
            product = product.saturating_mul(sum);
        }
        product
    }

    /// Amazon SNS's count: an array of n values at depth d counts n × d; counts multiply, and
    /// the policies of an `$or` add up (its documented examples give 7, 32 and 72 this way).
    fn combinations(&self, depth: u64) -> u64 {
        let mut product: u64 = 1;
        for field in &self.fields {
            let count = match &field.test {
                Test::Any(conditions) => conditions.len() as u64 * depth,
                Test::Nested(group) => group.combinations(depth + 1),
            };
            product = product.saturating_mul(count);
        }
        if !self.any.is_empty() {
            let sum = self
                .any
                .iter()
                .fold(0u64, |sum, g| sum.saturating_add(g.combinations(depth)));
            product = product.saturating_mul(sum);
        }
        product
    }

    /// The rules of this group, its keys under the path `prefix`: its keys all in each rule, and
    /// each `$or` multiplying the rules by its policies, as event-ruler's `JsonRuleCompiler`
    /// (`parseObject`, `parseIntoOrRelationship`) compiles them. A nested key's path joins its
    /// steps with dots (`Path.extendedName`), so `{"a": {"b": [...]}}` and `{"a.b": [...]}` are
    /// one rule.
    fn rules(&self, prefix: &str) -> Vec<Vec<Step>> {
        let mut rules = vec![Vec::new()];
        for field in &self.fields {
            let path = if prefix.is_empty() {
                field.key.clone()
            } else {
                format!("{prefix}.{}", field.key)
            };
            let options = match &field.test {
                Test::Any(conditions) => vec![vec![Step {
                    path,
                    conditions: conditions.clone(),
                }]],
                Test::Nested(group) => group.rules(&path),
            };
            rules = product(&rules, &options);
        }
        if !self.any.is_empty() {
            let options: Vec<Vec<Step>> = self.any.iter().flat_map(|g| g.rules(prefix)).collect();
            rules = product(&rules, &options);
        }
        rules
    }
}

/// Every rule of `left` joined with every rule of `right`.
fn product(left: &[Vec<Step>], right: &[Vec<Step>]) -> Vec<Vec<Step>> {
    left.iter()
        .flat_map(|l| {
            right
                .iter()
                .map(move |r| l.iter().chain(r).cloned().collect())
        })
        .collect()
}

/// One way for a policy to hold: each of its steps, in order.
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    /// Sorted by path as Java sorts strings (UTF-16 code units), the order in which event-ruler
    /// (`GenericMachine.addPatternRule`) walks them; the order matters to `exists: false`.
    steps: Vec<Step>,
    /// Whose matching: how many decimals numbers compare to, and whether `null` is a value.
    dialect: Dialect,
}

/// A payload path, and the conditions of which one must hold there.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    path: String,
    conditions: Vec<Condition>,
}

impl Rule {
    fn matches(&self, leaves: &[Leaf<'_>]) -> bool {
        let found: Vec<Found<'_>> = self
            .steps
            .iter()
            .map(|step| {
                Found::new(
                    leaves
                        .iter()
                        .filter(|leaf| leaf.path == step.path)
                        .collect(),
                )
            })
            .collect();
        let mut arrays = vec![Vec::new(); self.steps.len() + 1];
        for at in (0..self.steps.len()).rev() {
            let mut here = arrays[at + 1].clone();
            here.extend(
                found[at]
                    .leaves
                    .iter()
                    .flat_map(|leaf| leaf.within.arrays()),
            );
            here.sort_unstable();
            here.dedup();
            arrays[at] = here;
        }
        Walk {
            rule: self,
            found,
            arrays,
            failed: HashSet::new(),
        }
        .holds_from(0, &Within::default())
    }
}

/// A rule on its way through one payload.
struct Walk<'r, 'p> {
    rule: &'r Rule,
    /// The values at each step's path.
    found: Vec<Found<'p>>,
    /// The arrays that the values of each step and of those after it lie in: all that the
    /// elements chosen so far can still rule out.
    arrays: Vec<Vec<usize>>,
    /// The steps that did not hold within given elements, so that a payload of long arrays is
    /// not walked once for each combination of their values.
    failed: HashSet<(usize, Within)>,
}

impl Walk<'_, '_> {
    /// Whether the steps from `at` on hold within the array elements `within`, chosen by the
    /// steps before: event-ruler's array-consistent walk (`ACFinder`). A step that holds for a
    /// value in an array of objects (or of arrays) binds the later steps to the same element;
    /// `exists: false` holds where no value is left within those elements
    /// (`NameState.getNameTransitions`), and binds nothing.
    fn holds_from(&mut self, at: usize, within: &Within) -> bool {
        let Some(step) = self.rule.steps.get(at) else {
            return true;
        };
        let within = within.only(&self.arrays[at]);
        if self.failed.contains(&(at, within.clone())) {
            return false;
        }
        let found: Vec<(&Value, Within)> = self.found[at]
            .near(&within)
            .iter()
            .filter_map(|leaf| within.join(&leaf.within).map(|joined| (leaf.value, joined)))
            .collect();
        let holds = found.iter().any(|(value, joined)| {
            step.conditions
                .iter()
                .any(|c| c.holds_for(value, self.rule.dialect))
                && self.holds_from(at + 1, joined)
        }) || (step.conditions.contains(&Condition::Exists(false))
            && found
                .iter()
                .all(|(value, _)| value.is_null() && self.rule.dialect.null_is_absent())
            && self.holds_from(at + 1, &within));
        if !holds {
            self.failed.insert((at, within));
        }
        holds
    }
}

/// The values at one step's path, indexed by the array elements they all lie in.
struct Found<'p> {
    leaves: Vec<&'p Leaf<'p>>,
    /// The arrays that every one of these values lies in.
    common: Vec<usize>,
    /// The values in each element of those arrays.
    by_element: HashMap<(usize, usize), Vec<&'p Leaf<'p>>>,
}

impl<'p> Found<'p> {
    fn new(leaves: Vec<&'p Leaf<'p>>) -> Found<'p> {
        let mut common: Vec<usize> = leaves
            .first()
            .map(|leaf| leaf.within.arrays().collect())
            .unwrap_or_default();
        for leaf in &leaves {
            common.retain(|&array| leaf.within.index_in(array).is_some());
        }
        let mut by_element: HashMap<(usize, usize), Vec<&'p Leaf<'p>>> = HashMap::new();
        for leaf in &leaves {
            for &array in &common {
                if let Some(index) = leaf.within.index_in(array) {
                    by_element.entry((array, index)).or_default().push(leaf);
                }
            }
        }
        Found {
            leaves,
            common,
            by_element,
        }
    }

    /// The values that may lie within `within`: those of its element of an array they all lie
    /// in, or else all of them (still to be checked one by one).
    fn near(&self, within: &Within) -> &[&'p Leaf<'p>] {
        match within
            .0
            .iter()
            .find(|(array, _)| self.common.contains(array))
        {
            Some(element) => self.by_element.get(element).map_or(&[], Vec::as_slice),
            None => &self.leaves,
        }
    }
}

/// A scalar of the payload, at its path: the keys that lead to it joined with dots, whether a
/// key holds a dot itself or not, as event-ruler's `Event` names a payload's fields.
struct Leaf<'a> {
    path: String,
    value: &'a Value,
    within: Within,
}

/// The elements of arrays a value lies in, as (array, index) sorted by array: event-ruler's
/// `ArrayMembership`. Only objects and arrays in an array count as its elements there; the
/// scalars of an array all stand for the array as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct Within(Vec<(usize, usize)>);

impl Within {
    /// Both together, unless they lie in different elements of one array
    /// (`ArrayMembership.checkArrayConsistency`).
    fn join(&self, other: &Within) -> Option<Within> {
        let mut joined = self.0.clone();
        for &(array, index) in &other.0 {
            match joined.binary_search_by_key(&array, |&(a, _)| a) {
                Ok(at) if joined[at].1 != index => return None,
                Ok(_) => {}
                Err(at) => joined.insert(at, (array, index)),
            }
        }
        Some(Within(joined))
    }

    fn arrays(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().map(|&(array, _)| array)
    }

    fn index_in(&self, array: usize) -> Option<usize> {
        self.0
            .binary_search_by_key(&array, |&(a, _)| a)
            .ok()
            .map(|at| self.0[at].1)
    }

    /// The elements of these arrays only (sorted), the others mattering no more.
    fn only(&self, arrays: &[usize]) -> Within {
        Within(
            self.0
                .iter()
                .filter(|(array, _)| arrays.binary_search(array).is_ok())
                .copied()
                .collect(),
        )
    }
}

/// The scalars of a payload, each with its path and the array elements it lies in.
fn leaves(object: &Map<String, Value>) -> Vec<Leaf<'_>> {
    let mut flat = Flat::default();
    flat.object(object);
    flat.leaves
}

#[derive(Default)]
struct Flat<'a> {
    leaves: Vec<Leaf<'a>>,
    keys: Vec<&'a str>,
    within: Vec<(usize, usize)>,
    arrays: usize,
}

impl<'a> Flat<'a> {
    fn object(&mut self, object: &'a Map<String, Value>) {
        for (key, value) in object {
            self.keys.push(key);
            self.value(value);
            self.keys.pop();
        }
    }

    fn value(&mut self, value: &'a Value) {
        match value {
            Value::Object(object) => self.object(object),
            Value::Array(items) => {
                // Arrays are numbered as they are met, outer ones first, so `within` stays sorted.
                let array = self.arrays;
                self.arrays += 1;
                for (index, item) in items.iter().enumerate() {
                    let element = item.is_object() || item.is_array();
                    if element {
                        self.within.push((array, index));
                    }
                    self.value(item);
                    if element {
                        self.within.pop();
                    }
                }
            }
            scalar => self.leaves.push(Leaf {
                path: self.keys.join("."),
                value: scalar,
                within: Within(self.within.clone()),
            }),
        }
    }
}

/// Numbers compare to a number of decimals: five in Amazon SNS, six in EventBridge.
fn same_number(a: f64, b: f64, decimals: i32) -> bool {
    let scale = 10f64.powi(decimals);
    (a * scale).round() == (b * scale).round()
}

impl Scalar {
    fn is(&self, value: &Value, decimals: i32) -> bool {
        match (self, value) {
            (Scalar::String(s), Value::String(v)) => s == v,
            (Scalar::Number(n), Value::Number(v)) => {
                v.as_f64().is_some_and(|v| same_number(*n, v, decimals))
            }
            (Scalar::Bool(b), Value::Bool(v)) => b == v,
            (Scalar::Null, Value::Null) => true,
            _ => false,
        }
    }
}

impl Condition {
    fn holds_for(&self, value: &Value, dialect: Dialect) -> bool {
        let decimals = dialect.decimals();
        let text = value.as_str();
        match self {
            Condition::Exact(scalar) => scalar.is(value, decimals),
            Condition::Prefix(p) => text.is_some_and(|t| t.starts_with(p.as_str())),
            Condition::Suffix(s) => text.is_some_and(|t| t.ends_with(s.as_str())),
            Condition::EqualsIgnoreCase(s) => {
                text.is_some_and(|t| t.to_lowercase() == s.to_lowercase())
            }
            Condition::AnythingBut(excluded) => !excluded.iter().any(|s| s.is(value, decimals)),
            // Not only strings: event-ruler fails it only on a value that begins with `"` and the
            // prefix (`ByteMachine.doTransitionOn`), which a number, `true`, `false` or `null`
            // never does; so it lets them through, as plain `anything-but` does. The other
            // operators of `anything-but` are matched on the same bytes, and do the same.
            Condition::AnythingButPrefix(p) => {
                text.is_none_or(|t| !p.iter().any(|p| t.starts_with(p.as_str())))
            }
            Condition::AnythingButSuffix(s) => {
                text.is_none_or(|t| !s.iter().any(|s| t.ends_with(s.as_str())))
            }
            Condition::AnythingButIgnoreCase(e) => text.is_none_or(|t| {
                let t = t.to_lowercase();
                !e.iter().any(|e| e.to_lowercase() == t)
            }),
            Condition::AnythingButWildcard(w) => {
                text.is_none_or(|t| !w.iter().any(|w| w.matches(t)))
            }
            Condition::PrefixIgnoreCase(p) => {
                text.is_some_and(|t| t.to_lowercase().starts_with(&p.to_lowercase()))
            }
            Condition::SuffixIgnoreCase(s) => {
                text.is_some_and(|t| t.to_lowercase().ends_with(&s.to_lowercase()))
            }
            Condition::Wildcard(w) => text.is_some_and(|t| w.matches(t)),
            Condition::Numeric { low, high } => value.as_f64().is_some_and(|v| {
                let above = low.is_none_or(|b| {
                    v > b.value || (b.inclusive && same_number(v, b.value, decimals))
                });
                let below = high.is_none_or(|b| {
                    v < b.value || (b.inclusive && same_number(v, b.value, decimals))
                });
                above && below
            }),
            // `exists: false` holds where no value is: `Rule::holds_from` decides it.
            Condition::Exists(exists) => *exists && !(value.is_null() && dialect.null_is_absent()),
            Condition::Cidr { network, bits } => text
                .and_then(|t| t.parse::<IpAddr>().ok())
                .is_some_and(|address| in_block(address, *network, *bits)),
        }
    }
}

fn in_block(address: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (address, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// JSON as written, keys in order and duplicates kept, so that a key given twice is an error
/// rather than one of its values silently winning (as it would in a `serde_json::Value`).
#[derive(Debug, Clone, PartialEq)]
enum Tree {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Tree>),
    Object(Vec<(String, Tree)>),
}

impl Tree {
    fn describe(&self) -> String {
        match self {
            Tree::Null => "null".to_owned(),
            Tree::Bool(b) => format!("`{b}`"),
            Tree::Number(n) => format!("the number {n}"),
            Tree::String(s) => format!("the string {}", Value::String(s.clone())),
            Tree::Array(_) => "an array".to_owned(),
            Tree::Object(_) => "an object".to_owned(),
        }
    }

    fn to_value(&self) -> Value {
        match self {
            Tree::Null => Value::Null,
            Tree::Bool(b) => Value::Bool(*b),
            Tree::Number(n) => Value::Number(n.clone()),
            Tree::String(s) => Value::String(s.clone()),
            Tree::Array(items) => Value::Array(items.iter().map(Tree::to_value).collect()),
            Tree::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Tree, D::Error> {
        struct TreeVisitor;

        impl<'de> Visitor<'de> for TreeVisitor {
            type Value = Tree;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }

            fn visit_unit<E>(self) -> Result<Tree, E> {
                Ok(Tree::Null)
            }

            fn visit_bool<E>(self, b: bool) -> Result<Tree, E> {
                Ok(Tree::Bool(b))
            }

            fn visit_i64<E>(self, n: i64) -> Result<Tree, E> {
                Ok(Tree::Number(n.into()))
            }

            fn visit_u64<E>(self, n: u64) -> Result<Tree, E> {
                Ok(Tree::Number(n.into()))
            }

            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Tree, E> {
                serde_json::Number::from_f64(n)
                    .map(Tree::Number)
                    .ok_or_else(|| E::custom(format!("{n} is not a finite number")))
            }

            fn visit_str<E>(self, s: &str) -> Result<Tree, E> {
                Ok(Tree::String(s.to_owned()))
            }

            fn visit_string<E>(self, s: String) -> Result<Tree, E> {
                Ok(Tree::String(s))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Tree::Array(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
                let mut entries: Vec<(String, Tree)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if entries.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format!(
                            "key {} is given twice",
                            Value::String(key)
                        )));
                    }
                    let value = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(Tree::Object(entries))
            }
        }

        deserializer.deserialize_any(TreeVisitor)
    }
}

#[cfg(test)]
mod tests;
