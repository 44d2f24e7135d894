//! The HTTP front of the background-task app, for the sandbox: it publishes to the sandbox at
//! `EVENTFN_SANDBOX` and reads the store at `TASKS_DIR`, listening on 127.0.0.1 at `PORT`
//! (3000 by default; 0 picks a free port). See the crate docs for a walk through.

use std::sync::Arc;

use background_task::front;
use background_task::store::Tasks;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|e| format!("PORT=`{port}` is not a port number: {e}"))?,
        Err(_) => 3000,
    };
    if std::env::var_os("EVENTFN_SANDBOX").is_none() {
        eprintln!(
            "warning: EVENTFN_SANDBOX is not set: tasks cannot be published until it holds the \
             address `cargo eventfn dev` prints"
        );
    }
    let tasks = Arc::new(Tasks::from_env()?);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    println!(
        "Listening on http://{}; tasks in {}",
        listener.local_addr()?,
        tasks.dir().display()
    );
    axum::serve(listener, front::router(tasks)).await?;
    Ok(())
}
