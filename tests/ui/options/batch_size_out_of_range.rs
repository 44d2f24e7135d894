// `batch_size` is 1 to 10000.
use eventfn::queue;

#[queue("thumbnails", batch_size = 10001)]
async fn thumbnail(_job: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
