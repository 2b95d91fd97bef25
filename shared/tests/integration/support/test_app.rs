//! `TestApp`: an `App` on a store under test, posting by `Function` and
//! reading the mail it queues; and the pair of tests that runs one body on
//! each store.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use rekey::App;
use rekey::config::Config;
use rekey::mail::MailJob;
use rekey::routes::{Function, ROUTES};
use rekey::store::Store;

use super::{apigw_request, dynamo_store};

/// The stores every flow must behave the same on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// SQLite in a temporary directory of its own.
    Embedded,
    /// A fresh table on moto.
    Dynamo,
}

/// A store under test with what keeps it alive: the embedded store's
/// directory lives as long as this does.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

impl TestStore {
    pub async fn new(kind: StoreKind) -> Self {
        match kind {
            StoreKind::Embedded => {
                let dir = tempfile::tempdir().unwrap();
                let store =
                    rekey::store::embedded::EmbeddedStore::open(&dir.path().join("rekey.db"))
                        .unwrap();
                Self {
                    store: Arc::new(store),
                    _dir: Some(dir),
                }
            }
            StoreKind::Dynamo => Self {
                store: Arc::new(dynamo_store().await),
                _dir: None,
            },
        }
    }
}

/// A request body: JSON text as sent, or a JSON value serialised.
pub trait RequestBody {
    fn text(&self) -> String;
}

impl RequestBody for str {
    fn text(&self) -> String {
        self.to_string()
    }
}

impl RequestBody for String {
    fn text(&self) -> String {
        self.clone()
    }
}

impl RequestBody for serde_json::Value {
    fn text(&self) -> String {
        self.to_string()
    }
}

/// A POST of `body` to `path` as API Gateway delivers it.
pub fn post(path: &str, headers: &[(&str, &str)], body: &(impl RequestBody + ?Sized)) -> Request {
    apigw_request("POST", path, &[], headers, Some(&body.text()))
}

/// The POST route of `function` that takes no path parameters (for
/// Zitadel's functions, the Connect route).
pub fn post_path(function: Function) -> &'static str {
    ROUTES
        .iter()
        .find(|r| r.function == function && r.method == "POST" && !r.path.contains('{'))
        .unwrap_or_else(|| panic!("{} has no POST route without parameters", function.name()))
        .path
}

/// Posts `body` to the function's route, through `Function::handle`.
pub async fn post_to(
    app: &App,
    function: Function,
    headers: &[(&str, &str)],
    body: &(impl RequestBody + ?Sized),
) -> Response<Body> {
    function
        .handle(app, post(post_path(function), headers, body))
        .await
}

/// An `App` with its configuration and store.
pub struct TestApp {
    pub app: App,
    pub config: Config,
    pub store: Arc<dyn Store>,
    _store: TestStore,
}

impl TestApp {
    pub async fn new(kind: StoreKind, config: Config) -> Self {
        let store = TestStore::new(kind).await;
        Self {
            app: App::new(&config, store.store.clone()).with_signer(crate::support::signer()),
            config,
            store: store.store.clone(),
            _store: store,
        }
    }

    /// Runs the app on `clock` instead of the system's: a test moves it
    /// past a lifetime instead of waiting.
    pub fn with_clock(mut self, clock: rekey::clock::ManualClock) -> Self {
        self.app = self.app.with_clock(Arc::new(clock));
        self
    }

    /// On a store the caller keeps alive (`on_both_stores!`'s).
    pub fn on_store(store: Arc<dyn Store>, config: Config) -> Self {
        Self {
            app: App::new(&config, store.clone()).with_signer(crate::support::signer()),
            config,
            store: store.clone(),
            _store: TestStore { store, _dir: None },
        }
    }

    /// On the embedded store, which needs no moto.
    pub async fn embedded(config: Config) -> Self {
        Self::new(StoreKind::Embedded, config).await
    }

    /// Posts `body` to the function's route, through `Function::handle`.
    pub async fn post(
        &self,
        function: Function,
        headers: &[(&str, &str)],
        body: &(impl RequestBody + ?Sized),
    ) -> Response<Body> {
        post_to(&self.app, function, headers, body).await
    }

    /// Hands a request built by the test to the function.
    pub async fn handle(&self, function: Function, req: Request) -> Response<Body> {
        function.handle(&self.app, req).await
    }

    /// Every queued mail, opened; each is then marked delivered.
    pub async fn take_mail(&self) -> Vec<MailJob> {
        super::take_mail(&self.store, &self.config).await
    }

    /// The links of the reset mails queued, oldest first.
    pub async fn take_links(&self) -> Vec<String> {
        super::take_links(&self.store, &self.config).await
    }

    /// The link of the one reset mail queued.
    pub async fn take_link(&self) -> String {
        super::take_link(&self.store, &self.config).await
    }
}

/// A `TestApp` is used where an `App` is.
impl std::ops::Deref for TestApp {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

/// Two tests from one body taking `Arc<dyn Store>`: `<name>::embedded` and
/// `<name>::dynamodb`, each on a store of its own.
#[macro_export]
macro_rules! on_both_stores {
    ($name:ident, $body:ident) => {
        $crate::on_both_stores!($name, $body, 2);
    };
    ($name:ident, $body:ident, $threads:literal) => {
        mod $name {
            use $crate::support::{StoreKind, TestStore};

            #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn embedded() {
                let s = TestStore::new(StoreKind::Embedded).await;
                super::$body(s.store.clone()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn dynamodb() {
                let s = TestStore::new(StoreKind::Dynamo).await;
                super::$body(s.store.clone()).await;
            }
        }
    };
}
