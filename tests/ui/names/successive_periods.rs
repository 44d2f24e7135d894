// A name may not hold `..`.
use eventfn::queue;

#[queue("orders..placed")]
async fn handler(_job: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
