// `fifo` is `true` or `false`.
use eventfn::queue;

#[queue("thumbnails", fifo = "yes")]
async fn thumbnail(_job: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
