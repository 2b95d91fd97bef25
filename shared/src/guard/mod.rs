//! What stands before every flow: API keys, the abuse limits, and the one
//! comparison with an account's password. Each is a small component over
//! the store role it needs, shared by the services that use it.

mod api_keys;
mod limits;
mod passwords;
mod source;

pub use api_keys::KeyGuard;
pub use limits::Limiter;
pub use passwords::PasswordGuard;
pub use source::source_bucket;
