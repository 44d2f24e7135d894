//! The matcher and the checker, against Amazon SNS's documented examples and recorded answers.

use super::*;

/// (policy, payload, whether Amazon SNS delivers it), each with its source:
///
/// - EX, SV, NV, KM, AO: the examples of the SNS Developer Guide's pages "Example filter
///   policies", "String value matching", "Numeric value matching", "Key matching" and
///   "AND/OR logic" (docs.aws.amazon.com/sns/latest/dg/). Where a page states a rule in prose
///   ("up to and including 150"), the case reads it on both sides of the boundary.
/// - LS: answers recorded from Amazon SNS itself for MessageBody policies, kept in LocalStack's
///   `tests/aws/services/sns/test_sns_filter_policy.snapshot.json` (dotted keys, arrays of
///   objects, nested `$or`, IPv6 `cidr`).
/// - ER: edge cases the docs leave open, decided as AWS's event-ruler (the engine whose error
///   messages SNS returns) decides them: each was run through event-ruler's
///   `Machine.rulesForJSONEvent`, and its comment names the code that decides it
///   (github.com/aws/event-ruler, `src/main/software/amazon/event/ruler/`).
///
/// Left out: the String value matching page's `wildcard` and `anything-but` with
/// `suffix`/`wildcard`, which Amazon SNS refused when recorded (2024) and this module refuses.
const CASES: &[(&str, &str, bool)] = &[
    // 1 (EX)
    (
        r#"{"store": ["example_corp"], "event": [{"anything-but": "order_cancelled"}], "customer_interests": ["rugby", "football", "baseball"], "price_usd": [{"numeric": [">=", 100]}]}"#,
        r#"{"customer_interests": ["soccer", "rugby", "hockey"], "store": "example_corp", "event": "order_placed", "price_usd": 210.75}"#,
        true,
    ),
    // 2 (EX)
    (
        r#"{"store": ["example_corp"], "event": ["order_cancelled"], "encrypted": [false], "customer_interests": ["basketball", "baseball"]}"#,
        r#"{"customer_interests": ["soccer", "rugby", "hockey"], "store": "example_corp", "event": "order_placed", "price_usd": 210.75}"#,
        false,
    ),
    // 3 (SV)
    (
        r#"{"customer_interests": ["rugby", "tennis"]}"#,
        r#"{"customer_interests": "rugby"}"#,
        true,
    ),
    // 4 (SV)
    (
        r#"{"customer_interests": ["rugby", "tennis"]}"#,
        r#"{"customer_interests": "tennis"}"#,
        true,
    ),
    // 5 (SV)
    (
        r#"{"customer_interests": ["rugby", "tennis"]}"#,
        r#"{"customer_interests": "baseball"}"#,
        false,
    ),
    // 6 (SV)
    (
        r#"{"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}"#,
        r#"{"customer_interests": "baseball"}"#,
        true,
    ),
    // 7 (SV)
    (
        r#"{"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}"#,
        r#"{"customer_interests": "football"}"#,
        true,
    ),
    // 8 (SV)
    (
        r#"{"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}"#,
        r#"{"customer_interests": ["rugby", "baseball"]}"#,
        true,
    ),
    // 9 (SV)
    (
        r#"{"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}"#,
        r#"{"customer_interests": ["rugby"]}"#,
        false,
    ),
    // 10 (SV)
    (
        r#"{"event": [{"anything-but": {"prefix": "order-"}}]}"#,
        r#"{"event": "data-entry"}"#,
        true,
    ),
    // 11 (SV)
    (
        r#"{"event": [{"anything-but": {"prefix": "order-"}}]}"#,
        r#"{"event": "order_number"}"#,
        true,
    ),
    // 12 (SV)
    (
        r#"{"event": [{"anything-but": {"prefix": "order-"}}]}"#,
        r#"{"event": "order-cancelled"}"#,
        false,
    ),
    // 17 (SV)
    (
        r#"{"customer_interests": [{"equals-ignore-case": "tennis"}]}"#,
        r#"{"customer_interests": "TENNIS"}"#,
        true,
    ),
    // 18 (SV)
    (
        r#"{"customer_interests": [{"equals-ignore-case": "tennis"}]}"#,
        r#"{"customer_interests": "teNnis"}"#,
        true,
    ),
    // 19 (SV)
    (
        r#"{"source_ip": [{"cidr": "10.0.0.0/24"}]}"#,
        r#"{"source_ip": "10.0.0.0"}"#,
        true,
    ),
    // 20 (SV)
    (
        r#"{"source_ip": [{"cidr": "10.0.0.0/24"}]}"#,
        r#"{"source_ip": "10.0.0.255"}"#,
        true,
    ),
    // 21 (SV)
    (
        r#"{"source_ip": [{"cidr": "10.0.0.0/24"}]}"#,
        r#"{"source_ip": "10.1.1.0"}"#,
        false,
    ),
    // 22 (SV)
    (
        r#"{"customer_interests": [{"prefix": "bas"}]}"#,
        r#"{"customer_interests": "baseball"}"#,
        true,
    ),
    // 23 (SV)
    (
        r#"{"customer_interests": [{"prefix": "bas"}]}"#,
        r#"{"customer_interests": "basketball"}"#,
        true,
    ),
    // 24 (SV)
    (
        r#"{"customer_interests": [{"prefix": "bas"}]}"#,
        r#"{"customer_interests": "rugby"}"#,
        false,
    ),
    // 25 (SV)
    (
        r#"{"customer_interests": [{"suffix": "ball"}]}"#,
        r#"{"customer_interests": "baseball"}"#,
        true,
    ),
    // 26 (SV)
    (
        r#"{"customer_interests": [{"suffix": "ball"}]}"#,
        r#"{"customer_interests": "basketball"}"#,
        true,
    ),
    // 27 (SV)
    (
        r#"{"customer_interests": [{"suffix": "ball"}]}"#,
        r#"{"customer_interests": "rugby"}"#,
        false,
    ),
    // 29 (NV)
    (
        r#"{"price_usd": [{"numeric": ["=", 301.5]}]}"#,
        r#"{"price_usd": 301.5}"#,
        true,
    ),
    // 30 (NV)
    (
        r#"{"price_usd": [{"numeric": ["=", 301.5]}]}"#,
        r#"{"price_usd": 3.015e2}"#,
        true,
    ),
    // 31 (NV)
    (
        r#"{"price": [{"anything-but": [100, 500]}]}"#,
        r#"{"price": 101}"#,
        true,
    ),
    // 32 (NV)
    (
        r#"{"price": [{"anything-but": [100, 500]}]}"#,
        r#"{"price": 100.1}"#,
        true,
    ),
    // 33 (NV)
    (
        r#"{"price": [{"anything-but": [100, 500]}]}"#,
        r#"{"price": [100, 50]}"#,
        true,
    ),
    // 34 (NV)
    (
        r#"{"price": [{"anything-but": [100, 500]}]}"#,
        r#"{"price": 100}"#,
        false,
    ),
    // 35 (NV)
    (
        r#"{"price_usd": [{"numeric": ["<", 0]}]}"#,
        r#"{"price_usd": -1}"#,
        true,
    ),
    // 36 (NV)
    (
        r#"{"price_usd": [{"numeric": ["<", 0]}]}"#,
        r#"{"price_usd": 0}"#,
        false,
    ),
    // 37 (NV)
    (
        r#"{"price_usd": [{"numeric": [">", 0, "<=", 150]}]}"#,
        r#"{"price_usd": 150}"#,
        true,
    ),
    // 38 (NV)
    (
        r#"{"price_usd": [{"numeric": [">", 0, "<=", 150]}]}"#,
        r#"{"price_usd": 0}"#,
        false,
    ),
    // 39 (NV)
    (
        r#"{"price_usd": [{"numeric": [">", 0, "<=", 150]}]}"#,
        r#"{"price_usd": 150.5}"#,
        false,
    ),
    // 40 (KM)
    (
        r#"{"store": [{"exists": true}]}"#,
        r#"{"store": "fans", "customer_interests": ["baseball", "basketball"]}"#,
        true,
    ),
    // 41 (KM)
    (
        r#"{"store": [{"exists": true}]}"#,
        r#"{"customer_interests": ["baseball", "basketball"]}"#,
        false,
    ),
    // 42 (KM)
    (
        r#"{"store": [{"exists": false}]}"#,
        r#"{"store": "fans", "customer_interests": ["baseball", "basketball"]}"#,
        false,
    ),
    // 43 (KM)
    (
        r#"{"store": [{"exists": false}]}"#,
        r#"{"customer_interests": ["baseball", "basketball"]}"#,
        true,
    ),
    // 44 (AO)
    (
        r#"{"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]}"#,
        r#"{"customer_interests": "rugby", "price_usd": 101}"#,
        true,
    ),
    // 45 (AO)
    (
        r#"{"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]}"#,
        r#"{"customer_interests": "rugby", "price_usd": 100}"#,
        false,
    ),
    // 46 (AO)
    (
        r#"{"customer_interests": ["rugby", "football", "baseball"]}"#,
        r#"{"customer_interests": "football"}"#,
        true,
    ),
    // 47 (AO)
    (
        r#"{"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]}"#,
        r#"{"source": "aws.cloudwatch", "metricName": "CPUUtilization"}"#,
        true,
    ),
    // 48 (AO)
    (
        r#"{"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]}"#,
        r#"{"source": "aws.cloudwatch", "namespace": "AWS/EC2"}"#,
        true,
    ),
    // 49 (AO)
    (
        r#"{"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]}"#,
        r#"{"source": "aws.cloudwatch"}"#,
        false,
    ),
    // 50 (LS)
    (
        r#"{"object": {"key": [{"prefix": "auto-"}, "hardcodedvalue"], "nested_key": [{"exists": false}]}, "test": [{"exists": false}]}"#,
        r#"{"object": {"key": "auto-test"}}"#,
        true,
    ),
    // 51 (LS)
    (
        r#"{"object": {"key": [{"prefix": "auto-"}, "hardcodedvalue"], "nested_key": [{"exists": false}]}, "test": [{"exists": false}]}"#,
        r#"{"object": {"key": "hardcodedvalue"}}"#,
        true,
    ),
    // 52 (LS)
    (
        r#"{"object": {"key": [{"prefix": "auto-"}, "hardcodedvalue"], "nested_key": [{"exists": false}]}, "test": [{"exists": false}]}"#,
        r#"{"object": {"key": "test-auto"}}"#,
        false,
    ),
    // 53 (LS)
    (
        r#"{"object": {"key": [{"prefix": "auto-"}, "hardcodedvalue"], "nested_key": [{"exists": false}]}, "test": [{"exists": false}]}"#,
        r#"{"object": {"key": "auto-test"}, "test": "just-exists"}"#,
        false,
    ),
    // 54 (LS)
    (
        r#"{"object": {"key": [{"prefix": "auto-"}, "hardcodedvalue"], "nested_key": [{"exists": false}]}, "test": [{"exists": false}]}"#,
        r#"{"object": {"key": "auto-test", "nested_key": "just-exists"}}"#,
        false,
    ),
    // 55 (LS)
    (
        r#"{"object": {"key": [{"prefix": "auto-"}, "hardcodedvalue"], "nested_key": [{"exists": false}]}, "test": [{"exists": false}]}"#,
        r#"{"object": {"test": "auto-test"}}"#,
        false,
    ),
    // 56 (LS)
    (
        r#"{"object": {"key": [{"prefix": "auto-"}, "hardcodedvalue"], "nested_key": [{"exists": false}]}, "test": [{"exists": false}]}"#,
        r#"{"test": "auto-test"}"#,
        false,
    ),
    // 57 (LS)
    (
        r#"{"object": {"key": [{"prefix": "auto-"}, "hardcodedvalue"], "nested_key": [{"exists": false}]}, "test": [{"exists": false}]}"#,
        r#"Regular string message"#,
        false,
    ),
    // 58 (LS)
    (
        r#"{"object": {"key": [{"prefix": "auto-"}, "hardcodedvalue"], "nested_key": [{"exists": false}]}, "test": [{"exists": false}]}"#,
        r#""Regular string message""#,
        false,
    ),
    // 59 (LS)
    (
        r#"{"object.nested": ["string.value"]}"#,
        r#"{"object": {"nested": "string.value"}}"#,
        true,
    ),
    // 60 (LS)
    (
        r#"{"object.nested": ["string.value"]}"#,
        r#"{"object.nested": "string.value"}"#,
        true,
    ),
    // 61 (LS)
    (
        r#"{"object.nested": ["string.value"]}"#,
        r#"{"object": {"nested": "test-auto"}}"#,
        false,
    ),
    // 62 (LS)
    (
        r#"{"object.nested.test": ["string.value"]}"#,
        r#"{"object": {"nested": {"test": "string.value"}}}"#,
        true,
    ),
    // 63 (LS)
    (
        r#"{"object.nested.test": ["string.value"]}"#,
        r#"{"object.nested.test": "string.value"}"#,
        true,
    ),
    // 64 (LS)
    (
        r#"{"object.nested.test": ["string.value"]}"#,
        r#"{"object.nested": {"test": "string.value"}}"#,
        true,
    ),
    // 65 (LS)
    (
        r#"{"object.nested.test": ["string.value"]}"#,
        r#"{"object": {"nested.test": "string.value"}}"#,
        true,
    ),
    // 66 (LS)
    (
        r#"{"object.nested.test": ["string.value"]}"#,
        r#"{"object": {"nested": {"test": "string.notvalue"}}}"#,
        false,
    ),
    // 67 (LS)
    (
        r#"{"headers": {"route-to": ["queue1"]}}"#,
        r#"{"headers": {"route-to": ["queue3"]}}"#,
        false,
    ),
    // 68 (LS)
    (
        r#"{"headers": {"route-to": ["queue1"]}}"#,
        r#"{"headers": {"route-to": ["queue1"]}}"#,
        true,
    ),
    // 69 (LS)
    (
        r#"{"headers": {"route-to": ["queue1"]}}"#,
        r#"{"headers": {"route-to": ["queue2"]}}"#,
        false,
    ),
    // 70 (LS)
    (
        r#"{"headers": {"route-to": ["queue1"]}}"#,
        r#"{"headers": {"route-to": ["queue1", "queue2"]}}"#,
        true,
    ),
    // 71 (LS)
    (
        r#"{"Records": {"s3": {"object": {"key": [{"prefix": "auto-"}]}}, "eventName": [{"prefix": "ObjectCreated:"}]}}"#,
        r#"{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"object": [[{"key": "auto-insurance-2314.xml", "size": 17}]]}}, {"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete", "s3": {"object": {"key": "home-insurance-2314.xml", "size": 17}}}]}"#,
        true,
    ),
    // 72 (LS)
    (
        r#"{"Records": {"s3": {"object": {"key": [{"prefix": "auto-"}]}}, "eventName": [{"prefix": "ObjectCreated:"}]}}"#,
        r#"{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete", "s3": {"object": {"key": "auto-insurance-2314.xml", "size": 17}}}]}"#,
        false,
    ),
    // 73 (LS)
    (
        r#"{"Records": {"s3": {"object": {"key": [{"prefix": "auto-"}]}}, "eventName": [{"prefix": "ObjectCreated:"}]}}"#,
        r#"{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"object": {"key": "home-insurance-2314.xml", "size": 17}}}]}"#,
        false,
    ),
    // 74 (LS)
    (
        r#"{"Records": {"s3": {"object": {"key": [{"prefix": "auto-"}]}}, "eventName": [{"prefix": "ObjectCreated:"}]}}"#,
        r#"{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"object": {"key": "auto-insurance-2314.xml", "size": 17}}}]}"#,
        true,
    ),
    // 75 (LS)
    (
        r#"{"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}], "detail": {"scope": ["Service"], "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}]}}"#,
        r#"{"metricName": "CPUUtilization", "detail": {"scope": "aws.cloudwatch", "type": "CloudWatch Alarm State Change"}}"#,
        false,
    ),
    // 76 (LS)
    (
        r#"{"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}], "detail": {"scope": ["Service"], "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}]}}"#,
        r#"{"metricName": "CPUUtilization", "detail": {"scope": "Service", "type": "CPUUtilization"}}"#,
        false,
    ),
    // 77 (LS)
    (
        r#"{"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}], "detail": {"scope": ["Service"], "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}]}}"#,
        r#"{"metricName": "CPUUtilization", "detail": {"type": "CloudWatch Alarm State Change"}}"#,
        false,
    ),
    // 78 (LS)
    (
        r#"{"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}], "detail": {"scope": ["Service"], "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}]}}"#,
        r#"{"metricName": "CPUUtilization", "detail": {"scope": "Service"}}"#,
        false,
    ),
    // 79 (LS)
    (
        r#"{"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}], "detail": {"scope": ["Service"], "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}]}}"#,
        r#"{"metricName": "CPUUtilization", "scope": "Service"}"#,
        false,
    ),
    // 80 (LS)
    (
        r#"{"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}], "detail": {"scope": ["Service"], "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}]}}"#,
        r#"{"metricName": "AWS/EC2", "detail": {"scope": "Service", "type": "CloudWatch Alarm State Change"}}"#,
        false,
    ),
    // 81 (LS)
    (
        r#"{"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}], "detail": {"scope": ["Service"], "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}]}}"#,
        r#"{"namespace": "CPUUtilization", "detail": {"scope": "Service", "type": "CloudWatch Alarm State Change"}}"#,
        false,
    ),
    // 82 (LS)
    (
        r#"{"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}], "detail": {"scope": ["Service"], "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}]}}"#,
        r#"{"metricName": "CPUUtilization", "detail": {"scope": "Service", "source": "aws.cloudwatch"}}"#,
        true,
    ),
    // 83 (LS)
    (
        r#"{"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}], "detail": {"scope": ["Service"], "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}]}}"#,
        r#"{"metricName": "ReadLatency", "detail": {"scope": "Service", "source": "aws.cloudwatch"}}"#,
        true,
    ),
    // 84 (LS)
    (
        r#"{"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}], "detail": {"scope": ["Service"], "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}]}}"#,
        r#"{"namespace": "AWS/EC2", "detail": {"scope": "Service", "source": "aws.cloudwatch"}}"#,
        true,
    ),
    // 85 (LS)
    (
        r#"{"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}], "detail": {"scope": ["Service"], "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}]}}"#,
        r#"{"namespace": "AWS/ES", "detail": {"scope": "Service", "source": "aws.cloudwatch"}}"#,
        true,
    ),
    // 86 (LS)
    (
        r#"{"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}], "detail": {"scope": ["Service"], "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}]}}"#,
        r#"{"metricName": "CPUUtilization", "detail": {"scope": "Service", "type": "CloudWatch Alarm State Change"}}"#,
        true,
    ),
    // 87 (LS)
    (
        r#"{"detail": {"eventVersion": [""]}}"#,
        r#"{"version": "0", "resources": [], "detail": {"eventVersion": "", "responseElements": null}}"#,
        true,
    ),
    // 88 (LS)
    (
        r#"{"detail": {"$or": [{"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}, {"sourceIPAddressV6": [{"cidr": "2001:db8:1234:1a00::/64"}]}]}}"#,
        r#"{"id": "1", "detail": {"sourceIPAddress": "10.0.0.255"}}"#,
        true,
    ),
    // 89 (LS)
    (
        r#"{"detail": {"$or": [{"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}, {"sourceIPAddressV6": [{"cidr": "2001:db8:1234:1a00::/64"}]}]}}"#,
        r#"{"id": "2", "detail": {"sourceIPAddress": "10.0.0.256"}}"#,
        false,
    ),
    // 90 (LS)
    (
        r#"{"detail": {"$or": [{"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}, {"sourceIPAddressV6": [{"cidr": "2001:db8:1234:1a00::/64"}]}]}}"#,
        r#"{"id": "3", "detail": {"sourceIPAddressV6": "2001:0db8:1234:1a00:0000:0000:0000:0000"}}"#,
        true,
    ),
    // 91 (LS)
    (
        r#"{"detail": {"$or": [{"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}, {"sourceIPAddressV6": [{"cidr": "2001:db8:1234:1a00::/64"}]}]}}"#,
        r#"{"id": "4", "detail": {"sourceIPAddressV6": "2001:0db8:123f:1a01:0000:0000:0000:0000"}}"#,
        false,
    ),
    // 92 (ER)
    (r#"{"n": [5]}"#, r#"{"n": "5"}"#, false),
    // 93 (ER)
    (r#"{"n": ["5"]}"#, r#"{"n": 5}"#, false),
    // 94 (ER)
    (r#"{"n": [5]}"#, r#"{"n": 5.0}"#, true),
    // 95 (ER)
    (r#"{"b": [true]}"#, r#"{"b": true}"#, true),
    // 96 (ER)
    (r#"{"b": [true]}"#, r#"{"b": "true"}"#, false),
    // 97 (ER)
    (r#"{"b": [1]}"#, r#"{"b": true}"#, false),
    // 98 (ER)
    (r#"{"z": [null]}"#, r#"{"z": null}"#, true),
    // 99 (ER)
    (
        r#"{"n": [{"numeric": [">", 1]}]}"#,
        r#"{"n": [0, 5]}"#,
        true,
    ),
    // 100 (ER)
    (r#"{"n": [{"numeric": [">", 1]}]}"#, r#"{"n": "5"}"#, false),
    // 101 (ER)
    (
        r#"{"s": [{"prefix": "ab"}]}"#,
        r#"{"s": ["x", "abc"]}"#,
        true,
    ),
    // 102 (ER)
    (
        r#"{"s": [{"equals-ignore-case": "RUGBY"}]}"#,
        r#"{"s": "rugby"}"#,
        true,
    ),
    // 103 (ER)
    (r#"{"a": {"b": [{"exists": false}]}}"#, r#"{"c": 1}"#, true),
    // 104 (ER)
    (
        r#"{"a": {"b": ["x"]}}"#,
        r#"{"a": [{"b": "y"}, {"b": "x"}]}"#,
        true,
    ),
    // 105 (ER)
    (r#"{"s": ["hello"]}"#, r#"{"s": "\"hello world\""}"#, false),
    // 106 (ER)
    (r#"{"s": ["rugby"]}"#, r#"{"s": "[\"rugby\"]"}"#, false),
    // 107 (ER)
    (r#"{"a": ["x"]}"#, r#"[{"a": "x"}]"#, false),
    // 108 (ER) `anything-but` with `prefix` on what is not a string: event-ruler's
    // `ByteMachine.doTransitionOn` fails an ANYTHING_BUT_PREFIX only on a value whose bytes begin
    // with `"x` (`JsonRuleCompiler.generateValueBasedOnMatchType`); `5`, `true` and `null` never do.
    (
        r#"{"a": [{"anything-but": {"prefix": "x"}}]}"#,
        r#"{"a": 5}"#,
        true,
    ),
    // 109 (ER) as 108
    (
        r#"{"a": [{"anything-but": {"prefix": "x"}}]}"#,
        r#"{"a": true}"#,
        true,
    ),
    // 110 (ER) as 108
    (
        r#"{"a": [{"anything-but": {"prefix": "x"}}]}"#,
        r#"{"a": null}"#,
        true,
    ),
    // 111 (ER) as 108: one value of the array that passes is enough
    (
        r#"{"a": [{"anything-but": {"prefix": "x"}}]}"#,
        r#"{"a": ["xa", 5]}"#,
        true,
    ),
    // 112 (ER) as 108
    (
        r#"{"a": [{"anything-but": {"prefix": "x"}}]}"#,
        r#"{"a": ["xa", "xb"]}"#,
        false,
    ),
    // 113 (ER) `ByteMachine.transitionOn` runs only on a value the payload has: no key, no match
    (
        r#"{"a": [{"anything-but": {"prefix": "x"}}]}"#,
        r#"{"b": 5}"#,
        false,
    ),
    // 114 (ER) plain `anything-but` lets the same types through (`ByteMachine.doTransitionOn`,
    // ANYTHING_BUT: fails only on an exact match of `"x"`)
    (
        r#"{"a": [{"anything-but": ["x"]}]}"#,
        r#"{"a": false}"#,
        true,
    ),
    // 115 (ER) as 114
    (
        r#"{"a": [{"anything-but": ["x"]}]}"#,
        r#"{"a": null}"#,
        true,
    ),
    // 116 (ER) a nested key and a payload key with dots: both flatten to the path `a.b`
    // (`JsonRuleCompiler.parseObject` with `Path.extendedName`; `Event.addField` with
    // `Path.name`), so `GenericMachine.isFieldStepUsed` "cannot distinguish the "." is from
    // original event or added by us when we flatten the event". LS 60, 63-65: AWS's own answers.
    (r#"{"a": {"b": ["x"]}}"#, r#"{"a.b": "x"}"#, true),
    // 117 (ER) as 116
    (r#"{"a": {"b": ["x"]}}"#, r#"{"a.b": "y"}"#, false),
    // 118 (ER) as 116, one level down
    (
        r#"{"a": {"b": {"c": ["x"]}}}"#,
        r#"{"a": {"b.c": "x"}}"#,
        true,
    ),
    // 119 (ER) as 116: the path is `a.b.c`, not `a.b`
    (r#"{"a": {"b": ["x"]}}"#, r#"{"a.b": {"c": "x"}}"#, false),
    // 120 (ER) as 116: `a.b` is there, so it does not not exist
    (
        r#"{"a": {"b": [{"exists": false}]}}"#,
        r#"{"a.b": 1}"#,
        false,
    ),
    // 121 (ER) `exists: false` in an array of objects: `NameState.getNameTransitions` (called
    // from `ACFinder.tryMustNotExistMatch`) fails it on any field of the path that is
    // array-consistent with what matched before; with nothing before, any element's field does.
    (
        r#"{"a": {"b": [{"exists": false}]}}"#,
        r#"{"a": [{"b": 1}, {"c": 2}]}"#,
        false,
    ),
    // 122 (ER) as 121: no element has `b`
    (
        r#"{"a": {"b": [{"exists": false}]}}"#,
        r#"{"a": [{"c": 1}, {"c": 2}]}"#,
        true,
    ),
    // 123 (ER) as 121: `a.b` comes first (`GenericMachine.addPatternRule` sorts the paths) and
    // binds element 0, where `c` is absent; `c` of element 1 is not array-consistent with it
    // (`ArrayMembership.checkArrayConsistency`)
    (
        r#"{"a": {"b": ["x"], "c": [{"exists": false}]}}"#,
        r#"{"a": [{"b": "x"}, {"c": 1}]}"#,
        true,
    ),
    // 124 (ER) as 121: `a.b` comes first, with nothing bound yet, and element 1 has it
    (
        r#"{"a": {"b": [{"exists": false}], "c": ["x"]}}"#,
        r#"{"a": [{"c": "x"}, {"b": 1}]}"#,
        false,
    ),
    // 125 (ER) as 124, without the element that has `b`
    (
        r#"{"a": {"b": [{"exists": false}], "c": ["x"]}}"#,
        r#"{"a": [{"c": "x"}]}"#,
        true,
    ),
    // 126 (ER) keys with dots into an array of objects hold in one element, as nested keys do
    // (`ACFinder`, `ArrayMembership.checkArrayConsistency`): the paths are the same
    (
        r#"{"a.b": ["x"], "a.c": ["y"]}"#,
        r#"{"a": [{"b": "x"}, {"c": "y"}]}"#,
        false,
    ),
    // 127 (ER) as 126
    (
        r#"{"a.b": ["x"], "a.c": ["y"]}"#,
        r#"{"a": [{"b": "x", "c": "y"}]}"#,
        true,
    ),
    // 128 (ER) the scalars of an array are no elements to bind (`Event.loadArray` gives
    // membership to objects and arrays only)
    (
        r#"{"a": {"b": ["x"], "c": ["y"]}}"#,
        r#"{"a": {"b": ["q", "x"], "c": ["y"]}}"#,
        true,
    ),
    // 129 (ER) an `$or` policy and the keys beside it make one rule
    // (`JsonRuleCompiler.parseIntoOrRelationship`), bound to one element like any other
    (
        r#"{"$or": [{"a": {"b": ["x"]}}, {"c": ["y"]}], "a": {"d": ["z"]}}"#,
        r#"{"a": [{"b": "x"}, {"d": "z"}]}"#,
        false,
    ),
    // 130 (ER) as 129
    (
        r#"{"$or": [{"a": {"b": ["x"]}}, {"c": ["y"]}], "a": {"d": ["z"]}}"#,
        r#"{"a": [{"b": "x", "d": "z"}]}"#,
        true,
    ),
];

#[test]
fn the_documented_cases_match_as_amazon_sns_matches_them() {
    assert!(CASES.len() >= 40);
    let mut wrong = Vec::new();
    for (i, (policy, payload, expected)) in CASES.iter().enumerate() {
        let checked = FilterPolicy::parse(policy)
            .unwrap_or_else(|e| panic!("case {i}: policy {policy} refused: {e}"));
        if checked.matches_json(payload) != *expected {
            wrong.push(format!(
                "case {i}: {policy} on {payload}: expected {expected}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn refused(policy: &str) -> String {
    match FilterPolicy::parse(policy) {
        Ok(_) => panic!("accepted: {policy}"),
        Err(e) => e.to_string(),
    }
}

fn combinations(policy: &str) -> u64 {
    let tree: Tree = serde_json::from_str(policy).unwrap();
    let Tree::Object(entries) = tree else {
        panic!()
    };
    group(&entries, &mut Path::new(Dialect::Sns))
        .unwrap()
        .combinations(1)
}

#[test]
fn combinations_count_as_the_sns_docs_count_them() {
    // "Filter policy constraints": 3 x 1 x 2 = 6, and the nested 3 x 4 x 2 x 3 = 72.
    assert_eq!(
        combinations(
            r#"{"key_a": ["one", "two", "three"], "key_b": ["one"], "key_c": ["one", "two"]}"#
        ),
        6
    );
    assert_eq!(
        combinations(
            r#"{"key_a": {"key_b": {"key_c": ["1", "2", "3", "4"]}}, "key_d": {"key_e": ["1", "2", "3"]}}"#
        ),
        72
    );
    // "AND/OR logic": (1 * 2) + (1 * 1 * 2) + (1 * 1 * 3) = 7, and the nested example's 32.
    assert_eq!(
        combinations(
            r#"{"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"metricType": ["MetricType"], "$or": [{"metricId": [1234, 4321]}, {"spaceId": [1000, 2000, 3000]}]}]}"#
        ),
        7
    );
    assert_eq!(
        combinations(
            r#"{"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}], "detail": {"scope": ["Service"], "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}]}}"#
        ),
        32
    );
}

#[test]
fn the_limits_are_amazon_sns_limits() {
    // Recorded from Amazon SNS: 150 combinations accepted, 152 refused.
    let at_limit = r#"{"source": ["a", "b", "c"], "$or": [{"metricName": ["1", "2", "3", "4", "5", "6"]}, {"metricType": ["1", "2", "3", "4"], "$or": [{"metricId": [1, 2, 3, 4]}, {"spaceId": [1, 2, 3, 4, 5, 6, 7]}]}]}"#;
    assert!(FilterPolicy::parse(at_limit).is_ok());
    let over = at_limit.replace(r#""metricName": ["1","#, r#""metricName": ["0", "1","#);
    assert_eq!(combinations(&over), 153);
    assert!(refused(&over).contains("153 combinations of values: Amazon SNS takes at most 150"));

    let values: Vec<String> = (0..151).map(|i| format!("\"v{i}\"")).collect();
    let many = format!(r#"{{"k": [{}]}}"#, values.join(","));
    assert!(refused(&many).contains("151 combinations"));

    let six = r#"{"a": ["x"], "b": ["x"], "c": ["x"], "d": ["x"], "e": ["x"], "f": ["x"]}"#;
    assert_eq!(
        refused(six),
        "the filter has 6 keys at its top (a, b, c, d, e, f): Amazon SNS takes at most 5; group some under a nested object"
    );
    // Only top keys count: nested ones do not.
    let nested =
        r#"{"a": {"b": ["x"], "c": ["x"], "d": ["x"], "e": ["x"], "f": ["x"], "g": ["x"]}}"#;
    assert!(FilterPolicy::parse(nested).is_ok());
    // The keys of `$or` policies count.
    let or =
        r#"{"a": ["x"], "b": ["x"], "c": ["x"], "$or": [{"d": ["x"]}, {"e": ["x"], "f": ["x"]}]}"#;
    assert!(refused(or).contains("6 keys at its top (a, b, c, d, e, f)"));

    assert_eq!(
        refused(r#"{"n": [1000000001]}"#),
        "at `n[0]`: 1000000001 is out of range: Amazon SNS compares numbers from -1000000000 to 1000000000"
    );
    assert!(FilterPolicy::parse(r#"{"n": [-1000000000, 999999999.99999]}"#).is_ok());
    assert_eq!(
        refused(r#"{"n": [{"numeric": [">", 0.123456]}]}"#),
        "at `n[0].numeric[1]`: 0.123456 has more than five decimals, which Amazon SNS does not compare"
    );
    let big = format!(r#"{{"k": ["{}"]}}"#, "x".repeat(MAX_POLICY_BYTES));
    assert!(refused(&big).contains("Amazon SNS takes at most 256 KB"));
}

#[test]
fn every_invalid_form_is_refused_with_where_and_why() {
    let cases: &[(&str, &str)] = &[
        (
            "not json",
            "the policy is not valid JSON: expected ident at line 1 column 2",
        ),
        (
            r#"["a"]"#,
            "a filter is a JSON object of payload keys, like {\"country\": [\"NL\"]}, not an array",
        ),
        (
            "{}",
            "the filter is empty, so it would let every payload through: leave `filter` out instead",
        ),
        (
            r#"{"a": ["x"], "a": ["y"]}"#,
            "the policy cannot be read: key \"a\" is given twice at line 1 column 16",
        ),
        (
            r#"{"a": "x"}"#,
            "at `a`: a key takes an array of conditions, like [\"x\"], or an object of keys; not the string \"x\"",
        ),
        (
            r#"{"a": []}"#,
            "at `a`: an empty array matches nothing: list the values or conditions that let a payload through",
        ),
        (
            r#"{"a": {}}"#,
            "at `a`: an empty object matches nothing: give it keys, or conditions in an array",
        ),
        (
            r#"{"a": [["x"]]}"#,
            "at `a[0]`: an array in an array: a condition is a string, a number, true, false, null or an object like {\"prefix\": \"...\"}",
        ),
        (
            r#"{"a": {"prefix": "x"}}"#,
            "at `a`: `prefix` is read as a key of the payload here: put the condition in an array, like [{\"prefix\": ...}]",
        ),
        (
            r#"{"a": [{}]}"#,
            "at `a[0]`: an empty condition: write one like {\"prefix\": \"...\"} or {\"exists\": true}",
        ),
        (
            r#"{"a": [{"prefix": "x", "suffix": "y"}]}"#,
            "at `a[0]`: a condition has one operator, this one has 2: `prefix`, `suffix`; to allow either, write each as its own condition in the array",
        ),
        (
            r#"{"a": [{"wrong": 1}]}"#,
            "at `a[0].wrong`: unknown operator `wrong`: expected one of `prefix`, `suffix`, `equals-ignore-case`, `anything-but`, `numeric`, `exists`, `cidr`",
        ),
        (
            r#"{"a": [{"wildcard": "*x"}]}"#,
            "at `a[0].wildcard`: `wildcard` is not supported: that Amazon SNS honors it in payload filters is not confirmed, so the sandbox could not promise to match as AWS does; use `prefix`, `suffix` or `equals-ignore-case`",
        ),
        (
            r#"{"a": [{"prefix": 1}]}"#,
            "at `a[0].prefix`: `prefix` takes a string, like {\"prefix\": \"abc\"}; not the number 1",
        ),
        (
            r#"{"a": [{"suffix": null}]}"#,
            "at `a[0].suffix`: `suffix` takes a string, like {\"suffix\": \"abc\"}; not null",
        ),
        (
            r#"{"a": [{"equals-ignore-case": 5}]}"#,
            "at `a[0].equals-ignore-case`: `equals-ignore-case` takes a string, like {\"equals-ignore-case\": \"abc\"}; not the number 5",
        ),
        (
            r#"{"a": [{"exists": "yes"}]}"#,
            "at `a[0].exists`: `exists` takes true or false; not the string \"yes\"",
        ),
        (
            r#"{"a": [{"anything-but": []}]}"#,
            "at `a[0].anything-but`: `anything-but` with an empty array excludes nothing: list what to exclude",
        ),
        (
            r#"{"a": [{"anything-but": [true]}]}"#,
            "at `a[0].anything-but[0]`: `anything-but` lists strings or numbers; not `true`",
        ),
        (
            r#"{"a": [{"anything-but": ["x", 1]}]}"#,
            "at `a[0].anything-but`: `anything-but` lists either strings or numbers, not both: Amazon SNS refuses a mix",
        ),
        (
            r#"{"a": [{"anything-but": {"suffix": "x"}}]}"#,
            "at `a[0].anything-but`: `anything-but` takes `prefix` as its only operator; Amazon SNS refuses `suffix` there",
        ),
        (
            r#"{"a": [{"anything-but": {"prefix": false}}]}"#,
            "at `a[0].anything-but.prefix`: `prefix` takes a string, like {\"prefix\": \"abc\"}; not `false`",
        ),
        (
            r#"{"a": [{"anything-but": null}]}"#,
            "at `a[0].anything-but`: `anything-but` takes a string, a number, an array of them, or {\"prefix\": \"...\"}; not null",
        ),
        (
            r#"{"a": [{"numeric": 5}]}"#,
            "at `a[0].numeric`: `numeric` takes an array; write it like [\"=\", 5], [\">\", 0] or [\">\", 0, \"<=\", 150]; not the number 5",
        ),
        (
            r#"{"a": [{"numeric": []}]}"#,
            "at `a[0].numeric`: `numeric` takes one or two pairs of an operator and a number; write it like [\"=\", 5], [\">\", 0] or [\">\", 0, \"<=\", 150]",
        ),
        (
            r#"{"a": [{"numeric": [">", 20, "<", 30, "<", 50]}]}"#,
            "at `a[0].numeric`: `numeric` takes one or two pairs of an operator and a number; write it like [\"=\", 5], [\">\", 0] or [\">\", 0, \"<=\", 150]",
        ),
        (
            r#"{"a": [{"numeric": [1, "<="]}]}"#,
            "at `a[0].numeric[0]`: expected an operator (`=`, `<`, `<=`, `>`, `>=`), found the number 1; write it like [\"=\", 5], [\">\", 0] or [\">\", 0, \"<=\", 150]",
        ),
        (
            r#"{"a": [{"numeric": ["=", "000"]}]}"#,
            "at `a[0].numeric[1]`: `=` takes a number, not the string \"000\"",
        ),
        (
            r#"{"a": [{"numeric": ["~", 1]}]}"#,
            "at `a[0].numeric[0]`: unknown numeric operator `~`: expected `=`, `<`, `<=`, `>` or `>=`",
        ),
        (
            r#"{"a": [{"numeric": ["<", 100, ">", 10]}]}"#,
            "at `a[0].numeric[2]`: `>` cannot follow: a range is a lower bound (`>`, `>=`) then an upper one (`<`, `<=`), and `=` stands alone; write it like [\"=\", 5], [\">\", 0] or [\">\", 0, \"<=\", 150]",
        ),
        (
            r#"{"a": [{"numeric": ["=", 1, "<", 10]}]}"#,
            "at `a[0].numeric[2]`: `<` cannot follow: a range is a lower bound (`>`, `>=`) then an upper one (`<`, `<=`), and `=` stands alone; write it like [\"=\", 5], [\">\", 0] or [\">\", 0, \"<=\", 150]",
        ),
        (
            r#"{"a": [{"numeric": [">", 3, "<", 1]}]}"#,
            "at `a[0].numeric`: the range is empty: its lower bound 3 is not below its upper bound 1",
        ),
        (
            r#"{"a": [{"cidr": "10.0.0.0"}]}"#,
            "at `a[0].cidr`: `10.0.0.0` is not a CIDR block: write an address, `/` and a prefix length, like \"10.0.0.0/24\"",
        ),
        (
            r#"{"a": [{"cidr": "bad/24"}]}"#,
            "at `a[0].cidr`: `bad` in `bad/24` is not an IPv4 or IPv6 address",
        ),
        (
            r#"{"a": [{"cidr": "10.0.0.0/33"}]}"#,
            "at `a[0].cidr`: `33` in `10.0.0.0/33` is not a prefix length: a whole number from 0 to 32",
        ),
        (
            r#"{"$or": [{"a": ["x"]}]}"#,
            "at `$or`: `$or` takes an array of at least two objects of keys, like [{\"a\": [\"x\"]}, {\"b\": [\"y\"]}]: with only 1, Amazon SNS would read it as a payload key named `$or`",
        ),
        (
            r#"{"$or": {"a": ["x"]}}"#,
            "at `$or`: `$or` takes an array of at least two objects of keys, like [{\"a\": [\"x\"]}, {\"b\": [\"y\"]}]; not an object",
        ),
        (
            r#"{"$or": [{"a": ["x"]}, "b"]}"#,
            "at `$or[1]`: `$or` takes an array of at least two objects of keys, like [{\"a\": [\"x\"]}, {\"b\": [\"y\"]}]; not the string \"b\"",
        ),
        (
            r#"{"$or": [{"a": ["x"]}, {}]}"#,
            "at `$or[1]`: an empty policy in `$or` matches nothing",
        ),
        (
            r#"{"$or": [{"numeric": 123}, {"prefix": "abc"}]}"#,
            "at `$or[0]`: `numeric` is a condition, not a key: each policy in `$or` is an object of payload keys, like {\"a\": [{\"numeric\": ...}]}",
        ),
        (
            r#"{"a.b": ["x"], "a": {"b": ["y"]}}"#,
            "the payload path `a.b` is given twice, so Amazon SNS would keep only the last of its arrays; put all its conditions in one array ({\"a\": {\"b\": ...}} and {\"a.b\": ...} are one path, and the keys beside `$or` join each of its policies)",
        ),
        (
            r#"{"a": ["x"], "$or": [{"a": ["y"]}, {"b": ["z"]}]}"#,
            "the payload path `a` is given twice, so Amazon SNS would keep only the last of its arrays; put all its conditions in one array ({\"a\": {\"b\": ...}} and {\"a.b\": ...} are one path, and the keys beside `$or` join each of its policies)",
        ),
        (
            r#"{"a": {"b c": {"d": [{"exists": 1}]}}}"#,
            "at `a[\"b c\"].d[0].exists`: `exists` takes true or false; not the number 1",
        ),
    ];
    let mut wrong = Vec::new();
    for (policy, expected) in cases {
        let got = refused(policy);
        if got != *expected {
            wrong.push(format!(
                "{policy}\n  expected: {expected}\n       got: {got}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn payload_keys_named_like_operators_are_keys() {
    let policy = FilterPolicy::parse(r#"{"name": {"prefix": ["Mr"]}}"#).unwrap();
    assert!(policy.matches(&serde_json::json!({"name": {"prefix": "Mr"}})));
    assert!(!policy.matches(&serde_json::json!({"name": "Mr Smith"})));
}

#[test]
fn policies_read_back_from_their_json_as_written() {
    let text = r#"{"total": [{"numeric": [">", 100]}], "country": ["NL", "BE"]}"#;
    let policy = FilterPolicy::parse(text).unwrap();
    let again = FilterPolicy::from_value(policy.to_value()).unwrap();
    assert_eq!(again.to_value(), policy.to_value());
    assert!(again.matches(&serde_json::json!({"total": 120, "country": "NL"})));
    assert!(!again.matches(&serde_json::json!({"total": 100, "country": "NL"})));
    assert!(!again.matches(&serde_json::json!({"total": "120", "country": "NL"})));
}
