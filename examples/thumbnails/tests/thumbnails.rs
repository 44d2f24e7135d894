//! The thumbnails app's handlers, run in-process with `eventfn::testing`: S3's events stood in
//! for with `TestApp::put_event` on the default bus.

use eventfn::Kind;
use eventfn::testing::{Batch, Outcome, TestApp};
use serde_json::{Value, json};
use thumbnails::{MAX_IMAGE_BYTES, Thumbnail};

/// The `detail` of S3's `Object Created` event, as S3 writes it.
fn created(bucket: &str, key: &str, size: u64) -> Value {
    json!({
        "version": "0",
        "bucket": {"name": bucket},
        "object": {"key": key, "size": size, "etag": "b1946ac92492d2347c6235b4d2611184", "sequencer": "00617F08299329D189"},
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "123456789012",
        "source-ip-address": "1.2.3.4",
        "reason": "PutObject"
    })
}

#[tokio::test]
async fn an_image_uploaded_enqueues_its_thumbnail() {
    let app = TestApp::new().unwrap();
    let runs = app
        .put_event(
            "default",
            "aws.s3",
            "Object Created",
            &created("uploads", "photos/cat.PNG", 5120),
        )
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, Outcome::Done);
    let sent = app.published();
    assert_eq!(
        (sent[0].kind, sent[0].name.as_str()),
        (Kind::Queue, "thumbnails")
    );
    let job: Thumbnail = serde_json::from_value(sent[0].payload.clone()).unwrap();
    assert_eq!(
        (job.bucket.as_str(), job.key.as_str(), job.size),
        ("uploads", "photos/cat.PNG", 5120)
    );
    assert!(!job.event.is_empty(), "the S3 event's id");
    assert_eq!(
        app.batch("thumbnails", &[job]).await.unwrap(),
        Batch { failed: vec![] }
    );
}

#[tokio::test]
async fn other_buckets_files_sources_and_empty_objects_are_not_matched() {
    let app = TestApp::new().unwrap();
    for (source, detail_type, detail) in [
        (
            "aws.s3",
            "Object Created",
            created("thumbnails", "photos/cat.png", 10),
        ),
        (
            "aws.s3",
            "Object Created",
            created("uploads", "notes.txt", 10),
        ),
        (
            "aws.s3",
            "Object Created",
            created("uploads", "photos/empty.jpg", 0),
        ),
        (
            "aws.s3",
            "Object Deleted",
            created("uploads", "photos/cat.png", 10),
        ),
        (
            "shop",
            "Object Created",
            created("uploads", "photos/cat.png", 10),
        ),
    ] {
        let runs = app
            .put_event("default", source, detail_type, &detail)
            .await
            .unwrap();
        assert_eq!(
            runs[0].outcome,
            Outcome::Filtered,
            "{source} {detail_type} {detail}"
        );
    }
    assert!(app.published().is_empty());
}

#[tokio::test]
async fn an_image_too_large_fails_for_good_and_a_detail_of_another_shape_says_which_field() {
    let app = TestApp::new().unwrap();
    let huge = Thumbnail {
        bucket: "uploads".into(),
        key: "huge.png".into(),
        size: MAX_IMAGE_BYTES + 1,
        event: "e-1".into(),
    };
    let Outcome::Failed(why) = app.call("thumbnail", &huge, 1).await.unwrap() else {
        panic!("a huge image is refused");
    };
    assert!(why.contains("failed for good (not retried)"), "{why}");

    // S3 as no one writes it: the handler names the field of the event it cannot read.
    let mut odd = created("uploads", "photos/cat.png", 10);
    odd["object"]["size"] = json!(10.5);
    let runs = app
        .put_event("default", "aws.s3", "Object Created", &odd)
        .await
        .unwrap();
    let Outcome::Failed(why) = &runs[0].outcome else {
        panic!("{runs:?}");
    };
    assert!(
        why.contains(
            "field `detail.object.size`: invalid type: floating point `10.5`, expected u64"
        ),
        "{why}"
    );
}
