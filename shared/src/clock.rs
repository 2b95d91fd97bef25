//! The time, passed in. Flows ask the [`Clock`] they were built with (as
//! kanidm passes `ct: Duration` to each call) instead of reading the system
//! clock, so an expiry test moves a [`ManualClock`] past a lifetime rather
//! than shortening the lifetime or sleeping. A test checks that no flow
//! reads the system clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use crate::domain::UnixTime;

/// Where a service gets the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> UnixTime;
}

/// The system's clock: what every function and rekeyctl run with.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        UnixTime::from_secs(secs)
    }
}

/// A clock that stands still until it is moved: for tests of expiry,
/// windows and skew. Clones share the time.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(t: UnixTime) -> Self {
        Self(Arc::new(AtomicI64::new(t.secs())))
    }

    /// Starts at the system's time now.
    pub fn starting_now() -> Self {
        Self::at(SystemClock.now())
    }

    pub fn set(&self, t: UnixTime) {
        self.0.store(t.secs(), Ordering::SeqCst);
    }

    pub fn advance(&self, by: Duration) {
        self.set(self.now().plus(by));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.0.load(Ordering::SeqCst))
    }
}

/// The clock a service is built with unless told otherwise.
pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let clock = ManualClock::at(UnixTime::from_secs(1000));
        let shared = clock.clone();
        assert_eq!(shared.now().secs(), 1000);
        clock.advance(Duration::from_secs(61));
        assert_eq!(shared.now().secs(), 1061);
        shared.set(UnixTime::from_secs(5));
        assert_eq!(clock.now().secs(), 5);
        assert!(SystemClock.now().secs() > 1_700_000_000);
    }

    /// The flows take the time from their clock: none reads the system's.
    #[test]
    fn no_flow_reads_the_system_clock() {
        let src = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
        let mut checked = 0;
        for dir in ["reset", "sign_in", "guard", "resource_server.rs"] {
            let path = src.join(dir);
            let files: Vec<std::path::PathBuf> = if path.is_dir() {
                std::fs::read_dir(&path)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .collect()
            } else if path.is_file() {
                vec![path]
            } else {
                continue;
            };
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap();
                for read in [
                    "SystemTime::now",
                    "Instant::now",
                    "SystemClock",
                    "clock::system(",
                ] {
                    assert!(
                        !text.contains(read),
                        "{} reads the system clock ({read}); use the service's clock",
                        file.display()
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 5, "the flows were not found");
    }
}
