//! Counters: the windows of the rate limits.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::UnixTime;

#[async_trait]
pub trait CounterStore: Send + Sync {
    /// Counts one hit on `key` in the window that started at `window_start`,
    /// returning the hits so far in it (this one included). The counter
    /// expires at `expires_at`.
    async fn count_hit(
        &self,
        key: &str,
        window_start: UnixTime,
        expires_at: UnixTime,
    ) -> Result<u64, StoreError>;
}
