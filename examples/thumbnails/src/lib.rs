//! Reacting to an AWS service's event: when an image lands in the `uploads` S3 bucket (with
//! EventBridge notifications turned on), S3 puts an `Object Created` event on the account's
//! default bus; a rule takes the images and enqueues a thumbnail job for each.
//!
//! Run it in the sandbox and stand in for S3 (from the repository root):
//!
//! ```sh
//! cargo run -p cargo-eventfn -- eventfn dev -p thumbnails
//! cargo run -p cargo-eventfn -- eventfn publish --bus default --source aws.s3 \
//!   --detail-type "Object Created" \
//!   '{"bucket": {"name": "uploads"}, "object": {"key": "photos/cat.PNG", "size": 5120}}'
//! ```
//!
//! - `on_upload` is a rule on the default bus for S3's `Object Created` events of the `uploads`
//!   bucket whose key ends in `.png` or `.jpg` (in any case) and that are not empty. The
//!   thumbnails go to another bucket, so they make none of their own. It reads the event's
//!   `detail` as an [`ObjectCreated`] and enqueues a [`Thumbnail`] job.
//! - `thumbnail` consumes `thumbnails`; an object over 50 MB is refused for good
//!   (`eventfn::permanent`): no retry would shrink it.

use eventfn::{Context, queue, rule};
use serde::{Deserialize, Serialize};

/// The `detail` of S3's `Object Created` event, the fields this app reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectCreated {
    pub bucket: Bucket,
    pub object: Object,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Object {
    pub key: String,
    /// In bytes.
    pub size: u64,
}

/// Make the thumbnail of `key` in `bucket`, into the `thumbnails` bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thumbnail {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    /// The S3 event it came from.
    pub event: String,
}

/// The largest image a thumbnail is made of.
pub const MAX_IMAGE_BYTES: u64 = 50 * 1024 * 1024;

#[rule(
    bus = "default",
    pattern = r#"{"source": ["aws.s3"], "detail-type": ["Object Created"],
                  "detail": {"bucket": {"name": ["uploads"]},
                             "object": {"key": [{"suffix": {"equals-ignore-case": ".png"}},
                                                {"suffix": {"equals-ignore-case": ".jpg"}}],
                                        "size": [{"numeric": [">", 0]}]}}}"#
)]
async fn on_upload(created: ObjectCreated, ctx: Context) -> eventfn::Result<()> {
    let job = Thumbnail {
        bucket: created.bucket.name,
        key: created.object.key,
        size: created.object.size,
        event: ctx.event_id().to_owned(),
    };
    tracing::info!(key = %job.key, region = ctx.region(), "upload");
    eventfn::enqueue("thumbnails", &job).await
}

#[queue("thumbnails", timeout = "1m", memory = 2048)]
async fn thumbnail(job: Thumbnail) -> eventfn::Result<()> {
    if job.size > MAX_IMAGE_BYTES {
        return Err(eventfn::permanent(format!(
            "`{}` is {} bytes: thumbnails are made of images of at most {MAX_IMAGE_BYTES}",
            job.key, job.size
        )));
    }
    tracing::info!(key = %job.key, "thumbnail made");
    Ok(())
}
