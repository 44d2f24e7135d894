// #[queue] needs the queue name before its options.
use eventfn::queue;

#[queue(batch_size = 10)]
async fn thumbnail(_job: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
