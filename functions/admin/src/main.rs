//! The admin Lambda: configuration and clients are built once, then the runtime takes over.
//! All behaviour lives in `switchboard::lambda`.

#[tokio::main]
async fn main() -> Result<(), switchboard::lambda::BoxError> {
    switchboard::lambda::run_admin().await
}
