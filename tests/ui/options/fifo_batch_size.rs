// A FIFO queue takes batches of at most 10.
use eventfn::queue;

#[queue("thumbnails", batch_size = 100, fifo = true)]
async fn thumbnail(_job: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
