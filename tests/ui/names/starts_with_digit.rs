// A queue name must start with a letter.
use eventfn::queue;

#[queue("1thumbnails")]
async fn thumbnail(_job: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
