// Every error of one attribute and one signature is reported in a single compile.
use eventfn::{Context, queue};

const BATCH: u32 = 5;

#[queue("1 thumbnails", timeout = "20m", retries = 5000, batch_size = BATCH, fifo = 1, colour = "red", memory = 64, memory = 1)]
fn thumbnail(_ctx: Context, _job: &str) {}

#[queue("ok-queue", batch_size = 20, fifo = true)]
async fn second<T>(_a: T, _b: Context, _c: u32) -> Option<()> {
    None
}

fn main() {}
