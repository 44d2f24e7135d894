//! EventBridge patterns, differentially: our matcher (`eventfn_core::pattern`, which the sandbox,
//! the test kit and a function serving every handler use) against moto's EventBridge, a
//! reference we did not write. Every pattern becomes a rule on a bus of moto's, each targeting a
//! queue of its own; every event is put on that bus; a rule's queue holds exactly the events
//! moto matched, and each (pattern, event) pair must be decided alike.
//!
//! The cases are hand-written ones, per operator, and seeded random ones. The generator keeps to
//! what moto implements as EventBridge does; where moto is known to differ from EventBridge, the
//! pair is set aside with why, from AWS's documentation or event-ruler (the engine EventBridge
//! runs, github.com/aws/event-ruler), and counted:
//!
//! - moto reads JSON through Python, where `true == 1` and `false == 0`, so it matches a boolean
//!   against a number (`[1]`, `numeric`) and a number against a boolean (`[false]` matches `0`);
//!   EventBridge matches values of their own JSON type only
//!   ("Comparison operators", EventBridge User Guide: `numeric` "matches numbers"; event-ruler's
//!   `ByteMachine` compares a number's and a boolean's bytes, which differ).
//!
//! Shapes moto does not read as EventBridge does are not generated: arrays of objects (moto does
//! not look inside them), empty objects and arrays, keys with dots, patterns on `account` (moto's
//! events have none) or `time` (moto's is a number), CIDR blocks with host bits set, newlines in
//! wildcard-matched strings. The hand-written unit tests of `eventfn_core::pattern` cover those.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use eventfn_core::EventPattern;
use serde_json::{Value, json};
use support::{Moto, create_queue, target_queue};

/// A small seeded generator (xorshift64*), so that the random cases are the same on every run
/// and a disagreement can be replayed; a crate for ten lines would be one more to build.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const STRINGS: &[&str] = &[
    "alpha",
    "Alpha",
    "ALPHABET",
    "beta",
    "alpha.beta",
    "a*b",
    "",
    "img_01.PNG",
    "uploads/cat.png",
    "uploads/2026/dog.png.tmp",
    "10.0.0.7",
    "10.1.2.3",
    "192.168.1.20",
    "2001:db8::1",
];
const NUMBERS: &[f64] = &[0.0, 1.0, 5.0, 5.5, 10.0, -3.0, 10000.0, 1_000_000.0, 0.25];
const SOURCES: &[&str] = &["aws.s3", "shop", "shop.orders"];
const DETAIL_TYPES: &[&str] = &["Object Created", "BUDGET_ANALYSIS", "order.placed"];
/// The event paths patterns and events use: the envelope's, and the detail's one and two deep.
const DETAIL_KEYS: &[&str] = &["k1", "k2", "k3"];

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

fn scalar(r: &mut Random) -> Value {
    match r.below(10) {
        0..=4 => json!(r.pick(STRINGS)),
        5..=7 => number(*r.pick(NUMBERS)),
        8 => json!(r.chance(50)),
        _ => Value::Null,
    }
}

/// A detail value: a scalar, or an array of one to three.
fn value(r: &mut Random) -> Value {
    if r.chance(20) {
        Value::Array((0..1 + r.below(3)).map(|_| scalar(r)).collect())
    } else {
        scalar(r)
    }
}

fn random_event(r: &mut Random) -> Value {
    let mut detail = serde_json::Map::new();
    for key in DETAIL_KEYS {
        if r.chance(75) {
            detail.insert((*key).to_owned(), value(r));
        }
    }
    if r.chance(60) {
        let mut nested = serde_json::Map::new();
        nested.insert("x".into(), value(r));
        if r.chance(50) {
            nested.insert("y".into(), value(r));
        }
        detail.insert("n".into(), Value::Object(nested));
    }
    let mut event = json!({
        "source": r.pick(SOURCES),
        "detail-type": r.pick(DETAIL_TYPES),
        "detail": detail,
    });
    if r.chance(30) {
        event["resources"] = json!(["arn:aws:s3:::uploads"]);
    }
    event
}

fn string_list(r: &mut Random, nonempty: bool) -> Value {
    let pool: Vec<&str> = STRINGS
        .iter()
        .copied()
        .filter(|s| !(nonempty && s.is_empty()))
        .collect();
    if r.chance(50) {
        json!(r.pick(&pool))
    } else {
        json!([r.pick(&pool), r.pick(&pool)])
    }
}

fn wildcard(r: &mut Random) -> String {
    r.pick(&[
        "*",
        "a*",
        "*a",
        "al*ha",
        "*.png",
        "uploads/*.png",
        "*/*",
        "a\\*b",
        "*PNG",
    ])
    .to_string()
}

fn condition(r: &mut Random) -> Value {
    match r.below(19) {
        0 => json!(r.pick(STRINGS)),
        1 => number(*r.pick(NUMBERS)),
        2 => json!(r.chance(50)),
        3 => Value::Null,
        4 => json!({"prefix": r.pick(&["al", "Al", "img", "uploads/", "10."])}),
        5 => json!({"prefix": {"equals-ignore-case": r.pick(&["AL", "img_", "UPLOADS"])}}),
        6 => json!({"suffix": r.pick(&["ha", ".png", ".PNG", "tmp"])}),
        7 => json!({"suffix": {"equals-ignore-case": r.pick(&[".png", "HA"])}}),
        8 => json!({"equals-ignore-case": r.pick(&["alpha", "ALPHABET", "Beta"])}),
        9 => json!({"anything-but": r.pick(STRINGS)}),
        10 => json!({"anything-but": [number(*r.pick(NUMBERS)), number(*r.pick(NUMBERS))]}),
        11 => json!({"anything-but": {"prefix": string_list(r, true)}}),
        12 => json!({"anything-but": {"suffix": string_list(r, true)}}),
        13 => json!({"anything-but": {"equals-ignore-case": string_list(r, false)}}),
        14 => json!({"anything-but": {"wildcard": wildcard(r)}}),
        15 => {
            let low = *r.pick(NUMBERS);
            match r.below(3) {
                0 => json!({"numeric": [r.pick(&["<", "<=", "=", ">", ">="]), number(low)]}),
                _ => {
                    let high = low + 1.0 + (r.below(100) as f64);
                    json!({"numeric": [r.pick(&[">", ">="]), number(low), r.pick(&["<", "<="]), number(high)]})
                }
            }
        }
        16 => json!({"exists": r.chance(50)}),
        17 => {
            json!({"cidr": r.pick(&["10.0.0.0/24", "10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"])})
        }
        _ => json!({"wildcard": wildcard(r)}),
    }
}

fn leaf(r: &mut Random) -> Value {
    Value::Array((0..1 + r.below(2)).map(|_| condition(r)).collect())
}

/// Keys of a pattern: some of the envelope's and the detail's, one or two of them nested.
fn keys(r: &mut Random) -> serde_json::Map<String, Value> {
    let mut pattern = serde_json::Map::new();
    if r.chance(25) {
        pattern.insert("source".into(), json!([r.pick(SOURCES)]));
    }
    if r.chance(20) {
        pattern.insert("detail-type".into(), leaf(r));
    }
    let mut detail = serde_json::Map::new();
    for key in DETAIL_KEYS {
        if r.chance(35) {
            detail.insert((*key).to_owned(), leaf(r));
        }
    }
    if r.chance(30) {
        detail.insert("n".into(), json!({ "x": leaf(r) }));
    }
    if detail.is_empty() && pattern.is_empty() {
        detail.insert("k1".into(), leaf(r));
    }
    if !detail.is_empty() {
        pattern.insert("detail".into(), Value::Object(detail));
    }
    pattern
}

fn random_pattern(r: &mut Random) -> Value {
    let mut pattern = keys(r);
    if r.chance(15) {
        // `$or` of two policies on keys the rest of the pattern does not use.
        let one = json!({ "k2": leaf(r) });
        let two = json!({ "k3": leaf(r) });
        let detail = pattern
            .entry("detail")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .unwrap();
        detail.remove("k2");
        detail.remove("k3");
        detail.insert("$or".into(), json!([one, two]));
    }
    Value::Object(pattern)
}

/// Hand-written cases, per operator: every pattern is matched against every event.
fn written() -> (Vec<Value>, Vec<Value>) {
    let patterns = vec![
        json!({"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": ["uploads"]}}}),
        json!({"detail-type": ["BUDGET_ANALYSIS"], "detail": {"amount": [{"numeric": [">=", 10000]}]}}),
        json!({"detail": {"amount": [{"numeric": [">", 0, "<=", 100]}]}}),
        json!({"detail": {"amount": [{"numeric": ["=", 5.5]}]}}),
        json!({"detail": {"amount": [5]}}),
        json!({"detail": {"amount": ["5"]}}),
        json!({"detail": {"tags": ["b"]}}),
        json!({"detail": {"key": [{"prefix": "uploads/"}]}}),
        json!({"detail": {"key": [{"suffix": ".png"}]}}),
        json!({"detail": {"key": [{"wildcard": "uploads/*.png"}]}}),
        json!({"detail": {"key": [{"wildcard": "*"}]}}),
        json!({"detail": {"key": [{"prefix": {"equals-ignore-case": "UPLOADS/"}}]}}),
        json!({"detail": {"key": [{"suffix": {"equals-ignore-case": ".PNG"}}]}}),
        json!({"detail": {"state": [{"equals-ignore-case": "running"}]}}),
        json!({"detail": {"state": [{"anything-but": "running"}]}}),
        json!({"detail": {"state": [{"anything-but": ["running", "stopped"]}]}}),
        json!({"detail": {"state": [{"anything-but": {"prefix": "stop"}}]}}),
        json!({"detail": {"key": [{"anything-but": {"suffix": [".tmp", ".bak"]}}]}}),
        json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["RUNNING"]}}]}}),
        json!({"detail": {"key": [{"anything-but": {"wildcard": "uploads/*"}}]}}),
        json!({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}),
        json!({"detail": {"ip": [{"cidr": "2001:db8::/32"}]}}),
        json!({"detail": {"coupon": [{"exists": true}]}}),
        json!({"detail": {"coupon": [{"exists": false}]}}),
        json!({"detail": {"coupon": [null]}}),
        json!({"detail": {"coupon": [""]}}),
        json!({"resources": ["arn:aws:s3:::uploads"]}),
        json!({"source": ["shop"], "$or": [{"detail-type": ["order.placed"]}, {"detail": {"amount": [{"numeric": [">", 100]}]}}]}),
        json!({"detail": {"$or": [{"state": ["running"]}, {"ip": [{"cidr": "10.0.0.0/8"}]}]}}),
        json!({"detail": {"bucket": {"name": [{"anything-but": "uploads"}]}}}),
    ];
    let events = vec![
        json!({"source": "aws.s3", "detail-type": "Object Created", "resources": ["arn:aws:s3:::uploads"], "detail": {"bucket": {"name": "uploads"}, "key": "uploads/cat.png"}}),
        json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": "other"}, "key": "uploads/cat.PNG"}}),
        json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": "uploads"}, "key": "uploads/x.png.tmp"}}),
        json!({"source": "shop", "detail-type": "BUDGET_ANALYSIS", "detail": {"amount": 10000}}),
        json!({"source": "shop", "detail-type": "BUDGET_ANALYSIS", "detail": {"amount": 9999.5}}),
        json!({"source": "shop", "detail-type": "BUDGET_ANALYSIS", "detail": {"amount": "20000"}}),
        json!({"source": "shop", "detail-type": "order.paid", "detail": {"amount": 5}}),
        json!({"source": "shop", "detail-type": "order.paid", "detail": {"amount": 5.5}}),
        json!({"source": "shop", "detail-type": "order.paid", "detail": {"amount": 150, "coupon": "X"}}),
        json!({"source": "shop", "detail-type": "order.placed", "detail": {"amount": 0, "coupon": null}}),
        json!({"source": "shop", "detail-type": "order.placed", "detail": {"amount": "5", "coupon": ""}}),
        json!({"source": "shop", "detail-type": "x", "detail": {"tags": ["a", "b"], "state": "RUNNING"}}),
        json!({"source": "shop", "detail-type": "x", "detail": {"tags": ["c"], "state": "running"}}),
        json!({"source": "shop", "detail-type": "x", "detail": {"state": "stopped", "ip": "10.0.0.255"}}),
        json!({"source": "shop", "detail-type": "x", "detail": {"state": "stopping", "ip": "10.0.1.1"}}),
        json!({"source": "shop", "detail-type": "x", "detail": {"state": 5, "ip": "2001:db8:1::7"}}),
        json!({"source": "shop", "detail-type": "x", "detail": {"key": "a.bak", "ip": "not an ip"}}),
        json!({"source": "shop", "detail-type": "x", "detail": {"key": ["uploads/a.png", "b.tmp"]}}),
        json!({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": {"state": null}}),
    ];
    (patterns, events)
}

/// Whether moto is known to decide this pair otherwise than EventBridge, and why (see the
/// module's docs): a boolean where the pattern compares numbers, or a number where it compares
/// booleans.
fn moto_differs(pattern: &Value, event: &Value) -> Option<&'static str> {
    fn numbers_at(pattern: &Value, path: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
        let Value::Object(keys) = pattern else { return };
        for (key, value) in keys {
            match value {
                Value::Array(conditions) if key != "$or" => {
                    let numeric = conditions.iter().any(|c| {
                        c.is_number()
                            || c.is_boolean()
                            || c.get("numeric").is_some()
                            || c.get("anything-but").is_some_and(|a| {
                                a.is_number()
                                    || a.as_array().is_some_and(|l| l.iter().any(Value::is_number))
                            })
                    });
                    if numeric {
                        let mut at = path.clone();
                        at.push(key.clone());
                        found.push(at);
                    }
                }
                Value::Array(policies) => {
                    for policy in policies {
                        numbers_at(policy, path, found);
                    }
                }
                Value::Object(_) => {
                    path.push(key.clone());
                    numbers_at(value, path, found);
                    path.pop();
                }
                _ => {}
            }
        }
    }
    let mut paths = Vec::new();
    numbers_at(pattern, &mut Vec::new(), &mut paths);
    let boolean = paths.iter().any(|path| {
        let value = path.iter().try_fold(event, |v, key| v.get(key));
        match value {
            Some(v @ (Value::Bool(_) | Value::Number(_))) => mixed(pattern, path, v),
            Some(Value::Array(items)) => items.iter().any(|v| mixed(pattern, path, v)),
            _ => false,
        }
    });
    boolean.then_some("moto matches booleans and numbers alike (Python's `True == 1`)")
}

/// Whether the conditions at `path` compare `value` (a boolean or a number) with the other type.
fn mixed(pattern: &Value, path: &[String], value: &Value) -> bool {
    let Some(Value::Array(conditions)) = path.iter().try_fold(pattern, |v, key| v.get(key)) else {
        // Under `$or`: the path is in one of its policies.
        return true;
    };
    conditions.iter().any(|c| {
        let numeric = c.is_number()
            || c.get("numeric").is_some()
            || c.get("anything-but").is_some_and(|a| {
                a.is_number() || a.as_array().is_some_and(|l| l.iter().any(Value::is_number))
            });
        (numeric && value.is_boolean()) || (c.is_boolean() && value.is_number())
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn eventbridge_matches_every_pattern_as_our_matcher_does() {
    let (mut patterns, mut events) = written();
    let written_cases = patterns.len() * events.len();
    let mut random = Random(0x5EED_EB01);
    patterns.extend((0..60).map(|_| random_pattern(&mut random)));
    events.extend((0..20).map(|_| random_event(&mut random)));
    let compiled: Vec<EventPattern> = patterns
        .iter()
        .map(|p| EventPattern::from_value(p).unwrap_or_else(|e| panic!("{p}: {e}")))
        .collect();

    let moto = Moto::start();
    let config = moto.config().await;
    let eventbridge = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    eventbridge
        .create_event_bus()
        .name("diff")
        .send()
        .await
        .unwrap();
    let mut queues = Vec::with_capacity(patterns.len());
    for (i, pattern) in patterns.iter().enumerate() {
        let url = create_queue(&sqs, &format!("rule-{i}")).await;
        eventbridge
            .put_rule()
            .name(format!("rule-{i}"))
            .event_bus_name("diff")
            .event_pattern(pattern.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("moto refused {pattern}: {e:?}"));
        let arn = format!("arn:aws:sqs:us-east-1:123456789012:rule-{i}");
        target_queue(&eventbridge, &format!("rule-{i}"), "diff", "queue", &arn).await;
        queues.push(url);
    }
    // Each event carries its index in its detail, to be told apart in the queues.
    for (chunk, batch) in events.chunks(10).enumerate() {
        let entries = batch.iter().enumerate().map(|(i, event)| {
            let mut detail = event["detail"].clone();
            detail["eid"] = json!(chunk * 10 + i);
            let mut entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .event_bus_name("diff")
                .source(event["source"].as_str().unwrap())
                .detail_type(event["detail-type"].as_str().unwrap())
                .detail(detail.to_string());
            for resource in event["resources"].as_array().into_iter().flatten() {
                entry = entry.resources(resource.as_str().unwrap());
            }
            entry.build()
        });
        let answer = eventbridge
            .put_events()
            .set_entries(Some(entries.collect()))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.failed_entry_count(), 0, "{answer:?}");
    }

    let mut moto_matched: BTreeSet<(usize, usize)> = BTreeSet::new();
    for (rule, url) in queues.iter().enumerate() {
        loop {
            let batch = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            if batch.messages().is_empty() {
                break;
            }
            for message in batch.messages() {
                let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
                let eid = body["detail"]["eid"].as_u64().expect("the event's index") as usize;
                moto_matched.insert((rule, eid));
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    let mut disagreements = Vec::new();
    let mut set_aside: BTreeMap<&str, usize> = BTreeMap::new();
    let mut matched = 0;
    for (p, pattern) in compiled.iter().enumerate() {
        for (e, event) in events.iter().enumerate() {
            let ours = pattern.matches(event);
            matched += usize::from(ours);
            if ours == moto_matched.contains(&(p, e)) {
                continue;
            }
            match moto_differs(&patterns[p], event) {
                Some(why) => *set_aside.entry(why).or_default() += 1,
                None => disagreements.push(format!(
                    "pattern {p} {} on event {e} {}: ours {ours}, moto {}",
                    patterns[p], event, !ours
                )),
            }
        }
    }
    let cases = patterns.len() * events.len();
    eprintln!(
        "{cases} cases ({written_cases} written), {matched} matched by ours; set aside: {set_aside:?}"
    );
    assert!(cases >= 1000, "{cases}");
    // Neither side may match (or refuse) nearly everything: the cases must tell them apart.
    assert!(
        matched > cases / 20 && matched < cases * 19 / 20,
        "{matched} of {cases}"
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
